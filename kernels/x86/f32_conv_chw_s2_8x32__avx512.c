/* Direct stride-2 convolution, one output row in tiles of 8 output channels x 32 pixels, AVX-512F.
 *
 * Registers: 16 accumulators (channel o, pixels 0-15 and 16-31); per input row (ci, ky) the window of
 * columns 2ox - pad_left .. +68 in five masked loads (zero outside the image, so no padded copy), split by
 * two-source permutes into its even columns E (three vectors: E[m] is column x0 + 2m) and odd ones O; tap
 * kx = 2s reads E[i + s], kx = 2s + 1 reads O[i + s], both a valignd by s of two of those vectors. So each
 * input row costs 5 loads, 6 permutes and 2 valignd per even or odd tap past the first pair, against kw x 16
 * FMAs with broadcast weights. A 16-channel x 16-pixel tile (half the shuffles per FMA, but a broadcast per
 * FMA instead of per two) ran 17% slower on Zen 5: the broadcasts, not the shuffles, bound this loop. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/conv_chw.h"
#include "kernels/x86/act.h"

/* Lanes l < 16 with 0 <= x + l < width. */
static inline __mmask16 inside(ptrdiff_t x, size_t width) {
  const ptrdiff_t lo = x < 0 ? -x : 0, hi = (ptrdiff_t)width - x;
  if (hi <= 0 || lo >= 16) return 0;
  const uint32_t upper = hi >= 16 ? 0xffffu : (1u << hi) - 1;
  return (__mmask16)(upper & ~((1u << lo) - 1));
}

/* Lanes s .. s+15 of lo:hi. */
static inline __m512 shifted(__m512 lo, __m512 hi, int s) {
  const __m512i l = _mm512_castps_si512(lo), h = _mm512_castps_si512(hi);
  switch (s) {
    case 0: return lo;
    case 1: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 1));
    case 2: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 2));
    default: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 3));
  }
}

#define FMA_TAP(o)                                          \
  {                                                         \
    const __m512 wv = _mm512_set1_ps(a[kx * 8 + o]);        \
    c##o##0 = _mm512_fmadd_ps(wv, b0, c##o##0);             \
    if (two) c##o##1 = _mm512_fmadd_ps(wv, b1, c##o##1);    \
  }

/* The body for one kernel width, so that the tap loop unrolls with constant shifts, and 32 pixels (two) or
 * 16: a row's last 16 or fewer pixels (112 = 3 x 32 + 16) would leave half of the 32-pixel tile's FMAs idle. */
static inline __attribute__((always_inline)) void conv_tile(const xnn_conv_chw_geometry* g, const size_t kw,
                                                            const int two,
                                                            size_t oc, size_t oy, size_t ox, const float* in,
                                                            const float* a, const float* bias, float* out,
                                                            size_t out_stride, const xnn_f32_act_params* params) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const size_t ih = g->ih, iw = g->iw, kh = g->kh;
  const ptrdiff_t x0 = 2 * (ptrdiff_t)ox - (ptrdiff_t)g->pad_left;
  const __mmask16 m0 = inside(x0, iw), m1 = inside(x0 + 16, iw), m2 = inside(x0 + 32, iw),
                  m3 = inside(x0 + 48, iw), m4 = inside(x0 + 64, iw);
  __m512 c00 = _mm512_set1_ps(bias[0]), c01 = c00, c10 = _mm512_set1_ps(bias[1]), c11 = c10;
  __m512 c20 = _mm512_set1_ps(bias[2]), c21 = c20, c30 = _mm512_set1_ps(bias[3]), c31 = c30;
  __m512 c40 = _mm512_set1_ps(bias[4]), c41 = c40, c50 = _mm512_set1_ps(bias[5]), c51 = c50;
  __m512 c60 = _mm512_set1_ps(bias[6]), c61 = c60, c70 = _mm512_set1_ps(bias[7]), c71 = c70;
  for (size_t ci = 0; ci < g->cin; ci++) {
    for (size_t ky = 0; ky < kh; ky++, a += kw * 8) {
      const ptrdiff_t y = 2 * (ptrdiff_t)oy - (ptrdiff_t)g->pad_top + (ptrdiff_t)ky;
      if (y < 0 || y >= (ptrdiff_t)ih) continue; /* a zero row adds nothing */
      /* The window's first column may be left of the image (x0 < 0): its lanes there are masked off. */
      const float* row = in + (ci * ih + (size_t)y) * iw;
      /* 16 pixels read columns x0 .. x0 + 30 + kw: v0, v1 and (for kw > 1) the start of v2. */
      const __m512 v0 = _mm512_maskz_loadu_ps(m0, row + x0), v1 = _mm512_maskz_loadu_ps(m1, row + x0 + 16);
      const __m512 v2 = _mm512_maskz_loadu_ps(m2, row + x0 + 32);
      const __m512 v3 = two ? _mm512_maskz_loadu_ps(m3, row + x0 + 48) : v2;
      const __m512 v4 = two ? _mm512_maskz_loadu_ps(m4, row + x0 + 64) : v2;
      const __m512 e0 = _mm512_permutex2var_ps(v0, even, v1), e1 = _mm512_permutex2var_ps(v2, even, v3);
      const __m512 o0 = _mm512_permutex2var_ps(v0, odd, v1), o1 = _mm512_permutex2var_ps(v2, odd, v3);
      /* 3x3 reads one column of v4, E[32]: lane 0 of v4 itself. */
      const __m512 e2 = kw == 3 ? v4 : _mm512_permutex2var_ps(v4, even, v4);
      const __m512 o2 = kw == 3 ? v4 : _mm512_permutex2var_ps(v4, odd, v4);
      for (size_t kx = 0; kx < kw; kx++) {
        const int s = (int)(kx / 2);
        const __m512 b0 = kx % 2 ? shifted(o0, o1, s) : shifted(e0, e1, s);
        const __m512 b1 = two ? (kx % 2 ? shifted(o1, o2, s) : shifted(e1, e2, s)) : b0;
        FMA_TAP(0) FMA_TAP(1) FMA_TAP(2) FMA_TAP(3) FMA_TAP(4) FMA_TAP(5) FMA_TAP(6) FMA_TAP(7)
      }
    }
  }
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  const size_t n = g->ow - ox;
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

/* One 8-channel panel's tiles of the row: for a given kw and tile width, one loop, the weights in L1. */
#define ROW_TILES(kw)                                                                                   \
  for (size_t ox = 0; ox < g->ow; ox += 32)                                                             \
    if (g->ow - ox > 16)                                                                                \
      conv_tile(g, kw, 1, oc, oy, ox, in, pa, pbias, out + ox, out_stride, params);                     \
    else                                                                                                \
      conv_tile(g, kw, 0, oc, oy, ox, in, pa, pbias, out + ox, out_stride, params);

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
  const size_t k = g->cin * g->kh * g->kw;
  for (size_t m0 = 0; m0 < m; m0 += 8, out += 8 * out_stride) {
    const size_t oc = m - m0 < 8 ? m - m0 : 8;
    const float* pa = a + m0 * k;
    const float* pbias = bias + m0;
    switch (g->kw) {
      case 3: ROW_TILES(3) break;
      case 5: ROW_TILES(5) break;
      case 7: ROW_TILES(7) break;
      default: return; /* excluded by the header's contract */
    }
  }
}
#undef ROW_TILES
