/* Portable kernels of the GEMM family: the fallback on every CPU and the oracle the fast kernels are
 * tested against. Inner loops run over contiguous NR lanes so compilers vectorize them. */
#include <string.h>

#include "kernels/gemm.h"

enum { MR = 4 };

static inline void gemm_ref(size_t nr_max, size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                            float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params, uint32_t flags) {
  float acc[MR][16];
  for (size_t i = 0; i < MR; i++) {
    for (size_t j = 0; j < nr_max; j++) {
      if (flags & XNN_GEMM_ACCUMULATE)
        acc[i][j] = i < mr && j < nr ? c[i * ldc + j] : 0.0f;
      else
        acc[i][j] = bias ? bias[i] : 0.0f;
    }
  }
  for (size_t p = 0; p < k; p++) {
    for (size_t i = 0; i < MR; i++) {
      const float w = a[p * MR + i];
      for (size_t j = 0; j < nr_max; j++) acc[i][j] += w * b[p * ldb + j];
    }
  }
  for (size_t i = 0; i < mr; i++) {
    for (size_t j = 0; j < nr; j++) {
      c[i * ldc + j] = flags & XNN_GEMM_LAST ? xnn_f32_act_apply(acc[i][j], params) : acc[i][j];
    }
  }
}

void xnn_f32_gemm_ukernel_4x16__ref(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags) {
  gemm_ref(16, mr, nr, k, a, b, ldb, c, ldc, bias, params, flags);
}

void xnn_f32_gemm_ukernel_4x8__ref(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                   float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                   uint32_t flags) {
  gemm_ref(8, mr, nr, k, a, b, ldb, c, ldc, bias, params, flags);
}

void xnn_pack_f32_gemm_a(size_t m, size_t k, size_t mr, const float* a, size_t lda, const float* bias,
                         float* packed_a, float* packed_bias) {
  const size_t panels = (m + mr - 1) / mr;
  for (size_t p = 0; p < panels; p++) {
    float* dst = packed_a + p * k * mr;
    for (size_t kk = 0; kk < k; kk++) {
      for (size_t i = 0; i < mr; i++) {
        const size_t row = p * mr + i;
        dst[kk * mr + i] = row < m ? a[row * lda + kk] : 0.0f;
      }
    }
    for (size_t i = 0; i < mr; i++) {
      const size_t row = p * mr + i;
      packed_bias[p * mr + i] = row < m && bias ? bias[row] : 0.0f;
    }
  }
}

void xnn_f32_gemv_ukernel__ref(size_t mr, size_t k, size_t panels, const float* a, size_t a_stride, const float* x,
                               float* y) {
  for (size_t j = 0; j < panels; j++, a += a_stride, y += mr) {
    for (size_t i = 0; i < mr; i++) y[i] = 0.0f;
    for (size_t p = 0; p < k; p++)
      for (size_t i = 0; i < mr; i++) y[i] += a[p * mr + i] * x[p];
  }
}

/* The one-column tiles' product: the GEMV family reads x contiguous, so a column of B read in place
 * (ldb > 1) is gathered first, a chunk at a time. */
void xnn_f32_gemm_1col_sums(xnn_f32_gemv_ukernel_fn gemv, size_t mr, size_t k, const float* a, const float* b,
                            size_t ldb, float* acc) {
  if (ldb == 1) {
    gemv(mr, k, 1, a, 0, b, acc);
    return;
  }
  float x[256], part[32];
  for (size_t i = 0; i < mr; i++) acc[i] = 0.0f;
  for (size_t p0 = 0; p0 < k; p0 += 256) {
    const size_t kc = k - p0 < 256 ? k - p0 : 256;
    for (size_t p = 0; p < kc; p++) x[p] = b[(p0 + p) * ldb];
    gemv(mr, kc, 1, a + p0 * mr, 0, x, part);
    for (size_t i = 0; i < mr; i++) acc[i] += part[i];
  }
}

void xnn_f32_gemm_ukernel_4x1__ref(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                   float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                   uint32_t flags) {
  float acc[MR];
  xnn_f32_gemm_1col_sums(xnn_f32_gemv_ukernel__ref, MR, k, a, b, ldb, acc);
  xnn_f32_gemm_1col_store(mr, acc, c, ldc, bias, params, flags);
}

void xnn_f32_fc__ref(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                     size_t ldy, const xnn_f32_act_params* params) {
  for (size_t bi = 0; bi < batch; bi++) {
    const float* xb = x + bi * k;
    for (size_t o = 0; o < n; o++) {
      const float* wo = w + o * k;
      /* Eight partial sums break the dependency chain so the loop vectorizes without -ffast-math. */
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      size_t p = 0;
      for (; p + 8 <= k; p += 8)
        for (int q = 0; q < 8; q++) s[q] += wo[p + q] * xb[p + q];
      float acc = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
      for (; p < k; p++) acc += wo[p] * xb[p];
      if (bias) acc += bias[o];
      y[bi * ldy + o] = xnn_f32_act_apply(acc, params);
    }
  }
}

