/* Direct stride-2 convolution, one output row in tiles of 8 output channels x 32 pixels, AVX-512F.
 *
 * The row is done in chunks of 64 output pixels. Each chunk first splits every input row it reads (cin x kh
 * of them) into its even and odd columns, E[j] = P[2j] and O[j] = P[2j + 1] of the row P padded by pad_left
 * (masked loads: zero outside the image, nothing read outside it), two permutes per 16 values. A tile's tap
 * kx = 2s is then E from its first pixel + s, kx = 2s + 1 is O from there: two plain loads per tap for 32
 * pixels, no shuffles. Splitting the rows inside each tile instead (4 permutes and 2 valignd per input row,
 * redone by every 8-channel panel and tile) held MobileNet's 3x3 first layer to 72% of the FMA peak.
 *
 * Registers: 16 accumulators (channel o, pixels 0-15 and 16-31), the tap's two B vectors, one broadcast
 * weight. A 16-channel x 16-pixel tile (a broadcast per FMA instead of per two) ran 17% slower on Zen 5. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/conv_chw.h"
#include "kernels/x86/act.h"

/* Output pixels per chunk, and the split row's length: a tile from chunk pixel 32 reads up to
 * E[32 + 3 + 31] (kw <= 7). */
enum { CHUNK = 64, SPLIT = 80, MAX_ROWS = 4 * 7 };

/* Lanes l < 16 with 0 <= x + l < width. */
static inline __mmask16 inside(ptrdiff_t x, size_t width) {
  const ptrdiff_t lo = x < 0 ? -x : 0, hi = (ptrdiff_t)width - x;
  if (hi <= 0 || lo >= 16) return 0;
  const uint32_t upper = hi >= 16 ? 0xffffu : (1u << hi) - 1;
  return (__mmask16)(upper & ~((1u << lo) - 1));
}

/* E and O of one input row for the chunk from output pixel ox0: P[c] = row[c - pad_left]. */
static void split_row(const float* row, size_t iw, ptrdiff_t x0, float* e, float* o) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (size_t j = 0; j < SPLIT; j += 16) {
    const ptrdiff_t x = x0 + 2 * (ptrdiff_t)j;
    const __m512 lo = _mm512_maskz_loadu_ps(inside(x, iw), row + x);
    const __m512 hi = _mm512_maskz_loadu_ps(inside(x + 16, iw), row + x + 16);
    _mm512_store_ps(e + j, _mm512_permutex2var_ps(lo, even, hi));
    _mm512_store_ps(o + j, _mm512_permutex2var_ps(lo, odd, hi));
  }
}

#define FMA_TAP(o)                                          \
  {                                                         \
    const __m512 wv = _mm512_set1_ps(a[kx * 8 + o]);        \
    c##o##0 = _mm512_fmadd_ps(wv, b0, c##o##0);             \
    if (two) c##o##1 = _mm512_fmadd_ps(wv, b1, c##o##1);    \
  }

/* The body for one kernel width, so that the tap loop unrolls, and 32 pixels (two) or 16: a row's last 16
 * or fewer pixels (112 = 3 x 32 + 16) would leave half of the 32-pixel tile's FMAs idle. e and o are the
 * split rows (ci, ky) in order, from the tile's first pixel; rows outside the image are skipped (`live`). */
static inline __attribute__((always_inline)) void conv_tile(const size_t kw, const int two, size_t rows,
                                                            const uint8_t* live, const float* e, const float* o,
                                                            size_t oc, size_t n, const float* a, const float* bias,
                                                            float* out, size_t out_stride,
                                                            const xnn_f32_act_params* params) {
  __m512 c00 = _mm512_set1_ps(bias[0]), c01 = c00, c10 = _mm512_set1_ps(bias[1]), c11 = c10;
  __m512 c20 = _mm512_set1_ps(bias[2]), c21 = c20, c30 = _mm512_set1_ps(bias[3]), c31 = c30;
  __m512 c40 = _mm512_set1_ps(bias[4]), c41 = c40, c50 = _mm512_set1_ps(bias[5]), c51 = c50;
  __m512 c60 = _mm512_set1_ps(bias[6]), c61 = c60, c70 = _mm512_set1_ps(bias[7]), c71 = c70;
  for (size_t r = 0; r < rows; r++, a += kw * 8, e += SPLIT, o += SPLIT) {
    if (!live[r]) continue; /* a zero row adds nothing */
    for (size_t kx = 0; kx < kw; kx++) {
      const float* src = (kx % 2 ? o : e) + kx / 2;
      const __m512 b0 = _mm512_loadu_ps(src);
      const __m512 b1 = two ? _mm512_loadu_ps(src + 16) : b0;
      FMA_TAP(0) FMA_TAP(1) FMA_TAP(2) FMA_TAP(3) FMA_TAP(4) FMA_TAP(5) FMA_TAP(6) FMA_TAP(7)
    }
  }
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  const __mmask16 s0 = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1);
  const __mmask16 s1 = (__mmask16)(n >= 32 ? 0xffffu : n > 16 ? (1u << (n - 16)) - 1 : 0);
