/* 6x8 GEMM tile with AVX2+FMA: the narrow tail of the 6x16 tile, two ymm accumulators per row (two K
 * steps an iteration, summed at the end): with one, each row's FMAs form one chain, whose latency held a K
 * step to 4 cycles (Zen 4: the 4-column tail of a 14x14 map, K = 512, took 68% of a full 6x16 tile's time,
 * with two chains a row 61%; its seven loads a K step then set the pace). The accumulators are named
 * variables, not an array: an array is kept on the stack. (The AVX-512 set's 8-row version went with its
 * tail tile, which does 8 columns in half the time.) */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/act.h"
#include "kernels/x86/store.h"

#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

enum { MR = 6 };

void xnn_f32_gemm_ukernel_6x8__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags) {
  __m256 c0, c1, c2, c3, c4, c5;
  const __m256i mask =
      _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(nr > 8 ? 8 : nr)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  if (flags & XNN_GEMM_ACCUMULATE) {
    /* Rows past mr alias row 0 so nothing is read outside C; their results are never stored. */
#define LOADC(i) c##i = _mm256_maskload_ps(c + (i < mr ? i : 0) * ldc, mask);
    FOR_ROWS(LOADC)
#undef LOADC
    if (flags & XNN_GEMM_ADD_BIAS) {
#define ADDB(i) c##i = _mm256_add_ps(c##i, _mm256_set1_ps(bias[i]));
      FOR_ROWS(ADDB)
#undef ADDB
    }
  } else if (bias) {
#define INITB(i) c##i = _mm256_set1_ps(bias[i]);
    FOR_ROWS(INITB)
#undef INITB
  } else {
    c0 = c1 = c2 = c3 = c4 = c5 = _mm256_setzero_ps();
  }
  __m256 d0 = _mm256_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0;
  size_t p = 0;
  for (; p + 2 <= k; p += 2) {
    const __m256 vb = _mm256_loadu_ps(b), vb1 = _mm256_loadu_ps(b + ldb);
    b += 2 * ldb;
#define STEP2(i)                                                 \
  c##i = _mm256_fmadd_ps(_mm256_broadcast_ss(a + i), vb, c##i);  \
  d##i = _mm256_fmadd_ps(_mm256_broadcast_ss(a + MR + i), vb1, d##i);
    FOR_ROWS(STEP2)
#undef STEP2
    a += 2 * MR;
  }
  if (p < k) {
    const __m256 vb = _mm256_loadu_ps(b);
#define STEP(i) c##i = _mm256_fmadd_ps(_mm256_broadcast_ss(a + i), vb, c##i);
    FOR_ROWS(STEP)
#undef STEP
  }
#define SUM(i) c##i = _mm256_add_ps(c##i, d##i);
  FOR_ROWS(SUM)
#undef SUM
  if (flags & XNN_GEMM_LAST) {
    const xnn_act_avx2 act = xnn_act_avx2_init(params);
    const int kind = xnn_act_kind(params);
#define ACT(i) c##i = xnn_act_avx2_apply(&act, c##i);
#define ACT_MAX(i) c##i = xnn_act_avx2_max(&act, c##i);
    if (kind == XNN_ACT_FULL) {
      FOR_ROWS(ACT)
    } else if (kind == XNN_ACT_MAX) {
      FOR_ROWS(ACT_MAX)
    }
#undef ACT_MAX
#undef ACT
  }
#define STORE(i) \
  if (i < mr) xnn_storeu_n_avx2(c + i * ldc, c##i, nr);
  FOR_ROWS(STORE)
#undef STORE
}
