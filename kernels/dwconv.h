/* f32 depthwise convolution families, one channel plane per call.
 *
 * General: any kernel size, stride, dilation and padding.
 * out[oy][ox] = act(bias + sum w[ky][kx] * in[oy*sh - pad_top + ky*dh][ox*sw - pad_left + kx*dw]),
 * taps outside the input being zero. */
#pragma once
#include <stddef.h>

#include "kernels/params.h"

typedef struct xnn_dwconv_geometry {
  size_t ih, iw, oh, ow;
  size_t kh, kw, sh, sw, dh, dw, pad_top, pad_left;
} xnn_dwconv_geometry;

typedef void (*xnn_f32_dwconv_fn)(const xnn_dwconv_geometry* g, const float* in, const float* w, float bias,
                                  float* out, const xnn_f32_act_params* params);

void xnn_f32_dwconv__ref(const xnn_dwconv_geometry* g, const float* in, const float* w, float bias, float* out,
                         const xnn_f32_act_params* params);

/* 3x3 on an already padded plane, stride S in the kernel's name:
 * out[oy][ox] = act(bias + sum w[ky*3 + kx] * in[(oy*S + ky) * in_stride + ox*S + kx]).
 * Kernels may read (never use) up to XNN_DWCONV_EXTRA floats past the last tap of a row, so the caller
 * pads every row that much. */
#define XNN_DWCONV_EXTRA 64

typedef void (*xnn_f32_dwconv3x3_fn)(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                                     float bias, float* out, const xnn_f32_act_params* params);

void xnn_f32_dwconv3x3s1__ref(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w, float bias,
                              float* out, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3s2__ref(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w, float bias,
                              float* out, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3s1__neon_asm(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                                   float bias, float* out, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3s2__neon_asm(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                                   float bias, float* out, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3s1__avx512(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                                 float bias, float* out, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3s2__avx512(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                                 float bias, float* out, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3s1__avx2(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                               float bias, float* out, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3s2__avx2(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                               float bias, float* out, const xnn_f32_act_params* params);

/* 3x3 with padding 1 on every side, on the unpadded plane (ih x iw, rows contiguous), stride S in the
 * kernel's name: out[oy][ox] = act(bias + sum w[ky*3 + kx] * in[oy*S - 1 + ky][ox*S - 1 + kx]), taps
 * outside the plane being zero; oh = (ih - 1) / S + 1, ow = (iw - 1) / S + 1. Reads nothing outside the
 * plane (masked loads), so no padded copy is made: on large maps the copy was a second pass over memory,
 * on small ones more work than the convolution. Only output rows [oy0, oy1) are written (out is the whole
 * output plane), so that threads can split a plane by rows. Optional: sets without it take the padded
 * family. */
typedef void (*xnn_f32_dwconv3x3p1_fn)(size_t ih, size_t iw, const float* in, const float* w, float bias, float* out,
                                       size_t oy0, size_t oy1, const xnn_f32_act_params* params);

/* Only x86's sets have this family: elsewhere the code that calls it (and the pointwise + depthwise pair
 * built on it) compiles away, 2 KB of the AArch64 library. */
#if defined(__x86_64__) || defined(_M_X64)
#define XNN_DWCONV3X3P1 1
#else
#define XNN_DWCONV3X3P1 0
#endif

void xnn_f32_dwconv3x3p1s1__avx2(size_t ih, size_t iw, const float* in, const float* w, float bias, float* out,
                                 size_t oy0, size_t oy1, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3p1s2__avx2(size_t ih, size_t iw, const float* in, const float* w, float bias, float* out,
                                 size_t oy0, size_t oy1, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3p1s1__avx512(size_t ih, size_t iw, const float* in, const float* w, float bias, float* out,
                                   size_t oy0, size_t oy1, const xnn_f32_act_params* params);
void xnn_f32_dwconv3x3p1s2__avx512(size_t ih, size_t iw, const float* in, const float* w, float bias, float* out,
                                   size_t oy0, size_t oy1, const xnn_f32_act_params* params);
