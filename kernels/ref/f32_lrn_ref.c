/* LRN across channels, portable: the sums of squares a chunk of pixels at a time, on the stack. */
#include "kernels/lrn.h"

enum { CHUNK = 256 };

void xnn_f32_lrn__ref(size_t n, size_t taps, const float* rows, size_t stride, const float* x, float k, float alpha,
                      float beta, float* y) {
  float s[CHUNK];
  for (size_t p0 = 0; p0 < n; p0 += CHUNK) {
    const size_t m = n - p0 < CHUNK ? n - p0 : CHUNK;
    for (size_t q = 0; q < m; q++) s[q] = 0.0f;
    for (size_t t = 0; t < taps; t++) {
      const float* r = rows + t * stride + p0;
      for (size_t q = 0; q < m; q++) s[q] += r[q] * r[q];
    }
    for (size_t q = 0; q < m; q++) y[p0 + q] = x[p0 + q] * xnn_f32_inv_pow(k + alpha * s[q], beta);
  }
}