#define STORE(o)                                                                                   \
  if (o < oc) {                                                                                    \
    _mm512_mask_storeu_ps(out + o * out_stride, s0, xnn_act_avx512_apply(&act, c##o##0));          \
    if (two) _mm512_mask_storeu_ps(out + o * out_stride + 16, s1, xnn_act_avx512_apply(&act, c##o##1)); \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
#undef STORE
}

/* The chunk's tiles for every 8-channel panel, for one kernel width: a panel's weights stay in L1. */
#define CHUNK_TILES(kw)                                                                                  \
  for (size_t m0 = 0; m0 < m; m0 += 8) {                                                                \
    const size_t oc = m - m0 < 8 ? m - m0 : 8;                                                          \
    for (size_t t = 0; t < width; t += 32) {                                                            \
      const size_t n = width - t;                                                                       \
      float* dst = out + m0 * out_stride + ox0 + t;                                                     \
      if (n > 16)                                                                                       \
        conv_tile(kw, 1, rows, live, e + t, o + t, oc, n, a + m0 * k, bias + m0, dst, out_stride, params); \
      else                                                                                              \
        conv_tile(kw, 0, rows, live, e + t, o + t, oc, n, a + m0 * k, bias + m0, dst, out_stride, params); \
    }                                                                                                   \
  }

void xnn_f32_conv_chw_s2_8x32__avx512(const xnn_conv_chw_geometry* g, size_t m, size_t oy, const float* in,
                                      const float* a, const float* bias, float* out, size_t out_stride,
                                      const xnn_f32_act_params* params) {
  /* The next output row's two new input rows of each channel: in a network the image is no longer in
   * cache, and loads missing it one row at a time made ResNet-50's 7x7 layer 17% slower than alone. */
  for (size_t ci = 0; ci < g->cin; ci++)
    for (size_t r = 0; r < 2; r++) {
      const size_t y = 2 * (oy + 1) + g->kh - 2 + r;
      if (y < g->pad_top || y - g->pad_top >= g->ih) continue;
      const char* row = (const char*)(in + (ci * g->ih + y - g->pad_top) * g->iw);
      for (size_t b = 0; b < g->iw * sizeof(float); b += 64) _mm_prefetch(row + b, _MM_HINT_T0);
    }
  if (g->cin * g->kh > MAX_ROWS) return; /* excluded by the header's contract */
  float e[MAX_ROWS * SPLIT] __attribute__((aligned(64))), o[MAX_ROWS * SPLIT] __attribute__((aligned(64)));
  uint8_t live[MAX_ROWS];
  const size_t rows = g->cin * g->kh, k = rows * g->kw;
  for (size_t ox0 = 0; ox0 < g->ow; ox0 += CHUNK) {
    const size_t width = g->ow - ox0 < CHUNK ? g->ow - ox0 : CHUNK;
    for (size_t ci = 0, r = 0; ci < g->cin; ci++)
      for (size_t ky = 0; ky < g->kh; ky++, r++) {
        const ptrdiff_t y = 2 * (ptrdiff_t)oy - (ptrdiff_t)g->pad_top + (ptrdiff_t)ky;
        live[r] = y >= 0 && y < (ptrdiff_t)g->ih;
        if (live[r])
          split_row(in + (ci * g->ih + (size_t)y) * g->iw, g->iw, 2 * (ptrdiff_t)ox0 - (ptrdiff_t)g->pad_left,
                    e + r * SPLIT, o + r * SPLIT);
      }
    switch (g->kw) {
      case 3: CHUNK_TILES(3) break;
      case 5: CHUNK_TILES(5) break;
      case 7: CHUNK_TILES(7) break;
      default: return; /* excluded by the header's contract */
    }
  }
}
#undef CHUNK_TILES
