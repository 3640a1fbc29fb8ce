/* f32 pooling family: one channel plane per call. Windows start at o*s - pad and are clipped to the
 * input. Average pooling divides by Caffe's window size: the window clipped to [-pad, in + pad_end) but
 * not to the input, so padded taps count as zeros, exactly as Caffe and OpenCV DNN do. */
#pragma once
#include <stddef.h>

typedef struct xnn_pool_geometry {
  size_t ih, iw, oh, ow;
  size_t kh, kw, sh, sw, pad_top, pad_left, pad_bottom, pad_right;
} xnn_pool_geometry;

typedef void (*xnn_f32_pool_fn)(const xnn_pool_geometry* g, const float* in, float* out);

void xnn_f32_maxpool__ref(const xnn_pool_geometry* g, const float* in, float* out);
void xnn_f32_avgpool__ref(const xnn_pool_geometry* g, const float* in, float* out);

/* Max pooling on a plane already padded with -INF so that every window lies inside it:
 * out[oy][ox] = max over ky < kh, kx < kw of in[(oy*s + ky) * in_stride + ox*s + kx], s = 1 or 2.
 * Kernels may read (never use) up to XNN_POOL_EXTRA floats past the last tap of a row. */
#define XNN_POOL_EXTRA 64

typedef void (*xnn_f32_maxpool_padded_fn)(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride,
                                          const float* in, size_t in_stride, float* out);

void xnn_f32_maxpool_padded__ref(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in,
                                 size_t in_stride, float* out);
void xnn_f32_maxpool_padded__avx512(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in,
                                    size_t in_stride, float* out);
void xnn_f32_maxpool_padded__neon(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in,
                                  size_t in_stride, float* out);
void xnn_f32_maxpool_padded__avx2(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in,
                                  size_t in_stride, float* out);
