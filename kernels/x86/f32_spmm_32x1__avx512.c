/* 32x1 SpMM tile with AVX-512F: 32 pixels of one output channel in two zmm, accumulated in four chains
 * (nonzeros 4i to 4i+3): eight accumulators cover the FMA latency of two 512-bit pipes (Zen 5, MobileNet
 * v1's 1x1 layers at 80% zeros against two chains: 28x28 to 112x112 maps 5-13% faster, 14x14 level, 7x7
 * 5% slower). The last 17 to 31 pixels go the same way with masks, 16 or fewer in one zmm. A single
 * pixel (a fully connected layer's item) would leave 15 lanes of every FMA empty: there the inputs of 16
 * nonzeros are gathered into one zmm instead. */
#include <immintrin.h>

#include "kernels/spmm.h"
#include "kernels/x86/act.h"

static float dot_gather(size_t n, const float* w, const uint32_t* r, const float* x, size_t stride) {
  const __m512i s = _mm512_set1_epi32((int)stride);
  __m512 a = _mm512_setzero_ps(), b = a;
  for (; n >= 32; n -= 32, w += 32, r += 32) {
    const __m512i i = _mm512_mullo_epi32(_mm512_loadu_si512(r), s);
    const __m512i j = _mm512_mullo_epi32(_mm512_loadu_si512(r + 16), s);
    a = _mm512_fmadd_ps(_mm512_i32gather_ps(i, x, 4), _mm512_loadu_ps(w), a);
    b = _mm512_fmadd_ps(_mm512_i32gather_ps(j, x, 4), _mm512_loadu_ps(w + 16), b);
  }
  while (n) {
    const size_t c = n < 16 ? n : 16;
    const __mmask16 m = (__mmask16)((1u << c) - 1);
    const __m512i i = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m, r), s);
    a = _mm512_fmadd_ps(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, i, x, 4), _mm512_maskz_loadu_ps(m, w), a);
    n -= c, w += c, r += c;
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a, b));
}

static __mmask16 first_lanes(size_t n) { return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1); }

void xnn_f32_spmm_ukernel_32x1__avx512(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                       const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                       size_t out_stride, const float* residual, const xnn_f32_act_params* params) {
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  size_t p = 0;
  for (; p + 16 < pixels; p += 32) {
    const __mmask16 m = first_lanes(pixels - p - 16);
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o++) {
      __m512 a0 = _mm512_set1_ps(*w++), a1 = a0, b0 = _mm512_setzero_ps(), b1 = b0, c0 = b0, c1 = b0, d0 = b0, d1 = b0;
      size_t n = nnz[o];
      for (; n >= 4; n -= 4, w += 4, r += 4) {
        const float* x = in + (size_t)r[0] * in_stride + p;
        const float* y = in + (size_t)r[1] * in_stride + p;
        const float* z = in + (size_t)r[2] * in_stride + p;
        const float* v = in + (size_t)r[3] * in_stride + p;
        const __m512 wx = _mm512_set1_ps(w[0]), wy = _mm512_set1_ps(w[1]);
        const __m512 wz = _mm512_set1_ps(w[2]), wv = _mm512_set1_ps(w[3]);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), wx, a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + 16), wx, a1);
        b0 = _mm512_fmadd_ps(_mm512_loadu_ps(y), wy, b0);
        b1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, y + 16), wy, b1);
        c0 = _mm512_fmadd_ps(_mm512_loadu_ps(z), wz, c0);
        c1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, z + 16), wz, c1);
        d0 = _mm512_fmadd_ps(_mm512_loadu_ps(v), wv, d0);
        d1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, v + 16), wv, d1);
      }
      for (; n >= 2; n -= 2, w += 2, r += 2) {
        const float* x = in + (size_t)r[0] * in_stride + p;
        const float* y = in + (size_t)r[1] * in_stride + p;
        const __m512 u = _mm512_set1_ps(w[0]), v = _mm512_set1_ps(w[1]);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), u, a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + 16), u, a1);
        b0 = _mm512_fmadd_ps(_mm512_loadu_ps(y), v, b0);
        b1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, y + 16), v, b1);
      }
      if (n) {
        const float* x = in + (size_t)*r++ * in_stride + p;
        const __m512 u = _mm512_set1_ps(*w++);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), u, a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + 16), u, a1);
      }
      a0 = _mm512_add_ps(_mm512_add_ps(a0, b0), _mm512_add_ps(c0, d0));
      a1 = _mm512_add_ps(_mm512_add_ps(a1, b1), _mm512_add_ps(c1, d1));
      if (residual) {
        const float* s = residual + o * out_stride + p;
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(s));
        a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(m, s + 16));
      }
      float* y = out + o * out_stride + p;
      _mm512_storeu_ps(y, xnn_act_avx512_apply(&act, a0));
      _mm512_mask_storeu_ps(y + 16, m, xnn_act_avx512_apply(&act, a1));
    }
  }
  if (p >= pixels) return;
  const __mmask16 m = first_lanes(pixels - p);
  const float* w = weights;
  const uint32_t* r = rows;
  for (size_t o = 0; o < channels; o++) {
    const float bias = *w++;
    const size_t n = nnz[o];
    float* y = out + o * out_stride + p;
    const float* s = residual ? residual + o * out_stride + p : NULL;
    if (m == 1) {
      *y = xnn_f32_act_apply(bias + dot_gather(n, w, r, in + p, in_stride) + (s ? *s : 0.0f), params);
      w += n, r += n;
      continue;
    }
    __m512 a = _mm512_set1_ps(bias), b = _mm512_setzero_ps();
    size_t j = n;
    for (; j >= 2; j -= 2, w += 2, r += 2) {
      a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, in + (size_t)r[0] * in_stride + p), _mm512_set1_ps(w[0]), a);
      b = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, in + (size_t)r[1] * in_stride + p), _mm512_set1_ps(w[1]), b);
    }
    if (j) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, in + (size_t)*r++ * in_stride + p), _mm512_set1_ps(*w++), a);
    a = _mm512_add_ps(a, b);
    if (s) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, s));
    _mm512_mask_storeu_ps(y, m, xnn_act_avx512_apply(&act, a));
  }
}
