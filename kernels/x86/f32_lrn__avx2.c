/* LRN across channels with AVX2 and FMA, 8 pixels a vector, as the AVX-512 kernel (12-bit estimates, one
 * Newton step each); the last pixels under a mask. */
#include <immintrin.h>

#include "kernels/lrn.h"

static inline __m256 rsqrt_refined(__m256 t) {
  const __m256 r = _mm256_rsqrt_ps(t);
  const __m256 h = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), t), r);
  return _mm256_mul_ps(r, _mm256_fnmadd_ps(h, r, _mm256_set1_ps(1.5f)));
}

void xnn_f32_lrn__avx2(size_t n, size_t taps, const float* rows, size_t stride, const float* x, float k, float alpha,
                       float beta, float* y) {
  if (!xnn_f32_lrn_is_fast(k, beta)) {
    xnn_f32_lrn__ref(n, taps, rows, stride, x, k, alpha, beta, y);
    return;
  }
  const __m256 vk = _mm256_set1_ps(k), va = _mm256_set1_ps(alpha);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (size_t i = 0; i < n; i += 8) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i < 8 ? n - i : 8)), lane);
    __m256 s = _mm256_setzero_ps();
    for (size_t t = 0; t < taps; t++) {
      const __m256 v = _mm256_maskload_ps(rows + t * stride + i, m);
      s = _mm256_fmadd_ps(v, v, s);
    }
    const __m256 r = rsqrt_refined(_mm256_fmadd_ps(va, s, vk));
    const __m256 scale = _mm256_mul_ps(_mm256_mul_ps(r, r), rsqrt_refined(r));
    _mm256_maskstore_ps(y + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), scale));
  }
}
