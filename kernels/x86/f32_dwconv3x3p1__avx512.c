/* Depthwise 3x3, padding 1, strides 1 and 2, on the unpadded plane with AVX-512F: 16 outputs per vector,
 * four (stride 1) or two (stride 2) output rows per pass, which share input rows. Per input row two masked loads cover the taps of 16
 * outputs: lanes outside the plane load as zero and never fault, and a row above or below the plane gets
 * an all-zero mask, so borders need no branches. The other taps come by valignd (stride 1) or by even/odd
 * permutes and a valignd (stride 2). */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/dwconv.h"
#include "kernels/x86/act.h"

/* Lanes i < 16 with 0 <= x0 + i < width. */
static inline __mmask16 inside(ptrdiff_t x0, ptrdiff_t width) {
  const ptrdiff_t lo = x0 < 0 ? -x0 : 0, hi = width - x0;
  if (hi <= 0 || lo >= 16) return 0;
  const uint32_t upper = hi >= 16 ? 0xffffu : (1u << hi) - 1;
  return (__mmask16)(upper & ~((1u << lo) - 1));
}

static inline __m512 down(__m512 next, __m512 cur, int n) {
  const __m512i c = _mm512_castps_si512(cur), x = _mm512_castps_si512(next);
  return _mm512_castsi512_ps(n == 1 ? _mm512_alignr_epi32(x, c, 1) : _mm512_alignr_epi32(x, c, 2));
}

/* Row y's window for 16 outputs starting at column x0: two loads, zero where outside the plane. */
#define ROW(r, y)                                                                                 \
  const int r##ok = (y) >= 0 && (y) < (ptrdiff_t)ih;                                              \
  const float* r##p = in + (r##ok ? (size_t)(y) * iw : 0) + x0;                                   \
  const __m512 r##a = _mm512_maskz_loadu_ps(r##ok ? ma : 0, r##p);                                \
  const __m512 r##b = _mm512_maskz_loadu_ps(r##ok ? mb : 0, r##p + 16)

#define S1TAPS(r) const __m512 r##0 = r##a, r##1 = down(r##b, r##a, 1), r##2 = down(r##b, r##a, 2)
#define S2TAPS(r)                                                                                  \
  const __m512 r##0 = _mm512_permutex2var_ps(r##a, even, r##b);                                    \
  const __m512 r##1 = _mm512_permutex2var_ps(r##a, odd, r##b);                                     \
  const __m512 r##2 = down(_mm512_set1_ps(r##ok && x0 + 32 < (ptrdiff_t)iw ? r##p[32] : 0.0f), r##0, 1)
/* acc += row r's taps times weight row k. */
#define ACC(acc, r, k)                                   \
  acc = _mm512_fmadd_ps(w[3 * k + 0], r##0, acc);        \
  acc = _mm512_fmadd_ps(w[3 * k + 1], r##1, acc);        \
  acc = _mm512_fmadd_ps(w[3 * k + 2], r##2, acc)

void xnn_f32_dwconv3x3p1s1__avx512(size_t ih, size_t iw, const float* in, const float* wt, float bias, float* out,
                                   const xnn_f32_act_params* params) {
  __m512 w[9];
  for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(wt[i]);
  const __m512 vb = _mm512_set1_ps(bias);
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  for (size_t oy = 0; oy < ih; oy += 4) {
    /* Four output rows from six input rows; rows past the plane load as zero and are not stored. */
    const ptrdiff_t y = (ptrdiff_t)oy - 1;
    const size_t rows = ih - oy < 4 ? ih - oy : 4;
    for (size_t ox = 0; ox < iw; ox += 16) {
      const ptrdiff_t x0 = (ptrdiff_t)ox - 1;
      const __mmask16 ma = inside(x0, (ptrdiff_t)iw), mb = inside(x0 + 16, (ptrdiff_t)iw);
      const __mmask16 mo = (__mmask16)(iw - ox >= 16 ? 0xffff : (1u << (iw - ox)) - 1);
      __m512 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
      { ROW(r0, y); S1TAPS(r0); ACC(a0, r0, 0); }
      { ROW(r1, y + 1); S1TAPS(r1); ACC(a0, r1, 1); ACC(a1, r1, 0); }
      { ROW(r2, y + 2); S1TAPS(r2); ACC(a0, r2, 2); ACC(a1, r2, 1); ACC(a2, r2, 0); }
      if (rows > 1) {
        { ROW(r3, y + 3); S1TAPS(r3); ACC(a1, r3, 2); ACC(a2, r3, 1); ACC(a3, r3, 0); }
        { ROW(r4, y + 4); S1TAPS(r4); ACC(a2, r4, 2); ACC(a3, r4, 1); }
        { ROW(r5, y + 5); S1TAPS(r5); ACC(a3, r5, 2); }
      }
      float* o = out + oy * iw + ox;
      _mm512_mask_storeu_ps(o, mo, xnn_act_avx512_apply(&act, a0));
      if (rows > 1) _mm512_mask_storeu_ps(o + iw, mo, xnn_act_avx512_apply(&act, a1));
      if (rows > 2) _mm512_mask_storeu_ps(o + 2 * iw, mo, xnn_act_avx512_apply(&act, a2));
      if (rows > 3) _mm512_mask_storeu_ps(o + 3 * iw, mo, xnn_act_avx512_apply(&act, a3));
    }
  }
}

void xnn_f32_dwconv3x3p1s2__avx512(size_t ih, size_t iw, const float* in, const float* wt, float bias, float* out,
                                   const xnn_f32_act_params* params) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  __m512 w[9];
  for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(wt[i]);
  const __m512 vb = _mm512_set1_ps(bias);
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  const size_t oh = (ih - 1) / 2 + 1, ow = (iw - 1) / 2 + 1;
  for (size_t oy = 0; oy < oh; oy += 2) {
    const ptrdiff_t y = 2 * (ptrdiff_t)oy - 1;
    const int two = oy + 1 < oh;
    for (size_t ox = 0; ox < ow; ox += 16) {
      /* Outputs ox..ox+15 read columns 2ox-1 .. 2ox+31. */
      const ptrdiff_t x0 = 2 * (ptrdiff_t)ox - 1;
      const __mmask16 ma = inside(x0, (ptrdiff_t)iw), mb = inside(x0 + 16, (ptrdiff_t)iw);
      const __mmask16 mo = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a0 = vb, a1 = vb;
      { ROW(r0, y); S2TAPS(r0); ACC(a0, r0, 0); }
      { ROW(r1, y + 1); S2TAPS(r1); ACC(a0, r1, 1); }
      { ROW(r2, y + 2); S2TAPS(r2); ACC(a0, r2, 2); ACC(a1, r2, 0); }
      if (two) {
        { ROW(r3, y + 3); S2TAPS(r3); ACC(a1, r3, 1); }
        { ROW(r4, y + 4); S2TAPS(r4); ACC(a1, r4, 2); }
        _mm512_mask_storeu_ps(out + (oy + 1) * ow + ox, mo, xnn_act_avx512_apply(&act, a1));
      }
      _mm512_mask_storeu_ps(out + oy * ow + ox, mo, xnn_act_avx512_apply(&act, a0));
    }
  }
}
