/* LSTM cell, AVX2+FMA: 8 units per step (masked tail). exp by range reduction to [-ln2/2, ln2/2] and a
 * degree-5 polynomial (Cephes' expf coefficients), about 2 ulp; sigmoid(x) = 1 / (1 + exp(-x)) and
 * tanh(x) = 2 sigmoid(2x) - 1 (absolute error below 1e-7, all the state needs). libm's expf/tanhf per
 * unit cost more than the recurrent product for H up to a few hundred. */
#include <immintrin.h>

#include "kernels/lstm.h"
#include "kernels/x86/store.h"

static inline __m256 vexp(__m256 z) {
  z = _mm256_min_ps(_mm256_max_ps(z, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(z, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), z);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline __m256 vsigmoid(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, vexp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

static inline __m256 vtanh(__m256 x) {
  const __m256 s = vsigmoid(_mm256_add_ps(x, x));
  return _mm256_sub_ps(_mm256_add_ps(s, s), _mm256_set1_ps(1.0f));
}

void xnn_f32_lstm_cell__avx2(size_t h, const float* gates, float* c, float* h_out, const xnn_f32_lstm_params* params) {
  const __m256 lo = _mm256_set1_ps(params->min), hi = _mm256_set1_ps(params->max);
  for (size_t j = 0; j < h; j += 8) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(h - j < 8 ? h - j : 8)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#define GATE(q) _mm256_min_ps(_mm256_max_ps(_mm256_maskload_ps(gates + (q) * h + j, m), lo), hi)
    const __m256 i = vsigmoid(GATE(0)), f = vsigmoid(GATE(1)), o = vsigmoid(GATE(2)), g = vtanh(GATE(3));
#undef GATE
    const __m256 cn = _mm256_fmadd_ps(f, _mm256_maskload_ps(c + j, m), _mm256_mul_ps(i, g));
    xnn_storeu_n_avx2(c + j, cn, h - j);
    xnn_storeu_n_avx2(h_out + j, _mm256_mul_ps(o, vtanh(cn)), h - j);
  }
}
