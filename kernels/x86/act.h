/* The activation epilogue of params.h in AVX2 and AVX-512 registers, shared by the x86 kernels.
 * Include after <immintrin.h>; the AVX-512 half exists only where the file is compiled for it. */
#pragma once
#include <immintrin.h>

#include "kernels/params.h"

/* What an epilogue must do to each vector: a fused ReLU (slope 1, min 0, max +inf) needs one max, a plain
 * product (a linear layer, a residual sum) nothing. The GEMM tiles branch on it once per call: on Zen 4, at
 * K = 16 with its operands in L1, the 8x48 tile's max and min over its 24 accumulators cost 6% of the call,
 * the max alone 3% (MobileNet v2's expand layers, K = 16 to 144, 1-3% faster). */
enum { XNN_ACT_NONE, XNN_ACT_MAX, XNN_ACT_FULL };

static inline int xnn_act_kind(const xnn_f32_act_params* p) {
  if (p->slope != 1.0f || p->max != INFINITY) return XNN_ACT_FULL;
  return p->min != -INFINITY ? XNN_ACT_MAX : XNN_ACT_NONE;
}

typedef struct xnn_act_avx2 {
  __m256 slope, lo, hi;
  int leaky;
} xnn_act_avx2;

static inline xnn_act_avx2 xnn_act_avx2_init(const xnn_f32_act_params* p) {
  xnn_act_avx2 a = {_mm256_set1_ps(p->slope), _mm256_set1_ps(p->min), _mm256_set1_ps(p->max), p->slope != 1.0f};
  return a;
}

static inline __m256 xnn_act_avx2_max(const xnn_act_avx2* a, __m256 v) { return _mm256_max_ps(v, a->lo); }

static inline __m256 xnn_act_avx2_apply(const xnn_act_avx2* a, __m256 v) {
  if (a->leaky) {
    const __m256 zero = _mm256_setzero_ps();
    v = _mm256_add_ps(_mm256_max_ps(v, zero), _mm256_mul_ps(_mm256_min_ps(v, zero), a->slope));
  }
  return _mm256_min_ps(_mm256_max_ps(v, a->lo), a->hi);
}

#ifdef __AVX512F__
typedef struct xnn_act_avx512 {
  __m512 slope, lo, hi;
  int leaky;
} xnn_act_avx512;

static inline xnn_act_avx512 xnn_act_avx512_init(const xnn_f32_act_params* p) {
  xnn_act_avx512 a = {_mm512_set1_ps(p->slope), _mm512_set1_ps(p->min), _mm512_set1_ps(p->max), p->slope != 1.0f};
  return a;
}

static inline __m512 xnn_act_avx512_max(const xnn_act_avx512* a, __m512 v) { return _mm512_max_ps(v, a->lo); }

static inline __m512 xnn_act_avx512_apply(const xnn_act_avx512* a, __m512 v) {
  if (a->leaky) {
    const __m512 zero = _mm512_setzero_ps();
    v = _mm512_add_ps(_mm512_max_ps(v, zero), _mm512_mul_ps(_mm512_min_ps(v, zero), a->slope));
  }
  return _mm512_min_ps(_mm512_max_ps(v, a->lo), a->hi);
}
#endif
