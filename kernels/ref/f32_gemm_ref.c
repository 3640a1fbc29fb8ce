/* Portable GEMM: the fallback on every CPU and the oracle the fast kernels are tested against.
 * Four rows of A at a time so each row of B is read once per four outputs; the inner loop over n is
 * contiguous so compilers vectorize it. */
#include "kernels/gemm.h"

void xnn_f32_gemm__ref(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params) {
  size_t i = 0;
  for (; i + 4 <= m; i += 4) {
    float* c0 = c + i * ldc;
    float* c1 = c0 + ldc;
    float* c2 = c1 + ldc;
    float* c3 = c2 + ldc;
    const float* a0 = a + i * lda;
    const float* a1 = a0 + lda;
    const float* a2 = a1 + lda;
    const float* a3 = a2 + lda;
    float b0 = bias ? bias[i] : 0.0f, b1 = bias ? bias[i + 1] : 0.0f;
    float b2 = bias ? bias[i + 2] : 0.0f, b3 = bias ? bias[i + 3] : 0.0f;
    for (size_t j = 0; j < n; j++) {
      c0[j] = b0;
      c1[j] = b1;
      c2[j] = b2;
      c3[j] = b3;
    }
    for (size_t p = 0; p < k; p++) {
      const float* bp = b + p * ldb;
      const float w0 = a0[p], w1 = a1[p], w2 = a2[p], w3 = a3[p];
      for (size_t j = 0; j < n; j++) {
        const float x = bp[j];
        c0[j] += w0 * x;
        c1[j] += w1 * x;
        c2[j] += w2 * x;
        c3[j] += w3 * x;
      }
    }
  }
  for (; i < m; i++) {
    float* ci = c + i * ldc;
    const float* ai = a + i * lda;
    const float bi = bias ? bias[i] : 0.0f;
    for (size_t j = 0; j < n; j++) ci[j] = bi;
    for (size_t p = 0; p < k; p++) {
      const float* bp = b + p * ldb;
      const float w = ai[p];
      for (size_t j = 0; j < n; j++) ci[j] += w * bp[j];
    }
  }
  if (params->slope != 1.0f || params->min > -INFINITY || params->max < INFINITY) {
    for (size_t r = 0; r < m; r++)
      for (size_t j = 0; j < n; j++) c[r * ldc + j] = xnn_f32_act_apply(c[r * ldc + j], params);
  }
}

void xnn_f32_fc__ref(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                     size_t ldy, const xnn_f32_act_params* params) {
  for (size_t bi = 0; bi < batch; bi++) {
    const float* xb = x + bi * k;
    for (size_t o = 0; o < n; o++) {
      const float* wo = w + o * k;
      /* Eight partial sums break the dependency chain so the loop vectorizes without -ffast-math. */
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      size_t p = 0;
      for (; p + 8 <= k; p += 8)
        for (int q = 0; q < 8; q++) s[q] += wo[p + q] * xb[p + q];
      float acc = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
      for (; p < k; p++) acc += wo[p] * xb[p];
      if (bias) acc += bias[o];
      y[bi * ldy + o] = xnn_f32_act_apply(acc, params);
    }
  }
}
