/* Direct stride-2 convolution of few input channels (a network's first layer), AVX2+FMA: tiles of 6
 * output channels (the AVX2 GEMM's panels) x 16 pixels of one output row.
 *
 * A row is done in chunks of up to 64 pixels. Each chunk first splits every input row it reads (cin x kh of
 * them) into its even and odd columns, E[j] = P[2j] and O[j] = P[2j + 1] of the row P padded by pad_left
 * (one in-lane shuffle and one lane permute per 8 values; masked loads only where the row's ends are
 * reached); a tile's tap kx = 2s is then E from its first pixel + s, kx = 2s + 1 is O from there: plain
 * loads, no shuffles in the tiles, which reuse each split row for every 6-channel panel.
 *
 * Registers: 12 accumulators (channel o, pixels 0-7 and 8-15), the tap's two B vectors, one broadcast
 * weight: 8 loads per 12 FMAs, as the GEMM tile. On Zen 3 the im2col GEMM it replaces spent a third of
 * MobileNet's 3x3 first layer in its padded copy, strided im2col and packing. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/conv_chw.h"
#include "kernels/x86/act.h"
#include "kernels/x86/store.h"

enum { MR = 6, CHUNK = 64, SPLIT = CHUNK + 8, MAX_ROWS = 4 * 7 };

/* E[0, 8) and O[0, 8) of an input row from column x (x + 2j, x + 2j + 1; outside the row: zero). */
static inline void split_8(const float* row, size_t iw, ptrdiff_t x, float* e, float* o) {
  __m256 lo, hi;
  if (x >= 0 && x + 16 <= (ptrdiff_t)iw) {
    lo = _mm256_loadu_ps(row + x);
    hi = _mm256_loadu_ps(row + x + 8);
  } else {
    lo = _mm256_maskload_ps(row + x, xnn_inside_avx2(x, iw));
    hi = _mm256_maskload_ps(row + x + 8, xnn_inside_avx2(x + 8, iw));
  }
  _mm256_store_ps(e, xnn_even_avx2(lo, hi));
  _mm256_store_ps(o, xnn_odd_avx2(lo, hi));
}

#define FMA_TAP(i)                                          \
  {                                                         \
    const __m256 wv = _mm256_broadcast_ss(w + i);           \
    c##i##0 = _mm256_fmadd_ps(wv, b0, c##i##0);             \
    if (nv > 1) c##i##1 = _mm256_fmadd_ps(wv, b1, c##i##1); \
  }

/* One tile: nv vectors (1 or 2) of pixels, the taps' split values from src[t] + j and their weights at
 * a + wo[t]; the first n pixels stored (n <= 8 nv), channels below oc. A flat list of the live taps keeps
 * the loop the GEMM tile's: looping over rows and kernel columns spilled an accumulator. */
