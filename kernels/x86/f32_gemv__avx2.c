/* GEMV over packed weight panels with AVX2+FMA (MR <= 8 rows in one ymm): four K steps per iteration
 * into several accumulators, so the loop streams the panels at memory speed instead of waiting on FMAs. */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/store.h"

/* mr = 6 (the AVX2 GEMM's panels): the panel is one run of 6k floats, and four K steps are three whole
 * vectors of it, each multiplied by the inputs its lanes belong to (x0 x6, x1 x2 | x1 x4, x2 x4 | x2 x2, x3 x6,
 * two broadcasts blended). Masked 6-float loads held MobileNet v2's 1280 -> 1000 classifier, its weights
 * streamed from memory, to 10.6 GB/s on Zen 3; this runs at 18.7. */
static void gemv_6(size_t k, const float* a, const float* x, float* y) {
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, d0 = c0, d1 = c0, d2 = c0;
  size_t p = 0;
  for (; p + 8 <= k; p += 8, a += 48) {
    const __m256 x0 = _mm256_broadcast_ss(x + p), x1 = _mm256_broadcast_ss(x + p + 1);
    const __m256 x2 = _mm256_broadcast_ss(x + p + 2), x3 = _mm256_broadcast_ss(x + p + 3);
    c0 = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_blend_ps(x0, x1, 0xc0), c0);
    c1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 8), _mm256_blend_ps(x1, x2, 0xf0), c1);
    c2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 16), _mm256_blend_ps(x2, x3, 0xfc), c2);
    const __m256 x4 = _mm256_broadcast_ss(x + p + 4), x5 = _mm256_broadcast_ss(x + p + 5);
    const __m256 x6 = _mm256_broadcast_ss(x + p + 6), x7 = _mm256_broadcast_ss(x + p + 7);
    d0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 24), _mm256_blend_ps(x4, x5, 0xc0), d0);
    d1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 32), _mm256_blend_ps(x5, x6, 0xf0), d1);
    d2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + 40), _mm256_blend_ps(x6, x7, 0xfc), d2);
  }
  float t[24];
  _mm256_storeu_ps(t, _mm256_add_ps(c0, d0));
  _mm256_storeu_ps(t + 8, _mm256_add_ps(c1, d1));
  _mm256_storeu_ps(t + 16, _mm256_add_ps(c2, d2));
  for (size_t o = 0; o < 6; o++) y[o] = t[o] + t[6 + o] + t[12 + o] + t[18 + o];
  for (; p < k; p++, a += 6)
    for (size_t o = 0; o < 6; o++) y[o] += a[o] * x[p];
}

/* Any other mr up to 8 (the 8x1 tile's panels), one panel at a time. */
static void gemv_panel(size_t mr, size_t k, const float* a, const float* x, float* y) {
  if (mr > 8) {
    xnn_f32_gemv_ukernel__ref(mr, k, 1, a, 0, x, y);
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

/* mr = 6, P panels (2 to 4) at once, each read as a stream of its own: four K steps are three vectors of a
 * panel as in gemv_6, their inputs blended once for all P; 3P accumulators. A classifier's weights stream
 * from memory or L3 once per image, and the hardware prefetchers keep more of them in flight over several
 * streams: MobileNet v2's 1280 -> 1000 weights on Zen 3 from memory 21 -> 38 GB/s with four, from L3
 * 52 -> 69. One panel stays on gemv_6 (the one-column tiles' case, operands in L1): its eight K steps an
 * iteration keep six FMA chains going where this loop's three would wait on their latency. */
static inline __attribute__((always_inline)) void gemv_6xp(const size_t P, size_t k, const float* a,
                                                           size_t a_stride, const float* x, float* y) {
  __m256 c[4][3];
  for (size_t j = 0; j < P; j++) c[j][0] = c[j][1] = c[j][2] = _mm256_setzero_ps();
  size_t p = 0;
  for (; p + 4 <= k; p += 4, a += 24) {
    const __m256 x0 = _mm256_broadcast_ss(x + p), x1 = _mm256_broadcast_ss(x + p + 1);
    const __m256 x2 = _mm256_broadcast_ss(x + p + 2), x3 = _mm256_broadcast_ss(x + p + 3);
    const __m256 b0 = _mm256_blend_ps(x0, x1, 0xc0), b1 = _mm256_blend_ps(x1, x2, 0xf0);
    const __m256 b2 = _mm256_blend_ps(x2, x3, 0xfc);
    for (size_t j = 0; j < P; j++) {
      c[j][0] = _mm256_fmadd_ps(_mm256_loadu_ps(a + j * a_stride), b0, c[j][0]);
      c[j][1] = _mm256_fmadd_ps(_mm256_loadu_ps(a + j * a_stride + 8), b1, c[j][1]);
      c[j][2] = _mm256_fmadd_ps(_mm256_loadu_ps(a + j * a_stride + 16), b2, c[j][2]);
    }
  }
  for (size_t j = 0; j < P; j++) {
    float t[24];
    _mm256_storeu_ps(t, c[j][0]);
    _mm256_storeu_ps(t + 8, c[j][1]);
    _mm256_storeu_ps(t + 16, c[j][2]);
    for (size_t o = 0; o < 6; o++) y[6 * j + o] = t[o] + t[6 + o] + t[12 + o] + t[18 + o];
    const float* aj = a + j * a_stride;
    for (size_t q = p; q < k; q++, aj += 6)
      for (size_t o = 0; o < 6; o++) y[6 * j + o] += aj[o] * x[q];
  }
}

void xnn_f32_gemv_ukernel__avx2(size_t mr, size_t k, size_t panels, const float* a, size_t a_stride,
                                const float* x, float* y) {
  if (mr == 6) {
    switch (panels) {
      case 1: gemv_6(k, a, x, y); return;
      case 2: gemv_6xp(2, k, a, a_stride, x, y); return;
      case 3: gemv_6xp(3, k, a, a_stride, x, y); return;
      default: gemv_6xp(4, k, a, a_stride, x, y); return;
    }
  }
  for (size_t j = 0; j < panels; j++) gemv_panel(mr, k, a + j * a_stride, x, y + j * mr);
}

void xnn_f32_gemm_ukernel_6x1__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags) {
  float acc[8];
  xnn_f32_gemm_1col_sums(xnn_f32_gemv_ukernel__avx2, 6, k, a, b, ldb, acc);
  if ((flags & XNN_GEMM_ADD_BIAS) && (flags & XNN_GEMM_ACCUMULATE))
    for (size_t i = 0; i < 6; i++) acc[i] += bias[i];
  xnn_f32_gemm_1col_store(mr, acc, c, ldc, bias, params, flags);
}

void xnn_f32_gemm_ukernel_8x1__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags) {
  float acc[8];
  xnn_f32_gemm_1col_sums(xnn_f32_gemv_ukernel__avx2, 8, k, a, b, ldb, acc);
  /* As the 6x1 tile: both sets' tiles honour XNN_GEMM_ADD_BIAS (1col_store, shared with every set, adds
   * no bias when accumulating). */
  if ((flags & XNN_GEMM_ADD_BIAS) && (flags & XNN_GEMM_ACCUMULATE))
    for (size_t i = 0; i < 8; i++) acc[i] += bias[i];
  xnn_f32_gemm_1col_store(mr, acc, c, ldc, bias, params, flags);
}
