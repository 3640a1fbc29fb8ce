/* Winograd F(2x2, 3x3) transforms with AVX-512F, 16 tiles at a time (one tile per lane); the matrices are
 * the family's (kernels/winograd.h).
 *
 * Input: a patch row's 34 columns (tile t: 2t .. 2t + 3) split into the column phases 2t, 2t + 1 (two-source
 * permutes of its first 32) and 2t + 2, 2t + 3 (those shifted by a lane, column 32 or 33 coming in last).
 * Output: each output row's two column vectors are interleaved back into 32 contiguous floats with two
 * two-source permutes. */
#include <immintrin.h>

#include "kernels/winograd.h"

static inline __mmask16 lanes(size_t n) { return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1); }

void xnn_f32_wino23_input__avx512(const float* in, size_t in_stride, size_t tiles, float* out,
                                  size_t out_stride) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i next0 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  const __m512i next1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
  __m512 t[4][4]; /* t = (rows of d) B: t[r][j] */
  for (int r = 0; r < 4; r++) {
    const float* row = in + (size_t)r * in_stride;
    const __m512 v0 = _mm512_loadu_ps(row), v1 = _mm512_loadu_ps(row + 16), v2 = _mm512_loadu_ps(row + 32);
    const __m512 c0 = _mm512_permutex2var_ps(v0, even, v1), c1 = _mm512_permutex2var_ps(v0, odd, v1);
    const __m512 c2 = _mm512_permutex2var_ps(c0, next0, v2), c3 = _mm512_permutex2var_ps(c1, next1, v2);
    t[r][0] = _mm512_sub_ps(c0, c2), t[r][1] = _mm512_add_ps(c1, c2);
    t[r][2] = _mm512_sub_ps(c2, c1), t[r][3] = _mm512_sub_ps(c1, c3);
  }
  const __mmask16 m = lanes(tiles);
  for (int j = 0; j < 4; j++) {
    _mm512_mask_storeu_ps(out + (size_t)j * out_stride, m, _mm512_sub_ps(t[0][j], t[2][j]));
    _mm512_mask_storeu_ps(out + (size_t)(4 + j) * out_stride, m, _mm512_add_ps(t[1][j], t[2][j]));
    _mm512_mask_storeu_ps(out + (size_t)(8 + j) * out_stride, m, _mm512_sub_ps(t[2][j], t[1][j]));
    _mm512_mask_storeu_ps(out + (size_t)(12 + j) * out_stride, m, _mm512_sub_ps(t[1][j], t[3][j]));
  }
}

void xnn_f32_wino23_output__avx512(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                   size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params) {
  (void)tiles;
  __m512 t[2][4]; /* t = A^T M */
  for (int j = 0; j < 4; j++) {
    const __m512 m0 = _mm512_loadu_ps(m + (size_t)j * m_stride), m1 = _mm512_loadu_ps(m + (size_t)(4 + j) * m_stride);
    const __m512 m2 = _mm512_loadu_ps(m + (size_t)(8 + j) * m_stride);
    const __m512 m3 = _mm512_loadu_ps(m + (size_t)(12 + j) * m_stride);
    t[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
    t[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
  }
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  const __m512 vb = _mm512_set1_ps(bias), slope = _mm512_set1_ps(params->slope);
  const __m512 vlo = _mm512_set1_ps(params->min), vhi = _mm512_set1_ps(params->max), zero = _mm512_setzero_ps();
  const int leaky = params->slope != 1.0f;
  for (size_t i = 0; i < rows; i++) {
    __m512 y[2] = {_mm512_add_ps(_mm512_add_ps(t[i][0], t[i][1]), t[i][2]),
                   _mm512_sub_ps(_mm512_sub_ps(t[i][1], t[i][2]), t[i][3])};
    for (int k = 0; k < 2; k++) {
      __m512 v = _mm512_add_ps(y[k], vb);
      if (leaky) v = _mm512_add_ps(_mm512_max_ps(v, zero), _mm512_mul_ps(_mm512_min_ps(v, zero), slope));
      y[k] = _mm512_min_ps(_mm512_max_ps(v, vlo), vhi);
    }
    float* o = out + i * out_stride;
    _mm512_mask_storeu_ps(o, lanes(cols), _mm512_permutex2var_ps(y[0], lo, y[1]));
    if (cols > 16) _mm512_mask_storeu_ps(o + 16, lanes(cols - 16), _mm512_permutex2var_ps(y[0], hi, y[1]));
  }
}