static inline __attribute__((always_inline)) void conv_tile(const int nv, size_t taps, const float* const* src,
                                                            const uint32_t* wo, size_t j, size_t oc, const float* a,
                                                            const float* bias, float* dst, size_t n,
                                                            size_t out_stride, const xnn_act_avx2* act) {
  __m256 c00 = _mm256_set1_ps(bias[0]), c01 = c00, c10 = _mm256_set1_ps(bias[1]), c11 = c10;
  __m256 c20 = _mm256_set1_ps(bias[2]), c21 = c20, c30 = _mm256_set1_ps(bias[3]), c31 = c30;
  __m256 c40 = _mm256_set1_ps(bias[4]), c41 = c40, c50 = _mm256_set1_ps(bias[5]), c51 = c50;
  for (size_t t = 0; t < taps; t++) {
    const float* w = a + wo[t];
    const __m256 b0 = _mm256_loadu_ps(src[t] + j);
    const __m256 b1 = nv > 1 ? _mm256_loadu_ps(src[t] + j + 8) : b0;
    FMA_TAP(0) FMA_TAP(1) FMA_TAP(2) FMA_TAP(3) FMA_TAP(4) FMA_TAP(5)
  }
#define STORE(i)                                                                               \
  if (i < oc) {                                                                                \
    xnn_storeu_n_avx2(dst + i * out_stride, xnn_act_avx2_apply(act, c##i##0), n);              \
    if (nv > 1) xnn_storeu_n_avx2(dst + i * out_stride + 8, xnn_act_avx2_apply(act, c##i##1), n - 8); \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
}
#undef FMA_TAP

/* Output row oy of every channel (out: its first pixel in channel 0). */
static void conv_row(const xnn_conv_chw_geometry* g, size_t m, size_t oy, const float* in, const float* a,
                     const float* bias, float* out, size_t out_stride, const xnn_f32_act_params* params) {
  float e[MAX_ROWS * SPLIT] __attribute__((aligned(32))), o[MAX_ROWS * SPLIT] __attribute__((aligned(32)));
  const float* src[MAX_ROWS * 7];
  uint32_t wo[MAX_ROWS * 7];
  const size_t k = g->cin * g->kh * g->kw, ow = g->ow;
  const xnn_act_avx2 act = xnn_act_avx2_init(params);
  /* The live taps (rows outside the image add nothing), each split row's columns kx = 2s from E + s and
   * kx = 2s + 1 from O + s. */
  size_t taps = 0;
  for (size_t ci = 0, r = 0; ci < g->cin; ci++)
    for (size_t ky = 0; ky < g->kh; ky++, r++) {
      const ptrdiff_t y = 2 * (ptrdiff_t)oy - (ptrdiff_t)g->pad_top + (ptrdiff_t)ky;
      if (y < 0 || y >= (ptrdiff_t)g->ih) continue;
      for (size_t kx = 0; kx < g->kw; kx++, taps++) {
        src[taps] = (kx % 2 ? o : e) + r * SPLIT + kx / 2;
        wo[taps] = (uint32_t)((r * g->kw + kx) * MR);
      }
    }
  for (size_t x0 = 0; x0 < ow; x0 += CHUNK) {
    const size_t n = ow - x0 < CHUNK ? ow - x0 : CHUNK;
    /* The lanes the tiles read, and one vector more for the taps' reach ((kw - 1) / 2 <= 3). */
    const size_t span = (n + 7) / 8 * 8 + 8;
    for (size_t ci = 0, r = 0; ci < g->cin; ci++)
      for (size_t ky = 0; ky < g->kh; ky++, r++) {
        const ptrdiff_t y = 2 * (ptrdiff_t)oy - (ptrdiff_t)g->pad_top + (ptrdiff_t)ky;
        if (y < 0 || y >= (ptrdiff_t)g->ih) continue;
        const float* row = in + (ci * g->ih + (size_t)y) * g->iw;
        for (size_t j = 0; j < span; j += 8)
          split_8(row, g->iw, 2 * (ptrdiff_t)(x0 + j) - (ptrdiff_t)g->pad_left, e + r * SPLIT + j, o + r * SPLIT + j);
      }
    /* Every 6-channel panel over the chunk's tiles: a panel's weights stay in L1. */
    for (size_t m0 = 0; m0 < m; m0 += MR) {
      const size_t oc = m - m0 < MR ? m - m0 : MR;
      for (size_t j = 0; j < n; j += 16) {
        float* dst = out + m0 * out_stride + x0 + j;
        if (n - j > 8)
          conv_tile(2, taps, src, wo, j, oc, a + m0 * k, bias + m0, dst, n - j, out_stride, &act);
        else
          conv_tile(1, taps, src, wo, j, oc, a + m0 * k, bias + m0, dst, n - j, out_stride, &act);
      }
    }
  }
}

void xnn_f32_conv_chw_s2_6x16__avx2(const xnn_conv_chw_geometry* g, size_t m, size_t oy, const float* in,
                                    const float* a, const float* bias, float* out, size_t out_stride,
                                    const xnn_f32_act_params* params) {
  if (g->cin * g->kh > MAX_ROWS || g->kw > 7) return; /* excluded by the header's contract */
  conv_row(g, m, oy, in, a, bias, out, out_stride, params);
  if (oy + 1 < g->oh) conv_row(g, m, oy + 1, in, a, bias, out + g->ow, out_stride, params);
}
