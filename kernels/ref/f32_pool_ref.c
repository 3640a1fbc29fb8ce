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

/* Whole-plane window (global pooling, a classifier's last pool): a contiguous sum in eight partial sums,
 * which compilers vectorize without -ffast-math. */
static int whole_plane(const xnn_pool_geometry* g) {
  return g->oh == 1 && g->ow == 1 && g->kh == g->ih && g->kw == g->iw && !g->pad_top && !g->pad_left &&
         !g->pad_bottom && !g->pad_right;
}

void xnn_f32_avgpool__ref(const xnn_pool_geometry* g, const float* in, float* out) {
  if (whole_plane(g)) {
    const size_t n = g->ih * g->iw;
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int q = 0; q < 8; q++) s[q] += in[i + q];
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) sum += in[i];
    out[0] = sum / (float)n;
    return;
  }
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
