/* Partial vectors and lane helpers for the AVX2 kernels: stores of the first n floats of a ymm register,
 * the mask of the lanes that fall inside a row, and the even and odd floats of two vectors (stride 2). A
 * full vector is one plain store; a shorter one goes out as 4-, 2- and 1-float pieces, not vmaskmovps: on
 * Zen 2/3 that store is microcoded (tens of cycles), and the 6x16 GEMM tile's twelve masked stores made
 * MobileNet v2's 28x28 64 -> 384 layer 0.55 ms against 0.42 with plain ones. Masked loads stay (a load
 * costs about two plain ones there). */
#pragma once
#include <immintrin.h>
#include <stddef.h>

static inline void xnn_storeu_n_avx2(float* p, __m256 v, size_t n) {
  if (n >= 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  __m128 x = _mm256_castps256_ps128(v);
  if (n & 4) {
    _mm_storeu_ps(p, x);
    x = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (n & 2) {
    _mm_storel_pi((__m64*)p, x);
    x = _mm_movehl_ps(x, x);
    p += 2;
  }
  if (n & 1) _mm_store_ss(p, x);
}

/* Lanes i < 8 with 0 <= x + i < width (for the masked loads at a row's ends). */
static inline __m256i xnn_inside_avx2(ptrdiff_t x, size_t width) {
  const __m256i at = _mm256_add_epi32(_mm256_set1_epi32((int)x), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), at),
                             _mm256_cmpgt_epi32(_mm256_set1_epi32((int)width), at));
}

/* The even (odd) floats of the 16 in a, b, in order: an in-lane shuffle gives a0 a2 b0 b2 | a4 a6 b4 b6, a
 * permute of the 64-bit pairs restores the order. */
static inline __m256 xnn_even_avx2(__m256 a, __m256 b) {
  const __m256 v = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline __m256 xnn_odd_avx2(__m256 a, __m256 b) {
  const __m256 v = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
}