/* The block layout's helpers (declared and described in kernels/gemm.h): out of line, as every operator
 * calls them once per block, and each inline copy cost the AArch64 library's size budget. */

xnn_f32_gemm_tile xnn_f32_gemm_panel(const xnn_f32_gemm_config* g, size_t cols) {
  const xnn_f32_gemm_tile full = {g->ukernel, g->nr};
  /* Not for NR columns: the full tile does them faster (AVX-512's 8x48 runs two K steps an iteration, the
   * 8x49 one: a block's last 48 columns on the 8x49 tile had ResNet-50 and MobileNet v2 2-3% slower). */
  if (g->wide.ukernel && cols == g->wide.nr) return g->wide;
  /* The tail tile, but for exactly a narrow tile's width (AVX-512's 8x16 fills its lanes there, and the
   * tail's two weight streams were slower from L3: ResNet-50's 14x14 Winograd layers, 16 tiles, took 6%
   * longer) and for one column (the GEMV tile is 1.5x faster there: the tail's narrowest instance
   * computes 4). */
  if (XNN_GEMM_TAILS && cols < g->nr && g->tail) {
    for (size_t i = 0; i < XNN_GEMM_MAX_NARROW; i++)
      if (g->narrow[i].nr == cols) return g->narrow[i];
    if (cols > 1 && cols <= g->tail_nr) return (xnn_f32_gemm_tile){NULL, (uint32_t)(cols + 3) / 4 * 4};
    /* Wider than the tail: the first narrow tile, then the rest as a tail. */
    if (cols > g->tail_nr && g->narrow[0].nr && cols > g->narrow[0].nr) return g->narrow[0];
  }
  if (cols >= g->nr || g->narrow[0].nr == 0) return full;
  /* best[r]: cheapest cost of r < NR remaining columns; first[r]: the tile that starts it. */
  uint32_t best[64], first[64];
  const uint32_t r_max = (uint32_t)cols < 63 ? (uint32_t)cols : 63;
  best[0] = 0;
  for (uint32_t r = 1; r <= r_max; r++) {
    best[r] = xnn_f32_gemm_tile_cost(g->nr);
    first[r] = XNN_GEMM_MAX_NARROW; /* the full tile */
    for (uint32_t i = 0; i < XNN_GEMM_MAX_NARROW && g->narrow[i].nr; i++) {
      const uint32_t w = g->narrow[i].nr, rest = r > w ? r - w : 0;
      const uint32_t cost = xnn_f32_gemm_tile_cost(w) + best[rest];
      if (cost < best[r]) best[r] = cost, first[r] = i;
    }
  }
  return first[r_max] == XNN_GEMM_MAX_NARROW ? full : g->narrow[first[r_max]];
}

size_t xnn_f32_gemm_panels(const xnn_f32_gemm_config* g, size_t cols, xnn_f32_gemm_tile* tiles) {
  size_t n = 0;
  for (size_t s = 0; s < cols; s += tiles[n++].nr) tiles[n] = xnn_f32_gemm_panel(g, cols - s);
  return n;
}

size_t xnn_f32_gemm_packed_width(const xnn_f32_gemm_config* g, size_t cols) {
  /* Past the wide tile's reach every panel is a full one (xnn_f32_gemm_panel): skip those in one step. */
  const size_t plain = g->nr > g->wide.nr ? g->nr : g->wide.nr;
  size_t s = cols > plain ? (cols - plain + g->nr - 1) / g->nr * g->nr : 0;
  while (s < cols) {
    const xnn_f32_gemm_tile t = xnn_f32_gemm_panel(g, cols - s);
    if (s + t.nr >= cols) return s + xnn_f32_gemm_tile_ld(t);
    s += t.nr;
  }
  return s;
}

size_t xnn_f32_gemm_packed_width_max(const xnn_f32_gemm_config* g, size_t cols) {
  size_t reach = g->nr > xnn_f32_gemm_tile_ld(g->wide) ? g->nr : xnn_f32_gemm_tile_ld(g->wide);
  if (reach < g->tail_nr + 4) reach = g->tail_nr + 4;
  for (size_t i = 0; i < XNN_GEMM_MAX_NARROW; i++)
    if (reach < xnn_f32_gemm_tile_ld(g->narrow[i])) reach = xnn_f32_gemm_tile_ld(g->narrow[i]);
  size_t w = 0;
  for (size_t n = cols > reach ? cols - reach : 1; n <= cols; n++) {
    const size_t v = xnn_f32_gemm_packed_width(g, n);
    if (v > w) w = v;
  }
  return w;
}
