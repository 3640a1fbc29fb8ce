/* im2col panel with AVX2: 8 values per step; stride 2 gathers the even lanes of two loads with a
 * shuffle and a cross-lane permute. Masked loads keep every read inside the run. */
#include <immintrin.h>

#include "kernels/im2col.h"
#include "kernels/x86/store.h"

static inline __m256i first(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n > 8 ? 8 : n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void xnn_f32_im2col_panel__avx2(size_t kc, size_t len, const float* src, const size_t* offsets, size_t stride,
                                float* dst, size_t dst_stride) {
  if (stride > 2) {
    xnn_f32_im2col_panel__ref(kc, len, src, offsets, stride, dst, dst_stride);
    return;
  }
  const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  for (size_t p = 0; p < kc; p++) {
    const float* s = src + offsets[p];
    float* d = dst + p * dst_stride;
    if (stride == 1) {
      size_t q = 0;
      for (; q + 8 <= len; q += 8) _mm256_storeu_ps(d + q, _mm256_loadu_ps(s + q));
      if (q < len) {
        xnn_storeu_n_avx2(d + q, _mm256_maskload_ps(s + q, first(len - q)), len - q);
      }
    } else {
      const size_t span = 2 * len - 1; /* a run of len outputs reads s[0 .. 2*len - 2] */
      for (size_t q = 0; q < len; q += 8) {
        const size_t at = 2 * q;
        const __m256 a = _mm256_maskload_ps(s + at, first(span - at));
        const __m256 b = span > at + 8 ? _mm256_maskload_ps(s + at + 8, first(span - at - 8)) : _mm256_setzero_ps();
        /* shuffle: a0 a2 b0 b2 | a4 a6 b4 b6 -> permute to a0 a2 a4 a6 b0 b2 b4 b6 */
        const __m256 ev = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        const __m256 v = _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(_mm256_castps_si256(ev), order));
        xnn_storeu_n_avx2(d + q, v, len - q);
      }
    }
  }
}
