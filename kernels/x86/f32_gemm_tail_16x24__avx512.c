/* Tail tile with AVX-512F (kernels/gemm.h): up to 16 rows (two 8-row weight panels, one zmm per k step) x
 * up to 24 columns, one accumulator per column, each column's B value broadcast. 14x14 maps end their
 * 32-wide tiles with 4 columns: there, 16 rows x 4 columns in 4 zmm multiply-adds where two 8x8 AVX2 tiles
 * took 16 ymm ones. (7x7 maps, 49 columns, go to the 8x49 wide tile instead.)
 * The widths are rounded up to 4 (the packed panel's width); each is a constant in its instance so
 * the accumulators stay in registers (24 of them, the A vector and a broadcast: 26 of the 32 zmm). Below 8
 * columns the 4-cycle multiply-add latency would idle half the FMA pipes, so 4 columns run two k steps
 * at once into two sets of accumulators. */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/act.h"

enum { MR = 8 };

static inline __m512 load_rows(const float* a0, const float* a1) {
  const __m256d lo = _mm256_castps_pd(_mm256_loadu_ps(a0)), hi = _mm256_castps_pd(_mm256_loadu_ps(a1));
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(lo), hi, 1));
}

static inline __attribute__((always_inline)) void tail(const size_t T, const size_t U, size_t mr, size_t nr, size_t k,
                                                       const float* a, size_t a_stride, const float* b, size_t ldb,
                                                       float* c, size_t ldc, const float* bias,
                                                       const xnn_f32_act_params* params, uint32_t flags) {
  __m512 acc[24];
#pragma GCC unroll 24
  for (size_t j = 0; j < T * U; j++) acc[j] = _mm512_setzero_ps();
  /* Rows past the first panel come from it again when there is no second: computed, never stored. */
  const float* a1 = mr > MR ? a + a_stride : a;
  size_t p = 0;
  for (; p + U <= k; p += U) {
#pragma GCC unroll 2
    for (size_t u = 0; u < U; u++) {
      /* Where the tail streams the weights itself (a block of tail only: a Winograd layer's 36 operands on
       * a 7x7 map) from L3, the two panels' streams need prefetching 64 k steps ahead (16: ResNet-50's
       * 14x14 Winograd layers, when they ran on this tile, took 1.3x as long; none: 1.6x). */
      _mm_prefetch((const char*)(a + (p + u) * MR + 512), _MM_HINT_T0);
      _mm_prefetch((const char*)(a1 + (p + u) * MR + 512), _MM_HINT_T0);
      const __m512 w = load_rows(a + (p + u) * MR, a1 + (p + u) * MR);
      const float* bp = b + (p + u) * ldb;
#pragma GCC unroll 24
      for (size_t j = 0; j < T; j++) acc[u * T + j] = _mm512_fmadd_ps(w, _mm512_set1_ps(bp[j]), acc[u * T + j]);
    }
  }
  for (; p < k; p++) {
    const __m512 w = load_rows(a + p * MR, a1 + p * MR);
#pragma GCC unroll 24
    for (size_t j = 0; j < T; j++) acc[j] = _mm512_fmadd_ps(w, _mm512_set1_ps(b[p * ldb + j]), acc[j]);
  }
#pragma GCC unroll 24
  for (size_t j = 0; j < T; j++)
    for (size_t u = 1; u < U; u++) acc[j] = _mm512_add_ps(acc[j], acc[u * T + j]);

  /* Lane i of accumulator j is C[i][j]: bias and activation on whole vectors, then the transposed store
   * one value at a time (T x 16 at most, next to k x T multiply-adds). */
  const __mmask16 rows = (__mmask16)(mr >= 16 ? 0xffff : (1u << mr) - 1);
  const int accumulate = (flags & XNN_GEMM_ACCUMULATE) != 0, last = (flags & XNN_GEMM_LAST) != 0;
  if (bias && (!accumulate || (flags & XNN_GEMM_ADD_BIAS))) {
    const __m512 vb = _mm512_maskz_loadu_ps(rows, bias);
#pragma GCC unroll 24
    for (size_t j = 0; j < T; j++) acc[j] = _mm512_add_ps(acc[j], vb);
  }
  if (last && !accumulate) {
    const xnn_act_avx512 act = xnn_act_avx512_init(params);
    const int kind = xnn_act_kind(params);
    if (kind == XNN_ACT_FULL) {
#pragma GCC unroll 24
      for (size_t j = 0; j < T; j++) acc[j] = xnn_act_avx512_apply(&act, acc[j]);
    } else if (kind == XNN_ACT_MAX) {
#pragma GCC unroll 24
      for (size_t j = 0; j < T; j++) acc[j] = xnn_act_avx512_max(&act, acc[j]);
    }
  }
  float out[24 * 16] __attribute__((aligned(64)));
#pragma GCC unroll 24
  for (size_t j = 0; j < T; j++) _mm512_store_ps(out + 16 * j, acc[j]);
  for (size_t i = 0; i < mr; i++) {
    float* ci = c + i * ldc;
    if (!accumulate) {
      for (size_t j = 0; j < nr; j++) ci[j] = out[16 * j + i];
    } else if (last) {
      for (size_t j = 0; j < nr; j++) ci[j] = xnn_f32_act_apply(ci[j] + out[16 * j + i], params);
    } else {
      for (size_t j = 0; j < nr; j++) ci[j] += out[16 * j + i];
    }
  }
}

void xnn_f32_gemm_tail_ukernel_16x24__avx512(size_t mr, size_t nr, size_t k, const float* a, size_t a_stride,
                                             const float* b, size_t ldb, float* c, size_t ldc, const float* bias,
                                             const xnn_f32_act_params* params, uint32_t flags) {
  switch ((nr + 3) / 4) {
    case 1: tail(4, 2, mr, nr, k, a, a_stride, b, ldb, c, ldc, bias, params, flags); break;
    case 2: tail(8, 1, mr, nr, k, a, a_stride, b, ldb, c, ldc, bias, params, flags); break;
    case 3: tail(12, 1, mr, nr, k, a, a_stride, b, ldb, c, ldc, bias, params, flags); break;
    case 4: tail(16, 1, mr, nr, k, a, a_stride, b, ldb, c, ldc, bias, params, flags); break;
    case 5: tail(20, 1, mr, nr, k, a, a_stride, b, ldb, c, ldc, bias, params, flags); break;
    default: tail(24, 1, mr, nr, k, a, a_stride, b, ldb, c, ldc, bias, params, flags); break;
  }
}
