/* Depthwise 3x3 stride 1 on a padded plane, AVX-512F: 16 outputs per vector, four output rows per pass,
 * so each of the six input rows is loaded once for up to three outputs (18 loads per 36 FMAs) and four
 * independent accumulator chains hide the FMA latency. Two-row and one-row passes take the remainder.
 * A row's taps at +1 and +2 come from two loads by valignd: three unaligned loads per row split cache
 * lines and made the loads the bottleneck (56 -> 77 GFLOP/s on 56x56 planes). */
#include <immintrin.h>

#include "kernels/dwconv.h"
#include "kernels/x86/act.h"

#define TAPS(r)                                                                                   \
  const __m512 r##a = _mm512_loadu_ps(r + ox), r##n = _mm512_loadu_ps(r + ox + 16);               \
  const __m512 r##b = _mm512_castsi512_ps(                                                        \
      _mm512_alignr_epi32(_mm512_castps_si512(r##n), _mm512_castps_si512(r##a), 1));              \
  const __m512 r##c = _mm512_castsi512_ps(                                                        \
      _mm512_alignr_epi32(_mm512_castps_si512(r##n), _mm512_castps_si512(r##a), 2))
/* acc += the row's three taps times weight row k (0, 1 or 2). */
#define ACC(acc, r, k)                                  \
  acc = _mm512_fmadd_ps(w[3 * k + 0], r##a, acc);       \
  acc = _mm512_fmadd_ps(w[3 * k + 1], r##b, acc);       \
  acc = _mm512_fmadd_ps(w[3 * k + 2], r##c, acc)

void xnn_f32_dwconv3x3s1__avx512(size_t oh, size_t ow, const float* in, size_t in_stride, const float* wt,
                                 float bias, float* out, const xnn_f32_act_params* params) {
  __m512 w[9];
  for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(wt[i]);
  const __m512 vb = _mm512_set1_ps(bias);
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  size_t oy = 0;
  for (; oy + 4 <= oh; oy += 4) {
    const float* r0 = in + oy * in_stride;
    const float *r1 = r0 + in_stride, *r2 = r1 + in_stride, *r3 = r2 + in_stride, *r4 = r3 + in_stride,
                *r5 = r4 + in_stride;
    float* o = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const __mmask16 m = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
      { TAPS(r0); ACC(a0, r0, 0); }
      { TAPS(r1); ACC(a0, r1, 1); ACC(a1, r1, 0); }
      { TAPS(r2); ACC(a0, r2, 2); ACC(a1, r2, 1); ACC(a2, r2, 0); }
      { TAPS(r3); ACC(a1, r3, 2); ACC(a2, r3, 1); ACC(a3, r3, 0); }
      { TAPS(r4); ACC(a2, r4, 2); ACC(a3, r4, 1); }
      { TAPS(r5); ACC(a3, r5, 2); }
      _mm512_mask_storeu_ps(o + ox, m, xnn_act_avx512_apply(&act, a0));
      _mm512_mask_storeu_ps(o + ow + ox, m, xnn_act_avx512_apply(&act, a1));
      _mm512_mask_storeu_ps(o + 2 * ow + ox, m, xnn_act_avx512_apply(&act, a2));
      _mm512_mask_storeu_ps(o + 3 * ow + ox, m, xnn_act_avx512_apply(&act, a3));
    }
  }
  for (; oy + 2 <= oh; oy += 2) {
    const float* r0 = in + oy * in_stride;
    const float *r1 = r0 + in_stride, *r2 = r1 + in_stride, *r3 = r2 + in_stride;
    float* o = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const __mmask16 m = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a0 = vb, a1 = vb;
      { TAPS(r0); ACC(a0, r0, 0); }
      { TAPS(r1); ACC(a0, r1, 1); ACC(a1, r1, 0); }
      { TAPS(r2); ACC(a0, r2, 2); ACC(a1, r2, 1); }
      { TAPS(r3); ACC(a1, r3, 2); }
      _mm512_mask_storeu_ps(o + ox, m, xnn_act_avx512_apply(&act, a0));
      _mm512_mask_storeu_ps(o + ow + ox, m, xnn_act_avx512_apply(&act, a1));
    }
  }
  for (; oy < oh; oy++) {
    const float* r0 = in + oy * in_stride;
    const float *r1 = r0 + in_stride, *r2 = r1 + in_stride;
    float* o = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const __mmask16 m = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a0 = vb, a1 = _mm512_setzero_ps();
      { TAPS(r0); ACC(a0, r0, 0); }
      { TAPS(r1); ACC(a1, r1, 1); }
      { TAPS(r2); ACC(a0, r2, 2); }
      _mm512_mask_storeu_ps(o + ox, m, xnn_act_avx512_apply(&act, _mm512_add_ps(a0, a1)));
    }
  }
}
