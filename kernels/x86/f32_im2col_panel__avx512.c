/* im2col panel with AVX-512F: 16 values per step; stride 2 takes the even lanes of two loads with a
 * two-source permute. Masked loads keep every read inside the run. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/im2col.h"

static inline __mmask16 first(size_t n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1); }

void xnn_f32_im2col_panel__avx512(size_t kc, size_t len, const float* src, const size_t* offsets, size_t stride,
                                  float* dst, size_t dst_stride) {
  if (stride > 2) {
    xnn_f32_im2col_panel__ref(kc, len, src, offsets, stride, dst, dst_stride);
    return;
  }
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  /* 16 outputs read s[0 .. 30]: the even lanes of s[0 .. 15] and the odd ones of s[15 .. 30], two loads that
   * need no mask. */
  const __m512i halves = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
  for (size_t p = 0; p < kc; p++) {
    const float* s = src + offsets[p];
    float* d = dst + p * dst_stride;
    if (stride == 1) {
      size_t q = 0;
      for (; q + 16 <= len; q += 16) _mm512_storeu_ps(d + q, _mm512_loadu_ps(s + q));
      if (q < len) {
        const __mmask16 m = first(len - q);
        _mm512_mask_storeu_ps(d + q, m, _mm512_maskz_loadu_ps(m, s + q));
      }
    } else {
      /* Run of len outputs reads s[0 .. 2*len - 2]. */
      const size_t span = 2 * len - 1;
      size_t q = 0;
      for (; q + 16 <= len; q += 16)
        _mm512_storeu_ps(d + q,
                         _mm512_permutex2var_ps(_mm512_loadu_ps(s + 2 * q), halves, _mm512_loadu_ps(s + 2 * q + 15)));
      for (; q < len; q += 16) {
        const size_t at = 2 * q;
        const __m512 a = _mm512_maskz_loadu_ps(first(span - at), s + at);
        const __m512 b = span > at + 16 ? _mm512_maskz_loadu_ps(first(span - at - 16), s + at + 16) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(d + q, first(len - q), _mm512_permutex2var_ps(a, even, b));
      }
    }
  }
}
