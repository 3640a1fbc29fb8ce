/* LRN across channels with AVX2 and FMA, 8 pixels a vector, as the AVX-512 kernel (12-bit estimates, one
 * Newton step each); the last pixels under a mask (masked loads cost more than plain ones: the whole row
 * masked was 2x slower). */
#include <immintrin.h>

#include "kernels/lrn.h"
#include "kernels/x86/store.h"

static inline __m256 rsqrt_refined(__m256 t) {
  const __m256 r = _mm256_rsqrt_ps(t);
  const __m256 h = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), t), r);
  return _mm256_mul_ps(r, _mm256_fnmadd_ps(h, r, _mm256_set1_ps(1.5f)));
}

/* x * (k + alpha * s)^-0.75 */
static inline __m256 scaled(__m256 x, __m256 s, __m256 vk, __m256 va) {
  const __m256 r = rsqrt_refined(_mm256_fmadd_ps(va, s, vk));
  return _mm256_mul_ps(x, _mm256_mul_ps(_mm256_mul_ps(r, r), rsqrt_refined(r)));
}

void xnn_f32_lrn__avx2(size_t n, size_t taps, const float* rows, size_t stride, const float* x, float k, float alpha,
                       float beta, float* y) {
  if (!xnn_f32_lrn_is_fast(k, beta)) {
    xnn_f32_lrn__ref(n, taps, rows, stride, x, k, alpha, beta, y);
    return;
  }
  const __m256 vk = _mm256_set1_ps(k), va = _mm256_set1_ps(alpha);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 s = _mm256_setzero_ps();
    for (size_t t = 0; t < taps; t++) {
      const __m256 v = _mm256_loadu_ps(rows + t * stride + i);
      s = _mm256_fmadd_ps(v, v, s);
    }
    _mm256_storeu_ps(y + i, scaled(_mm256_loadu_ps(x + i), s, vk, va));
  }
  if (i < n) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 s = _mm256_setzero_ps();
    for (size_t t = 0; t < taps; t++) {
      const __m256 v = _mm256_maskload_ps(rows + t * stride + i, m);
      s = _mm256_fmadd_ps(v, v, s);
    }
    xnn_storeu_n_avx2(y + i, scaled(_mm256_maskload_ps(x + i, m), s, vk, va), n - i);
  }
}
