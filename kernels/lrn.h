/* f32 local response normalization across channels, n contiguous pixels of one channel (Caffe's
 * semantics): y[i] = x[i] * (k + alpha * sum over t < taps of rows[t * stride + i]^2)^-beta, where the rows
 * are the same pixels of the `taps` channels of the window (the channel itself among them), `stride` floats
 * apart, and alpha is already divided by the window's size. */
#pragma once
#include <math.h>
#include <stddef.h>

typedef void (*xnn_f32_lrn_fn)(size_t n, size_t taps, const float* rows, size_t stride, const float* x, float k,
                               float alpha, float beta, float* y);

void xnn_f32_lrn__ref(size_t n, size_t taps, const float* rows, size_t stride, const float* x, float k, float alpha,
                      float beta, float* y);
void xnn_f32_lrn__avx2(size_t n, size_t taps, const float* rows, size_t stride, const float* x, float k, float alpha,
                       float beta, float* y);
void xnn_f32_lrn__avx512(size_t n, size_t taps, const float* rows, size_t stride, const float* x, float k, float alpha,
                         float beta, float* y);

/* base^-beta, portably. base^-0.75 = 1 / sqrt(base * sqrt(base)): two square roots and a division, which
 * vectorize where powf per element cost 5 ms of GoogLeNet. */
static inline float xnn_f32_inv_pow(float base, float beta) {
  if (beta == 0.75f) return 1.0f / sqrtf(base * sqrtf(base));
  if (beta == 0.5f) return 1.0f / sqrtf(base);
  if (beta == 1.0f) return 1.0f / base;
  return powf(base, -beta);
}

/* The vector kernels' case, where (k + alpha * s)^-0.75 comes from two reciprocal square roots refined by
 * Newton's step (AlexNet, CaffeNet and GoogLeNet all use it); others go to the portable kernel. k bounded away
 * from 0 keeps the base so: at 0 the estimates' infinity times 0 is a NaN where powf gives infinity. */
static inline int xnn_f32_lrn_is_fast(float k, float beta) { return beta == 0.75f && k >= 1e-6f; }
