/* f32 depthwise convolution family: one channel plane per call, any kernel size, stride, dilation and
 * padding. out[oy][ox] = act(bias + sum w[ky][kx] * in[oy*sh - pad_top + ky*dh][ox*sw - pad_left + kx*dw]),
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
