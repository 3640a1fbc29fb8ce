/* LSTM cell, AVX-512F: 16 units per step (masked tail). exp by range reduction to [-ln2/2, ln2/2] and a
 * degree-5 polynomial (Cephes' expf coefficients), about 2 ulp; sigmoid(x) = 1 / (1 + exp(-x)) and
 * tanh(x) = 2 sigmoid(2x) - 1 (absolute error below 1e-7, all the state needs). libm's expf/tanhf per
 * unit cost more than the recurrent product for H up to a few hundred. */
#include <immintrin.h>

#include "kernels/lstm.h"

static inline __m512 vexp(__m512 z) {
  z = _mm512_min_ps(_mm512_max_ps(z, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(z, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), z);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

static inline __m512 vsigmoid(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, vexp(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

static inline __m512 vtanh(__m512 x) {
  const __m512 s = vsigmoid(_mm512_add_ps(x, x));
  return _mm512_sub_ps(_mm512_add_ps(s, s), _mm512_set1_ps(1.0f));
}

void xnn_f32_lstm_cell__avx512(size_t h, const float* gates, float* c, float* h_out, const xnn_f32_lstm_params* params) {
  const __m512 lo = _mm512_set1_ps(params->min), hi = _mm512_set1_ps(params->max);
  for (size_t j = 0; j < h; j += 16) {
    const __mmask16 m = (__mmask16)(h - j < 16 ? (1u << (h - j)) - 1 : 0xFFFFu);
#define GATE(q) _mm512_min_ps(_mm512_max_ps(_mm512_maskz_loadu_ps(m, gates + (q) * h + j), lo), hi)
    const __m512 i = vsigmoid(GATE(0)), f = vsigmoid(GATE(1)), o = vsigmoid(GATE(2)), g = vtanh(GATE(3));
#undef GATE
    const __m512 cn = _mm512_fmadd_ps(f, _mm512_maskz_loadu_ps(m, c + j), _mm512_mul_ps(i, g));
    _mm512_mask_storeu_ps(c + j, m, cn);
    _mm512_mask_storeu_ps(h_out + j, m, _mm512_mul_ps(o, vtanh(cn)));
  }
}
