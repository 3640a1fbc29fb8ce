/* 16x1 SpMM tile with AVX2+FMA: 16 pixels of one output channel in two ymm, accumulated in two chains
 * (even and odd nonzeros) so that the FMA latency is covered. The last pixels go 8 at a time with a
 * mask. A single pixel (a fully connected layer's item) would leave 7 lanes of every FMA empty: there the
 * inputs of 8 nonzeros are gathered into one ymm instead. */
#include <immintrin.h>

#include "kernels/spmm.h"
#include "kernels/x86/act.h"
#include "kernels/x86/store.h"

static __m256i first_lanes(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 8 ? n : 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static float dot_gather(size_t n, const float* w, const uint32_t* r, const float* x, size_t stride) {
  const __m256i k = _mm256_set1_epi32((int)stride);
  __m256 a = _mm256_setzero_ps(), b = a;
  for (; n >= 16; n -= 16, w += 16, r += 16) {
    const __m256i i = _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i*)r), k);
    const __m256i j = _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i*)(r + 8)), k);
    a = _mm256_fmadd_ps(_mm256_i32gather_ps(x, i, 4), _mm256_loadu_ps(w), a);
    b = _mm256_fmadd_ps(_mm256_i32gather_ps(x, j, 4), _mm256_loadu_ps(w + 8), b);
  }
  while (n) {
    const size_t c = n < 8 ? n : 8;
    const __m256i m = first_lanes(c);
    const __m256i i = _mm256_mullo_epi32(_mm256_maskload_epi32((const int*)r, m), k);
    const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), x, i, _mm256_castsi256_ps(m), 4);
    a = _mm256_fmadd_ps(v, _mm256_maskload_ps(w, m), a);
    n -= c, w += c, r += c;
  }
  const __m256 s = _mm256_add_ps(a, b);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

void xnn_f32_spmm_ukernel_16x1__avx2(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                     const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                     size_t out_stride, const float* residual, const xnn_f32_act_params* params) {
  const xnn_act_avx2 act = xnn_act_avx2_init(params);
  size_t p = 0;
  for (; p + 16 <= pixels; p += 16) {
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o++) {
      __m256 a0 = _mm256_broadcast_ss(w++), a1 = a0, b0 = _mm256_setzero_ps(), b1 = b0;
      size_t n = nnz[o];
      for (; n >= 2; n -= 2, w += 2, r += 2) {
        const float* x = in + (size_t)r[0] * in_stride + p;
        const float* y = in + (size_t)r[1] * in_stride + p;
        const __m256 u = _mm256_broadcast_ss(w), v = _mm256_broadcast_ss(w + 1);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), u, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), u, a1);
        b0 = _mm256_fmadd_ps(_mm256_loadu_ps(y), v, b0);
        b1 = _mm256_fmadd_ps(_mm256_loadu_ps(y + 8), v, b1);
      }
      if (n) {
        const float* x = in + (size_t)*r++ * in_stride + p;
        const __m256 u = _mm256_broadcast_ss(w++);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), u, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), u, a1);
      }
      a0 = _mm256_add_ps(a0, b0);
      a1 = _mm256_add_ps(a1, b1);
      if (residual) {
        const float* s = residual + o * out_stride + p;
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(s));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(s + 8));
      }
      float* y = out + o * out_stride + p;
      _mm256_storeu_ps(y, xnn_act_avx2_apply(&act, a0));
      _mm256_storeu_ps(y + 8, xnn_act_avx2_apply(&act, a1));
    }
  }
  for (; p < pixels; p += 8) {
    const __m256i m = first_lanes(pixels - p);
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o++) {
      const float bias = *w++;
      const size_t n = nnz[o];
      float* y = out + o * out_stride + p;
      const float* s = residual ? residual + o * out_stride + p : NULL;
      if (pixels - p == 1) {
        *y = xnn_f32_act_apply(bias + dot_gather(n, w, r, in + p, in_stride) + (s ? *s : 0.0f), params);
        w += n, r += n;
        continue;
      }
      __m256 a = _mm256_set1_ps(bias), b = _mm256_setzero_ps();
      size_t j = n;
      for (; j >= 2; j -= 2, w += 2, r += 2) {
        a = _mm256_fmadd_ps(_mm256_maskload_ps(in + (size_t)r[0] * in_stride + p, m), _mm256_broadcast_ss(w), a);
        b = _mm256_fmadd_ps(_mm256_maskload_ps(in + (size_t)r[1] * in_stride + p, m), _mm256_broadcast_ss(w + 1), b);
      }
      if (j) a = _mm256_fmadd_ps(_mm256_maskload_ps(in + (size_t)*r++ * in_stride + p, m), _mm256_broadcast_ss(w++), a);
      a = _mm256_add_ps(a, b);
      if (s) a = _mm256_add_ps(a, _mm256_maskload_ps(s, m));
      xnn_storeu_n_avx2(y, xnn_act_avx2_apply(&act, a), pixels - p);
    }
  }
}
