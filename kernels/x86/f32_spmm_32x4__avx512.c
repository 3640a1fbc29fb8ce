/* 32x4 SpMM tile with AVX-512F for weights pruned in blocks of four output channels: 32 pixels of the
 * block's four channels in eight zmm. Each nonzero column loads its two input vectors once for eight
 * FMAs (the 32x1 tile loads two for two), so a panel streaming from L2 no longer bounds it, and eight
 * accumulators cover the FMA latency. Pixel tails are masked: a channel's last pixels never touch the
 * next row's. */
#include <immintrin.h>

#include "kernels/spmm.h"
#include "kernels/x86/act.h"

static __mmask16 first_lanes(size_t n) { return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1); }

void xnn_f32_spmm_ukernel_32x4__avx512(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                       const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                       size_t out_stride, const float* residual, const xnn_f32_act_params* params) {
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  for (size_t p = 0; p < pixels; p += 32) {
    const size_t left = pixels - p;
    const __mmask16 m0 = first_lanes(left), m1 = first_lanes(left > 16 ? left - 16 : 0);
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o += 4) {
      __m512 a[4][2];
      for (int c = 0; c < 4; c++) a[c][0] = a[c][1] = _mm512_set1_ps(w[c]);
      w += 4;
      for (size_t n = nnz[o / 4]; n; n--, w += 4) {
        const float* x = in + (size_t)*r++ * in_stride + p;
        const __m512 x0 = _mm512_maskz_loadu_ps(m0, x), x1 = _mm512_maskz_loadu_ps(m1, x + 16);
        for (int c = 0; c < 4; c++) {
          const __m512 u = _mm512_set1_ps(w[c]);
          a[c][0] = _mm512_fmadd_ps(x0, u, a[c][0]);
          a[c][1] = _mm512_fmadd_ps(x1, u, a[c][1]);
        }
      }
      for (int c = 0; c < 4; c++) {
        const size_t at = (o + c) * out_stride + p;
        if (residual) {
          a[c][0] = _mm512_add_ps(a[c][0], _mm512_maskz_loadu_ps(m0, residual + at));
          a[c][1] = _mm512_add_ps(a[c][1], _mm512_maskz_loadu_ps(m1, residual + at + 16));
        }
        _mm512_mask_storeu_ps(out + at, m0, xnn_act_avx512_apply(&act, a[c][0]));
        _mm512_mask_storeu_ps(out + at + 16, m1, xnn_act_avx512_apply(&act, a[c][1]));
      }
    }
  }
}
