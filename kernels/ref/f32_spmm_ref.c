/* Portable kernel of the SpMM family: the fallback on every CPU (AArch64 too, until it has a kernel of
 * its own) and the oracle the fast kernels are tested against. Eight pixels per tile, in a fixed-size
 * accumulator that compilers keep in vector registers. */
#include "kernels/spmm.h"

enum { TILE = 8 };

void xnn_f32_spmm_ukernel_8x1__ref(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                   const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                   size_t out_stride, const float* residual, const xnn_f32_act_params* params) {
  for (size_t p = 0; p < pixels; p += TILE) {
    const size_t n = pixels - p < TILE ? pixels - p : TILE;
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o++) {
      float acc[TILE];
      for (size_t q = 0; q < TILE; q++) acc[q] = w[0];
      w++;
      for (uint32_t j = nnz[o]; j; j--) {
        const float v = *w++;
        const float* x = in + (size_t)*r++ * in_stride + p;
        for (size_t q = 0; q < n; q++) acc[q] += v * x[q];
      }
      float* y = out + o * out_stride + p;
      const float* s = residual ? residual + o * out_stride + p : NULL;
      for (size_t q = 0; q < n; q++) y[q] = xnn_f32_act_apply(acc[q] + (s ? s[q] : 0.0f), params);
    }
  }
}

size_t xnn_pack_f32_spmm(size_t m, size_t k, const float* w, const float* bias, float* values, uint32_t* rows,
                         uint32_t* nnz) {
  size_t total = 0;
  for (size_t o = 0; o < m; o++) {
    *values++ = bias ? bias[o] : 0.0f;
    const size_t first = total;
    for (size_t i = 0; i < k; i++) {
      if (w[o * k + i] == 0.0f) continue;
      *values++ = w[o * k + i];
      rows[total++] = (uint32_t)i;
    }
    nnz[o] = (uint32_t)(total - first);
  }
  return total;
}
