/* im2col row with AVX-512F: 16 outputs per step. Masked loads give the zero padding and never touch
 * memory outside the row; stride 2 takes the even lanes of two loads with a two-source permute. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/im2col.h"

/* Lanes l < 16 with 0 <= start + l < width. */
static inline __mmask16 valid(ptrdiff_t start, size_t width) {
  const ptrdiff_t lo = start < 0 ? -start : 0;
  const ptrdiff_t hi = (ptrdiff_t)width - start;
  if (hi <= 0 || lo >= 16) return 0;
  const uint32_t upper = hi >= 16 ? 0xffffu : (1u << hi) - 1;
  return (__mmask16)(upper & ~((1u << lo) - 1));
}

void xnn_f32_im2col_row__avx512(size_t len, const float* row, ptrdiff_t x0, size_t stride, size_t width,
                                float* dst) {
  if (stride > 2) {
    xnn_f32_im2col_row__ref(len, row, x0, stride, width, dst);
    return;
  }
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (size_t q = 0; q < len; q += 16) {
    const __mmask16 out = (__mmask16)(len - q >= 16 ? 0xffff : (1u << (len - q)) - 1);
    __m512 v;
    if (stride == 1) {
      const ptrdiff_t s = x0 + (ptrdiff_t)q;
      v = _mm512_maskz_loadu_ps(valid(s, width), row + s);
    } else {
      const ptrdiff_t s = x0 + (ptrdiff_t)(2 * q);
      const __m512 a = _mm512_maskz_loadu_ps(valid(s, width), row + s);
      const __m512 b = _mm512_maskz_loadu_ps(valid(s + 16, width), row + s + 16);
      v = _mm512_permutex2var_ps(a, even, b);
    }
    _mm512_mask_storeu_ps(dst + q, out, v);
  }
}
