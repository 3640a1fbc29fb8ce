/* Fully connected, AVX-512F: four output rows at a time, 16 inputs per step (masked tail), so one load
 * of x feeds four FMAs while the four weight rows stream from memory. */
#include <immintrin.h>

#include "kernels/gemm.h"

void xnn_f32_fc__avx512(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                        size_t ldy, const xnn_f32_act_params* params) {
  const size_t kv = k / 16 * 16;
  const __mmask16 tail = (__mmask16)((1u << (k - kv)) - 1);
  for (size_t b = 0; b < batch; b++) {
    const float* xb = x + b * k;
    size_t o = 0;
    for (; o + 4 <= n; o += 4) {
      const float *w0 = w + o * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
      __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
      size_t p = 0;
      for (; p < kv; p += 16) {
        const __m512 v = _mm512_loadu_ps(xb + p);
        c0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + p), v, c0);
        c1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + p), v, c1);
        c2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + p), v, c2);
        c3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + p), v, c3);
      }
      if (tail) {
        const __m512 v = _mm512_maskz_loadu_ps(tail, xb + p);
        c0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w0 + p), v, c0);
        c1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w1 + p), v, c1);
        c2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w2 + p), v, c2);
        c3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w3 + p), v, c3);
      }
      const float s[4] = {_mm512_reduce_add_ps(c0), _mm512_reduce_add_ps(c1), _mm512_reduce_add_ps(c2),
                          _mm512_reduce_add_ps(c3)};
      for (int i = 0; i < 4; i++) y[b * ldy + o + i] = xnn_f32_act_apply(s[i] + (bias ? bias[o + i] : 0.0f), params);
    }
    for (; o < n; o++) {
      const float* wo = w + o * k;
      __m512 c = _mm512_setzero_ps();
      size_t p = 0;
      for (; p < kv; p += 16) c = _mm512_fmadd_ps(_mm512_loadu_ps(wo + p), _mm512_loadu_ps(xb + p), c);
      if (tail) c = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, wo + p), _mm512_maskz_loadu_ps(tail, xb + p), c);
      y[b * ldy + o] = xnn_f32_act_apply(_mm512_reduce_add_ps(c) + (bias ? bias[o] : 0.0f), params);
    }
  }
}
