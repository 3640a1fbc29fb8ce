/* f32 direct convolution of an NCHW image with few input channels (a network's first layer) at stride 2:
 * output rows oy and, where oy + 1 < oh, oy + 1 of all m output channels (the caller takes the rows in pairs:
 * a row's pixels rarely fill whole vectors, two rows' together more nearly). `a` holds the GEMM's packed
 * weights (kernels/gemm.h: panels of MR rows, MR that of the set's GEMM, a[p * MR * k + k' * MR + o] for
 * channel MR p + o, k' = (ci * kh + ky) * kw + kx, k = cin * kh * kw), `bias` is padded to whole panels, and
 *   out[o * out_stride + (y - oy) * ow + x] = act(bias[o] + sum over ci, ky, kx of
 *                                 w[o][k'] * in[(ci * ih + 2 * y - pad_top + ky) * iw + 2 * x - pad_left + kx])
 * for o < m, each of the rows y and x < ow, taps outside the image being zero. It reads the image itself: the
 * GEMM path's padded copy and strided im2col were a third of MobileNet's 3-channel 3x3 layer. Kernels read
 * nothing outside the image. kw is 3, 5 or 7 (the widths first layers use), kh at most 7 and cin at most 4. */
#pragma once
#include <stddef.h>

#include "kernels/params.h"

/* Only x86's sets have this family: elsewhere the code that calls it (and the convolution + max pool
 * pair built on it) compiles away. */
#if defined(__x86_64__) || defined(_M_X64)
#define XNN_CONV_CHW_S2 1
#else
#define XNN_CONV_CHW_S2 0
#endif

typedef struct xnn_conv_chw_geometry {
  size_t cin, ih, iw, oh, ow, kh, kw, pad_top, pad_left;
} xnn_conv_chw_geometry;

typedef void (*xnn_f32_conv_chw_s2_fn)(const xnn_conv_chw_geometry* g, size_t m, size_t oy, const float* in,
                                       const float* a, const float* bias, float* out, size_t out_stride,
                                       const xnn_f32_act_params* params);

void xnn_f32_conv_chw_s2_6x16__avx2(const xnn_conv_chw_geometry* g, size_t m, size_t oy, const float* in,
                                    const float* a, const float* bias, float* out, size_t out_stride,
                                    const xnn_f32_act_params* params);
void xnn_f32_conv_chw_s2_8x48__avx512(const xnn_conv_chw_geometry* g, size_t m, size_t oy, const float* in,
                                      const float* a, const float* bias, float* out, size_t out_stride,
                                      const xnn_f32_act_params* params);
