/* 16x4 SpMM tile with AVX2+FMA for weights pruned in blocks of four output channels: 16 pixels of the
 * block's four channels in eight ymm; each nonzero column's two input vectors feed eight FMAs, and the
 * eight accumulators cover the FMA latency of two FMA ports. The last pixels go 8 at a time with a mask. */
#include <immintrin.h>

#include "kernels/spmm.h"
#include "kernels/x86/act.h"
#include "kernels/x86/store.h"

static __m256i first_lanes(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 8 ? n : 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void xnn_f32_spmm_ukernel_16x4__avx2(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                     const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                     size_t out_stride, const float* residual, const xnn_f32_act_params* params) {
  const xnn_act_avx2 act = xnn_act_avx2_init(params);
  for (size_t p = 0; p < pixels; p += 16) {
    const size_t left = pixels - p;
    const __m256i m0 = first_lanes(left), m1 = first_lanes(left > 8 ? left - 8 : 0);
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o += 4) {
      __m256 a[4][2];
      for (int c = 0; c < 4; c++) a[c][0] = a[c][1] = _mm256_broadcast_ss(w + c);
      w += 4;
      for (size_t n = nnz[o / 4]; n; n--, w += 4) {
        const float* x = in + (size_t)*r++ * in_stride + p;
        const __m256 x0 = _mm256_maskload_ps(x, m0), x1 = _mm256_maskload_ps(x + 8, m1);
        for (int c = 0; c < 4; c++) {
          const __m256 u = _mm256_broadcast_ss(w + c);
          a[c][0] = _mm256_fmadd_ps(x0, u, a[c][0]);
          a[c][1] = _mm256_fmadd_ps(x1, u, a[c][1]);
        }
      }
      for (int c = 0; c < 4; c++) {
        const size_t at = (o + c) * out_stride + p;
        if (residual) {
          a[c][0] = _mm256_add_ps(a[c][0], _mm256_maskload_ps(residual + at, m0));
          a[c][1] = _mm256_add_ps(a[c][1], _mm256_maskload_ps(residual + at + 8, m1));
        }
        xnn_storeu_n_avx2(out + at, xnn_act_avx2_apply(&act, a[c][0]), left);
        if (left > 8) xnn_storeu_n_avx2(out + at + 8, xnn_act_avx2_apply(&act, a[c][1]), left - 8);
      }
    }
  }
}
