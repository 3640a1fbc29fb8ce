/* Fully connected, AVX2+FMA: four output rows at a time, 8 inputs per step (masked tail), so one load of
 * x feeds four FMAs while the four weight rows stream from memory. */
#include <immintrin.h>

#include "kernels/gemm.h"

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void xnn_f32_fc__avx2(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                      size_t ldy, const xnn_f32_act_params* params) {
  const size_t kv = k / 8 * 8;
  const __m256i tail =
      _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(k - kv)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (size_t b = 0; b < batch; b++) {
    const float* xb = x + b * k;
    const __m256 xt = _mm256_maskload_ps(xb + kv, tail);
    size_t o = 0;
    for (; o + 4 <= n; o += 4) {
      const float *w0 = w + o * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
      __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
      for (size_t p = 0; p < kv; p += 8) {
        const __m256 v = _mm256_loadu_ps(xb + p);
        c0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + p), v, c0);
        c1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + p), v, c1);
        c2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + p), v, c2);
        c3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + p), v, c3);
      }
      if (k > kv) {
        c0 = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + kv, tail), xt, c0);
        c1 = _mm256_fmadd_ps(_mm256_maskload_ps(w1 + kv, tail), xt, c1);
        c2 = _mm256_fmadd_ps(_mm256_maskload_ps(w2 + kv, tail), xt, c2);
        c3 = _mm256_fmadd_ps(_mm256_maskload_ps(w3 + kv, tail), xt, c3);
      }
      const float s[4] = {hsum(c0), hsum(c1), hsum(c2), hsum(c3)};
      for (int i = 0; i < 4; i++) y[b * ldy + o + i] = xnn_f32_act_apply(s[i] + (bias ? bias[o + i] : 0.0f), params);
    }
    for (; o < n; o++) {
      const float* wo = w + o * k;
      __m256 c = _mm256_setzero_ps();
      for (size_t p = 0; p < kv; p += 8) c = _mm256_fmadd_ps(_mm256_loadu_ps(wo + p), _mm256_loadu_ps(xb + p), c);
      if (k > kv) c = _mm256_fmadd_ps(_mm256_maskload_ps(wo + kv, tail), xt, c);
      y[b * ldy + o] = xnn_f32_act_apply(hsum(c) + (bias ? bias[o] : 0.0f), params);
    }
  }
}
