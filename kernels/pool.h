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
