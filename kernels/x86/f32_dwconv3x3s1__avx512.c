/* Depthwise 3x3 stride 1 on a padded plane, AVX-512F: 16 outputs per vector, two output rows per pass
 * so the two middle input rows are loaded once for both. */
#include <immintrin.h>

#include "kernels/dwconv.h"

static inline __m512 act(__m512 v, __m512 slope, __m512 lo, __m512 hi, int leaky) {
  const __m512 zero = _mm512_setzero_ps();
  if (leaky) v = _mm512_add_ps(_mm512_max_ps(v, zero), _mm512_mul_ps(_mm512_min_ps(v, zero), slope));
  return _mm512_min_ps(_mm512_max_ps(v, lo), hi);
}

void xnn_f32_dwconv3x3s1__avx512(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                                 float bias, float* out, const xnn_f32_act_params* params) {
  const __m512 w0 = _mm512_set1_ps(w[0]), w1 = _mm512_set1_ps(w[1]), w2 = _mm512_set1_ps(w[2]);
  const __m512 w3 = _mm512_set1_ps(w[3]), w4 = _mm512_set1_ps(w[4]), w5 = _mm512_set1_ps(w[5]);
  const __m512 w6 = _mm512_set1_ps(w[6]), w7 = _mm512_set1_ps(w[7]), w8 = _mm512_set1_ps(w[8]);
  const __m512 vb = _mm512_set1_ps(bias), slope = _mm512_set1_ps(params->slope);
  const __m512 lo = _mm512_set1_ps(params->min), hi = _mm512_set1_ps(params->max);
  const int leaky = params->slope != 1.0f;
  size_t oy = 0;
  for (; oy + 2 <= oh; oy += 2) {
    const float* r0 = in + oy * in_stride;
    const float* r1 = r0 + in_stride;
    const float* r2 = r1 + in_stride;
    const float* r3 = r2 + in_stride;
    float* o0 = out + oy * ow;
    float* o1 = o0 + ow;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const __mmask16 m = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a = vb, b = vb;
      __m512 x;
      x = _mm512_loadu_ps(r0 + ox);     a = _mm512_fmadd_ps(w0, x, a);
      x = _mm512_loadu_ps(r0 + ox + 1); a = _mm512_fmadd_ps(w1, x, a);
      x = _mm512_loadu_ps(r0 + ox + 2); a = _mm512_fmadd_ps(w2, x, a);
      x = _mm512_loadu_ps(r1 + ox);     a = _mm512_fmadd_ps(w3, x, a); b = _mm512_fmadd_ps(w0, x, b);
      x = _mm512_loadu_ps(r1 + ox + 1); a = _mm512_fmadd_ps(w4, x, a); b = _mm512_fmadd_ps(w1, x, b);
      x = _mm512_loadu_ps(r1 + ox + 2); a = _mm512_fmadd_ps(w5, x, a); b = _mm512_fmadd_ps(w2, x, b);
      x = _mm512_loadu_ps(r2 + ox);     a = _mm512_fmadd_ps(w6, x, a); b = _mm512_fmadd_ps(w3, x, b);
      x = _mm512_loadu_ps(r2 + ox + 1); a = _mm512_fmadd_ps(w7, x, a); b = _mm512_fmadd_ps(w4, x, b);
      x = _mm512_loadu_ps(r2 + ox + 2); a = _mm512_fmadd_ps(w8, x, a); b = _mm512_fmadd_ps(w5, x, b);
      x = _mm512_loadu_ps(r3 + ox);     b = _mm512_fmadd_ps(w6, x, b);
      x = _mm512_loadu_ps(r3 + ox + 1); b = _mm512_fmadd_ps(w7, x, b);
      x = _mm512_loadu_ps(r3 + ox + 2); b = _mm512_fmadd_ps(w8, x, b);
      _mm512_mask_storeu_ps(o0 + ox, m, act(a, slope, lo, hi, leaky));
      _mm512_mask_storeu_ps(o1 + ox, m, act(b, slope, lo, hi, leaky));
    }
  }
  for (; oy < oh; oy++) {
    const float* r0 = in + oy * in_stride;
    const float* r1 = r0 + in_stride;
    const float* r2 = r1 + in_stride;
    float* o0 = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const __mmask16 m = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a = vb;
      a = _mm512_fmadd_ps(w0, _mm512_loadu_ps(r0 + ox), a);
      a = _mm512_fmadd_ps(w1, _mm512_loadu_ps(r0 + ox + 1), a);
      a = _mm512_fmadd_ps(w2, _mm512_loadu_ps(r0 + ox + 2), a);
      a = _mm512_fmadd_ps(w3, _mm512_loadu_ps(r1 + ox), a);
      a = _mm512_fmadd_ps(w4, _mm512_loadu_ps(r1 + ox + 1), a);
      a = _mm512_fmadd_ps(w5, _mm512_loadu_ps(r1 + ox + 2), a);
      a = _mm512_fmadd_ps(w6, _mm512_loadu_ps(r2 + ox), a);
      a = _mm512_fmadd_ps(w7, _mm512_loadu_ps(r2 + ox + 1), a);
      a = _mm512_fmadd_ps(w8, _mm512_loadu_ps(r2 + ox + 2), a);
      _mm512_mask_storeu_ps(o0 + ox, m, act(a, slope, lo, hi, leaky));
    }
  }
}
