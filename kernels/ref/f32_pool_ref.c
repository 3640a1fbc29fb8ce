#include <float.h>
#include <math.h>

#include "kernels/pool.h"

void xnn_f32_maxpool__ref(const xnn_pool_geometry* g, const float* in, float* out) {
  const ptrdiff_t ih = (ptrdiff_t)g->ih, iw = (ptrdiff_t)g->iw;
  for (size_t oy = 0; oy < g->oh; oy++) {
    ptrdiff_t y0 = (ptrdiff_t)(oy * g->sh) - (ptrdiff_t)g->pad_top;
    ptrdiff_t y1 = y0 + (ptrdiff_t)g->kh;
    y0 = y0 < 0 ? 0 : y0;
    y1 = y1 > ih ? ih : y1;
    for (size_t ox = 0; ox < g->ow; ox++) {
      ptrdiff_t x0 = (ptrdiff_t)(ox * g->sw) - (ptrdiff_t)g->pad_left;
      ptrdiff_t x1 = x0 + (ptrdiff_t)g->kw;
      x0 = x0 < 0 ? 0 : x0;
      x1 = x1 > iw ? iw : x1;
      float m = -FLT_MAX;
      for (ptrdiff_t y = y0; y < y1; y++)
        for (ptrdiff_t x = x0; x < x1; x++) m = in[y * iw + x] > m ? in[y * iw + x] : m;
      out[oy * g->ow + ox] = m;
    }
  }
}

void xnn_f32_avgpool__ref(const xnn_pool_geometry* g, const float* in, float* out) {
  const ptrdiff_t ih = (ptrdiff_t)g->ih, iw = (ptrdiff_t)g->iw;
  for (size_t oy = 0; oy < g->oh; oy++) {
    ptrdiff_t y0 = (ptrdiff_t)(oy * g->sh) - (ptrdiff_t)g->pad_top;
    ptrdiff_t y1 = y0 + (ptrdiff_t)g->kh;
    if (y1 > ih + (ptrdiff_t)g->pad_bottom) y1 = ih + (ptrdiff_t)g->pad_bottom;
    const ptrdiff_t hsize = y1 - y0;
    y0 = y0 < 0 ? 0 : y0;
    y1 = y1 > ih ? ih : y1;
    for (size_t ox = 0; ox < g->ow; ox++) {
      ptrdiff_t x0 = (ptrdiff_t)(ox * g->sw) - (ptrdiff_t)g->pad_left;
      ptrdiff_t x1 = x0 + (ptrdiff_t)g->kw;
      if (x1 > iw + (ptrdiff_t)g->pad_right) x1 = iw + (ptrdiff_t)g->pad_right;
      const ptrdiff_t size = hsize * (x1 - x0);
      x0 = x0 < 0 ? 0 : x0;
      x1 = x1 > iw ? iw : x1;
      float s = 0.0f;
      for (ptrdiff_t y = y0; y < y1; y++)
        for (ptrdiff_t x = x0; x < x1; x++) s += in[y * iw + x];
      out[oy * g->ow + ox] = size > 0 ? s / (float)size : 0.0f;
    }
  }
}

void xnn_f32_maxpool_padded__ref(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in,
                                 size_t in_stride, float* out) {
  for (size_t oy = 0; oy < oh; oy++) {
    for (size_t ox = 0; ox < ow; ox++) {
      float m = -INFINITY;
      for (size_t ky = 0; ky < kh; ky++) {
        const float* r = in + (oy * stride + ky) * in_stride + ox * stride;
        for (size_t kx = 0; kx < kw; kx++) m = r[kx] > m ? r[kx] : m;
      }
      out[oy * ow + ox] = m;
    }
  }
}
