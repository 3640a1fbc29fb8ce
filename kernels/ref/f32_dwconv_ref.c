#include "kernels/dwconv.h"

void xnn_f32_dwconv__ref(const xnn_dwconv_geometry* g, const float* in, const float* w, float bias, float* out,
                         const xnn_f32_act_params* params) {
  const ptrdiff_t ih = (ptrdiff_t)g->ih, iw = (ptrdiff_t)g->iw;
  for (size_t oy = 0; oy < g->oh; oy++) {
    for (size_t ox = 0; ox < g->ow; ox++) {
      float acc = bias;
      const ptrdiff_t y0 = (ptrdiff_t)(oy * g->sh) - (ptrdiff_t)g->pad_top;
      const ptrdiff_t x0 = (ptrdiff_t)(ox * g->sw) - (ptrdiff_t)g->pad_left;
      for (size_t ky = 0; ky < g->kh; ky++) {
        const ptrdiff_t y = y0 + (ptrdiff_t)(ky * g->dh);
        if (y < 0 || y >= ih) continue;
        for (size_t kx = 0; kx < g->kw; kx++) {
          const ptrdiff_t x = x0 + (ptrdiff_t)(kx * g->dw);
          if (x < 0 || x >= iw) continue;
          acc += w[ky * g->kw + kx] * in[y * iw + x];
        }
      }
      out[oy * g->ow + ox] = xnn_f32_act_apply(acc, params);
    }
  }
}

static void dwconv3x3(size_t stride, size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                      float bias, float* out, const xnn_f32_act_params* params) {
  for (size_t oy = 0; oy < oh; oy++) {
    const float* r0 = in + oy * stride * in_stride;
    const float* r1 = r0 + in_stride;
    const float* r2 = r1 + in_stride;
    for (size_t ox = 0; ox < ow; ox++) {
      const size_t x = ox * stride;
      float acc = bias;
      acc += w[0] * r0[x] + w[1] * r0[x + 1] + w[2] * r0[x + 2];
      acc += w[3] * r1[x] + w[4] * r1[x + 1] + w[5] * r1[x + 2];
      acc += w[6] * r2[x] + w[7] * r2[x + 1] + w[8] * r2[x + 2];
      out[oy * ow + ox] = xnn_f32_act_apply(acc, params);
    }
  }
}

void xnn_f32_dwconv3x3s1__ref(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w, float bias,
                              float* out, const xnn_f32_act_params* params) {
  dwconv3x3(1, oh, ow, in, in_stride, w, bias, out, params);
}

void xnn_f32_dwconv3x3s2__ref(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w, float bias,
                              float* out, const xnn_f32_act_params* params) {
  dwconv3x3(2, oh, ow, in, in_stride, w, bias, out, params);
}
