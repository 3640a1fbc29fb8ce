/* 64x1 SpMM tile with AVX-512F: 64 pixels of one output channel in four zmm, for short K, where a panel
 * of 64 pixels stays in L1 or nearly: one sweep of the weights then serves twice the pixels of the 32x1
 * tile. Two nonzeros at a time go into eight accumulators, covering the FMA latency of two 512-bit pipes.
 * The last 33 to 63 pixels go the same way with masks, 32 or fewer to the 32x1 kernel. */
#include <immintrin.h>

#include "kernels/spmm.h"
#include "kernels/x86/act.h"

static __mmask16 first_lanes(size_t n) { return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1); }

void xnn_f32_spmm_ukernel_64x1__avx512(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                       const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                       size_t out_stride, const float* residual, const xnn_f32_act_params* params) {
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  size_t p = 0;
  for (; p + 32 < pixels; p += 64) {
    const size_t left = pixels - p;
    const __mmask16 m2 = first_lanes(left - 32), m3 = first_lanes(left > 48 ? left - 48 : 0);
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o++) {
      __m512 a0 = _mm512_set1_ps(*w++), a1 = a0, a2 = a0, a3 = a0;
      __m512 b0 = _mm512_setzero_ps(), b1 = b0, b2 = b0, b3 = b0;
      size_t n = nnz[o];
      for (; n >= 2; n -= 2) {
        const float* x = in + (size_t)r[0] * in_stride + p;
        const float* y = in + (size_t)r[1] * in_stride + p;
        const __m512 u = _mm512_set1_ps(w[0]), v = _mm512_set1_ps(w[1]);
        r += 2, w += 2;
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), u, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), u, a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m2, x + 32), u, a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m3, x + 48), u, a3);
        b0 = _mm512_fmadd_ps(_mm512_loadu_ps(y), v, b0);
        b1 = _mm512_fmadd_ps(_mm512_loadu_ps(y + 16), v, b1);
        b2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m2, y + 32), v, b2);
        b3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m3, y + 48), v, b3);
      }
      if (n) {
        const float* x = in + (size_t)*r++ * in_stride + p;
        const __m512 u = _mm512_set1_ps(*w++);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), u, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), u, a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m2, x + 32), u, a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m3, x + 48), u, a3);
      }
      a0 = _mm512_add_ps(a0, b0), a1 = _mm512_add_ps(a1, b1), a2 = _mm512_add_ps(a2, b2), a3 = _mm512_add_ps(a3, b3);
      if (residual) {
        const float* s = residual + o * out_stride + p;
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(s));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(s + 16));
        a2 = _mm512_add_ps(a2, _mm512_maskz_loadu_ps(m2, s + 32));
        a3 = _mm512_add_ps(a3, _mm512_maskz_loadu_ps(m3, s + 48));
      }
      float* y = out + o * out_stride + p;
      _mm512_storeu_ps(y, xnn_act_avx512_apply(&act, a0));
      _mm512_storeu_ps(y + 16, xnn_act_avx512_apply(&act, a1));
      _mm512_mask_storeu_ps(y + 32, m2, xnn_act_avx512_apply(&act, a2));
      _mm512_mask_storeu_ps(y + 48, m3, xnn_act_avx512_apply(&act, a3));
    }
  }
  if (p < pixels)
    xnn_f32_spmm_ukernel_32x1__avx512(pixels - p, channels, in + p, in_stride, weights, rows, nnz, out + p, out_stride,
                                      residual ? residual + p : NULL, params);
}
