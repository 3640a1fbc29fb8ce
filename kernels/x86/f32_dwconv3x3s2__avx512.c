/* Depthwise 3x3 stride 2 on a padded plane, AVX-512F: 16 outputs per vector, two output rows per pass
 * (they share an input row). Per input row, two two-source permutes split the even and odd columns and
 * the third tap is the even columns moved down one lane (valignd with the next even column), so a row
 * costs 3 shuffles instead of 3 permutes of 4 loads. */
#include <immintrin.h>

#include "kernels/dwconv.h"
#include "kernels/x86/act.h"

/* The three taps of row r for outputs ox..ox+15: columns 2x, 2x+1, 2x+2. Reads r[2ox .. 2ox+32]. */
#define TAPS(r)                                                                          \
  const __m512 r##v0 = _mm512_loadu_ps(r + 2 * ox), r##v1 = _mm512_loadu_ps(r + 2 * ox + 16); \
  const __m512 r##a = _mm512_permutex2var_ps(r##v0, even, r##v1);                         \
  const __m512 r##b = _mm512_permutex2var_ps(r##v0, odd, r##v1);                          \
  const __m512 r##c = _mm512_castsi512_ps(_mm512_alignr_epi32(                            \
      _mm512_castps_si512(_mm512_set1_ps(r[2 * ox + 32])), _mm512_castps_si512(r##a), 1))
#define ACC(acc, r, k)                                  \
  acc = _mm512_fmadd_ps(w[3 * k + 0], r##a, acc);       \
  acc = _mm512_fmadd_ps(w[3 * k + 1], r##b, acc);       \
  acc = _mm512_fmadd_ps(w[3 * k + 2], r##c, acc)

void xnn_f32_dwconv3x3s2__avx512(size_t oh, size_t ow, const float* in, size_t in_stride, const float* wt,
                                 float bias, float* out, const xnn_f32_act_params* params) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  __m512 w[9];
  for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(wt[i]);
  const __m512 vb = _mm512_set1_ps(bias);
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  size_t oy = 0;
  for (; oy + 2 <= oh; oy += 2) {
    const float* r0 = in + 2 * oy * in_stride;
    const float *r1 = r0 + in_stride, *r2 = r1 + in_stride, *r3 = r2 + in_stride, *r4 = r3 + in_stride;
    float* o = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const __mmask16 m = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a0 = vb, a1 = vb;
      { TAPS(r0); ACC(a0, r0, 0); }
      { TAPS(r1); ACC(a0, r1, 1); }
      { TAPS(r2); ACC(a0, r2, 2); ACC(a1, r2, 0); }
      { TAPS(r3); ACC(a1, r3, 1); }
      { TAPS(r4); ACC(a1, r4, 2); }
      _mm512_mask_storeu_ps(o + ox, m, xnn_act_avx512_apply(&act, a0));
      _mm512_mask_storeu_ps(o + ow + ox, m, xnn_act_avx512_apply(&act, a1));
    }
  }
  for (; oy < oh; oy++) {
    const float* r0 = in + 2 * oy * in_stride;
    const float *r1 = r0 + in_stride, *r2 = r1 + in_stride;
    float* o = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const __mmask16 m = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a0 = vb;
      { TAPS(r0); ACC(a0, r0, 0); }
      { TAPS(r1); ACC(a0, r1, 1); }
      { TAPS(r2); ACC(a0, r2, 2); }
      _mm512_mask_storeu_ps(o + ox, m, xnn_act_avx512_apply(&act, a0));
    }
  }
}
