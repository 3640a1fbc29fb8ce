/* GEMV over one packed weight panel with AVX2+FMA (MR <= 8 rows in one ymm): four K steps per iteration
 * into four accumulators, so the loop streams the panel at memory speed instead of waiting on FMAs. */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/store.h"

void xnn_f32_gemv_ukernel__avx2(size_t mr, size_t k, const float* a, const float* x, float* y) {
  if (mr > 8) {
    xnn_f32_gemv_ukernel__ref(mr, k, a, x, y);
    return;
  }
  const __m256i mask =
      _mm256_cmpgt_epi32(_mm256_set1_epi32((int)mr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
  size_t p = 0;
  if (mr == 8) {
    for (; p + 4 <= k; p += 4, a += 32) {
      c0 = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_broadcast_ss(x + p), c0);
      c1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 8), _mm256_broadcast_ss(x + p + 1), c1);
      c2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 16), _mm256_broadcast_ss(x + p + 2), c2);
      c3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 24), _mm256_broadcast_ss(x + p + 3), c3);
    }
  } else {
    for (; p + 4 <= k; p += 4, a += 4 * mr) {
      c0 = _mm256_fmadd_ps(_mm256_maskload_ps(a, mask), _mm256_broadcast_ss(x + p), c0);
      c1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + mr, mask), _mm256_broadcast_ss(x + p + 1), c1);
      c2 = _mm256_fmadd_ps(_mm256_maskload_ps(a + 2 * mr, mask), _mm256_broadcast_ss(x + p + 2), c2);
      c3 = _mm256_fmadd_ps(_mm256_maskload_ps(a + 3 * mr, mask), _mm256_broadcast_ss(x + p + 3), c3);
    }
  }
  for (; p < k; p++, a += mr) c0 = _mm256_fmadd_ps(_mm256_maskload_ps(a, mask), _mm256_broadcast_ss(x + p), c0);
  xnn_storeu_n_avx2(y, _mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)), mr);
}

void xnn_f32_gemm_ukernel_6x1__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags) {
  float acc[8];
  xnn_f32_gemm_1col_sums(xnn_f32_gemv_ukernel__avx2, 6, k, a, b, ldb, acc);
  xnn_f32_gemm_1col_store(mr, acc, c, ldc, bias, params, flags);
}

void xnn_f32_gemm_ukernel_8x1__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags) {
  float acc[8];
  xnn_f32_gemm_1col_sums(xnn_f32_gemv_ukernel__avx2, 8, k, a, b, ldb, acc);
  /* The one-column tile of the AVX-512 config, whose tiles honour XNN_GEMM_ADD_BIAS (1col_store, shared
   * with every set, adds no bias when accumulating). */
  if ((flags & XNN_GEMM_ADD_BIAS) && (flags & XNN_GEMM_ACCUMULATE))
    for (size_t i = 0; i < 8; i++) acc[i] += bias[i];
  xnn_f32_gemm_1col_store(mr, acc, c, ldc, bias, params, flags);
}
