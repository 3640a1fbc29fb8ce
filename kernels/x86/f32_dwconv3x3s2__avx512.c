/* Depthwise 3x3 stride 2 on a padded plane, AVX-512F: 16 outputs per vector. The even and odd input
 * columns are separated with two-source permutes, so every tap is one FMA. */
#include <immintrin.h>

#include "kernels/dwconv.h"

void xnn_f32_dwconv3x3s2__avx512(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                                 float bias, float* out, const xnn_f32_act_params* params) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m512 vb = _mm512_set1_ps(bias), slope = _mm512_set1_ps(params->slope);
  const __m512 lo = _mm512_set1_ps(params->min), hi = _mm512_set1_ps(params->max), zero = _mm512_setzero_ps();
  const int leaky = params->slope != 1.0f;
  __m512 wv[9];
  for (int i = 0; i < 9; i++) wv[i] = _mm512_set1_ps(w[i]);
  for (size_t oy = 0; oy < oh; oy++) {
    float* o = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const __mmask16 m = (__mmask16)(ow - ox >= 16 ? 0xffff : (1u << (ow - ox)) - 1);
      __m512 a = vb;
      for (int ky = 0; ky < 3; ky++) {
        const float* r = in + (oy * 2 + (size_t)ky) * in_stride + ox * 2;
        const __m512 v0 = _mm512_loadu_ps(r), v1 = _mm512_loadu_ps(r + 16);
        const __m512 v2 = _mm512_loadu_ps(r + 2), v3 = _mm512_loadu_ps(r + 18);
        a = _mm512_fmadd_ps(wv[ky * 3 + 0], _mm512_permutex2var_ps(v0, even, v1), a);
        a = _mm512_fmadd_ps(wv[ky * 3 + 1], _mm512_permutex2var_ps(v0, odd, v1), a);
        a = _mm512_fmadd_ps(wv[ky * 3 + 2], _mm512_permutex2var_ps(v2, even, v3), a);
      }
      if (leaky) a = _mm512_add_ps(_mm512_max_ps(a, zero), _mm512_mul_ps(_mm512_min_ps(a, zero), slope));
      a = _mm512_min_ps(_mm512_max_ps(a, lo), hi);
      _mm512_mask_storeu_ps(o + ox, m, a);
    }
  }
}
