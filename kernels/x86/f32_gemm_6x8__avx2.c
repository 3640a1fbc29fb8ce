/* 6x8 GEMM tile with AVX2+FMA: one ymm accumulator per row, the narrow tail of the 6x16 tile. The
 * accumulators are named variables, not an array: an array is kept on the stack. (The AVX-512 set's
 * 8-row version went with its tail tile, which does 8 columns in half the time.) */
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
  for (size_t p = 0; p < k; p++) {
    const __m256 vb = _mm256_loadu_ps(b);
    b += ldb;
#define STEP(i) c##i = _mm256_fmadd_ps(_mm256_broadcast_ss(a + i), vb, c##i);
    FOR_ROWS(STEP)
#undef STEP
    a += MR;
  }
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
