/* Max pooling on a -INF padded plane, AVX2: 8 outputs per vector; stride 2 separates even and odd
 * columns with a shuffle and a lane permute. */
#include <immintrin.h>
#include <math.h>

#include "kernels/pool.h"
#include "kernels/x86/store.h"

void xnn_f32_maxpool_padded__avx2(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in,
                                  size_t in_stride, float* out) {
  for (size_t oy = 0; oy < oh; oy++) {
    float* o = out + oy * ow;
    for (size_t ox = 0; ox < ow; ox += 8) {
      __m256 acc = _mm256_set1_ps(-INFINITY);
      for (size_t ky = 0; ky < kh; ky++) {
        const float* r = in + (oy * stride + ky) * in_stride + ox * stride;
        if (stride == 1) {
          for (size_t kx = 0; kx < kw; kx++) acc = _mm256_max_ps(acc, _mm256_loadu_ps(r + kx));
        } else {
          for (size_t kx = 0; kx < kw; kx += 2) {
            const __m256 a = _mm256_loadu_ps(r + kx), b = _mm256_loadu_ps(r + kx + 8);
            const __m256 e = _mm256_castpd_ps(
                _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xd8));
            acc = _mm256_max_ps(acc, e);
            if (kx + 1 < kw) {
              const __m256 d = _mm256_castpd_ps(
                  _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xdd)), 0xd8));
              acc = _mm256_max_ps(acc, d);
            }
          }
        }
      }
      xnn_storeu_n_avx2(o + ox, acc, ow - ox);
    }
  }
}
