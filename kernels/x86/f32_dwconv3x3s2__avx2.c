/* Depthwise 3x3 stride 2 on a padded plane, AVX2+FMA: 8 outputs per vector; even/odd input columns
 * are separated with a shuffle and a lane permute. */
#include <immintrin.h>

#include "kernels/dwconv.h"
#include "kernels/x86/store.h"

static inline void deinterleave(const float* r, __m256* even, __m256* odd) {
  const __m256 a = _mm256_loadu_ps(r), b = _mm256_loadu_ps(r + 8);
  *even = xnn_even_avx2(a, b);
  *odd = xnn_odd_avx2(a, b);
}

void xnn_f32_dwconv3x3s2__avx2(size_t oh, size_t ow, const float* in, size_t in_stride, const float* w,
                               float bias, float* out, const xnn_f32_act_params* params) {
  const __m256 vb = _mm256_set1_ps(bias), slope = _mm256_set1_ps(params->slope);
  const __m256 lo = _mm256_set1_ps(params->min), hi = _mm256_set1_ps(params->max), zero = _mm256_setzero_ps();
  const int leaky = params->slope != 1.0f;
  __m256 wv[9];
  for (int i = 0; i < 9; i++) wv[i] = _mm256_set1_ps(w[i]);
  for (size_t oy = 0; oy < oh; oy++) {
    float* o = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 8) {
      __m256 a = vb;
      for (int ky = 0; ky < 3; ky++) {
        const float* r = in + (oy * 2 + (size_t)ky) * in_stride + ox * 2;
        __m256 e, d, e2, d2;
        deinterleave(r, &e, &d);
        deinterleave(r + 2, &e2, &d2);
        a = _mm256_fmadd_ps(wv[ky * 3 + 0], e, a);
        a = _mm256_fmadd_ps(wv[ky * 3 + 1], d, a);
        a = _mm256_fmadd_ps(wv[ky * 3 + 2], e2, a);
      }
      if (leaky) a = _mm256_add_ps(_mm256_max_ps(a, zero), _mm256_mul_ps(_mm256_min_ps(a, zero), slope));
      a = _mm256_min_ps(_mm256_max_ps(a, lo), hi);
      xnn_storeu_n_avx2(o + ox, a, ow - ox);
    }
  }
}
