/* Portable kernels of the SpMM family, one channel and blocks of four a tile: the fallback where a set
 * has no kernel of its own and the oracle the fast kernels are tested against. Eight pixels per tile in two GNU C
 * vectors (SSE or NEON registers): compilers neither vectorize an accumulator array carried across the
 * nonzeros' loop nor keep a branch-free epilogue branch-free, and random signs mispredict half the
 * branches. The pixels past the last full tile go one at a time. */
#include <string.h>

#include "kernels/spmm.h"

typedef float f32x4 __attribute__((vector_size(16), aligned(4), may_alias));
typedef int32_t i32x4 __attribute__((vector_size(16)));

static inline f32x4 select4(i32x4 mask, f32x4 a, f32x4 b) { return (f32x4)(((i32x4)a & mask) | ((i32x4)b & ~mask)); }

/* xnn_f32_act_apply on four lanes, with the same result for every number. */
static inline f32x4 act4(f32x4 v, const xnn_f32_act_params* p) {
  const f32x4 zero = {0}, pos = select4(v > zero, v, zero);
  v = pos + (v - pos) * p->slope;
  v = select4(v < p->min, zero + p->min, v);
  return select4(v > p->max, zero + p->max, v);
}

/* One tile of 8 pixels at `in`. Not inlined: with the pixel offset folded into `in` an input row's
 * address is one multiply-add (compilers fold the offset back into the index otherwise). */
static __attribute__((noinline)) void tile8(size_t channels, const float* in, size_t row_bytes, const float* w,
                                            const uint32_t* r, const uint32_t* nnz, float* out, size_t out_stride,
                                            const float* residual, const xnn_f32_act_params* params) {
  for (size_t o = 0; o < channels; o++) {
    f32x4 lo = (f32x4){0} + *w++, hi = lo;
    for (uint32_t j = nnz[o]; j; j--) {
      const f32x4* x = (const f32x4*)((const char*)in + *r++ * row_bytes);
      lo += *w * x[0];
      hi += *w++ * x[1];
    }
    f32x4* y = (f32x4*)(out + o * out_stride);
    if (residual) {
      const f32x4* s = (const f32x4*)(residual + o * out_stride);
      lo += s[0];
      hi += s[1];
    }
    y[0] = act4(lo, params);
    y[1] = act4(hi, params);
  }
}

void xnn_f32_spmm_ukernel_8x1__ref(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                   const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                   size_t out_stride, const float* residual, const xnn_f32_act_params* params) {
  size_t p = 0;
  for (; p + 8 <= pixels; p += 8)
    tile8(channels, in + p, in_stride * sizeof(float), weights, rows, nnz, out + p, out_stride,
          residual ? residual + p : NULL, params);
  for (; p < pixels; p++) {
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o++) {
      float acc = *w++;
      for (uint32_t j = nnz[o]; j; j--) acc += *w++ * in[(size_t)*r++ * in_stride + p];
      const size_t at = o * out_stride + p;
      out[at] = xnn_f32_act_apply(acc + (residual ? residual[at] : 0.0f), params);
    }
  }
}

/* One tile of 8 pixels x blocks of 4 channels: each input row loaded feeds the block's four channels. */
static __attribute__((noinline)) void tile8x4(size_t channels, const float* in, size_t row_bytes, const float* w,
                                              const uint32_t* r, const uint32_t* nnz, float* out, size_t out_stride,
                                              const float* residual, const xnn_f32_act_params* params) {
  for (size_t o = 0; o < channels; o += 4) {
    f32x4 lo[4], hi[4];
    for (int c = 0; c < 4; c++) lo[c] = hi[c] = (f32x4){0} + w[c];
    w += 4;
    for (uint32_t j = nnz[o / 4]; j; j--, w += 4) {
      const f32x4* x = (const f32x4*)((const char*)in + *r++ * row_bytes);
      const f32x4 x0 = x[0], x1 = x[1];
      for (int c = 0; c < 4; c++) {
        lo[c] += w[c] * x0;
        hi[c] += w[c] * x1;
      }
    }
    for (int c = 0; c < 4; c++) {
      f32x4* y = (f32x4*)(out + (o + c) * out_stride);
      if (residual) {
        const f32x4* s = (const f32x4*)(residual + (o + c) * out_stride);
        lo[c] += s[0];
        hi[c] += s[1];
      }
      y[0] = act4(lo[c], params);
      y[1] = act4(hi[c], params);
    }
  }
}

void xnn_f32_spmm_ukernel_8x4__ref(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                   const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                   size_t out_stride, const float* residual, const xnn_f32_act_params* params) {
  size_t p = 0;
  for (; p + 8 <= pixels; p += 8)
    tile8x4(channels, in + p, in_stride * sizeof(float), weights, rows, nnz, out + p, out_stride,
            residual ? residual + p : NULL, params);
  for (; p < pixels; p++) {
    const float* w = weights;
    const uint32_t* r = rows;
    for (size_t o = 0; o < channels; o += 4) {
      float acc[4] = {w[0], w[1], w[2], w[3]};
      w += 4;
      for (uint32_t j = nnz[o / 4]; j; j--, w += 4) {
        const float x = in[(size_t)*r++ * in_stride + p];
        for (int c = 0; c < 4; c++) acc[c] += w[c] * x;
      }
      for (size_t c = 0; c < 4; c++) {
        const size_t at = (o + c) * out_stride + p;
        out[at] = xnn_f32_act_apply(acc[c] + (residual ? residual[at] : 0.0f), params);
      }
    }
  }
}

size_t xnn_pack_f32_spmm(size_t m, size_t k, const float* w, const float* bias, float* values, uint32_t* rows,
                         uint32_t* nnz) {
  size_t total = 0;
  for (size_t o = 0; o < m; o++) {
    *values++ = bias ? bias[o] : 0.0f;
    const size_t first = total;
    for (size_t i = 0; i < k; i++) {
      if (w[o * k + i] == 0.0f) continue;
      *values++ = w[o * k + i];
      rows[total++] = (uint32_t)i;
    }
    nnz[o] = (uint32_t)(total - first);
  }
  return total;
}

static int column_used(const float* w, size_t k, size_t block, size_t i) {
  for (size_t c = 0; c < block; c++)
    if (w[c * k + i] != 0.0f) return 1;
  return 0;
}

size_t xnn_f32_spmm_block_columns(size_t m, size_t k, size_t block, const float* w) {
  size_t columns = 0;
  for (size_t o = 0; o < m; o += block)
    for (size_t i = 0; i < k; i++) columns += column_used(w + o * k, k, block, i);
  return columns;
}

size_t xnn_pack_f32_spmm_blocked(size_t m, size_t k, size_t block, const float* w, const float* bias, float* values,
                                 uint32_t* rows, uint32_t* nnz) {
  size_t total = 0;
  for (size_t o = 0; o < m; o += block) {
    for (size_t c = 0; c < block; c++) *values++ = bias ? bias[o + c] : 0.0f;
    const size_t first = total;
    for (size_t i = 0; i < k; i++) {
      if (!column_used(w + o * k, k, block, i)) continue;
      for (size_t c = 0; c < block; c++) *values++ = w[(o + c) * k + i];
      rows[total++] = (uint32_t)i;
    }
    nnz[o / block] = (uint32_t)(total - first);
  }
  return total;
}
