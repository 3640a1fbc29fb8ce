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
