/* Winograd F(4x4, 3x3) transforms with NEON intrinsics, 4 tiles per vector (one tile per lane). The
 * matrices are the family's (points 0, 1, -1, 1/2, -2, infinity; see kernels/ref/f32_wino43_ref.c).
 * Input: LD4 splits 16 floats of a patch row into the column phases x = 4t + c of 4 tiles; phases 4 and 5
 * are phases 0 and 1 of the next 4 tiles, one lane over. Output: ST4 interleaves the 4 columns of each
 * output row back into 16 floats. (Intrinsics: the transforms are not among the families shipped as
 * assembly.)
 * Both transforms pass through a 4x6 or 6x6 block of vectors on the stack, one loop over its columns and
 * one over its rows: the whole 6x6 block in registers needs more than the 32 NEON registers, and GCC's
 * fully unrolled version spilled it piecemeal (about 2.5x the instructions on cortex-a72). */
#include <arm_neon.h>

#include "kernels/winograd.h"

/* r = B^T applied to (d0..d5). */
static inline void bt6(float32x4_t d0, float32x4_t d1, float32x4_t d2, float32x4_t d3, float32x4_t d4,
                       float32x4_t d5, float32x4_t r[6]) {
  r[0] = vaddq_f32(vfmaq_n_f32(vaddq_f32(d0, d4), vsubq_f32(d3, d1), 1.5f), vmulq_n_f32(d2, -2.0f));
  r[1] = vaddq_f32(vfmaq_n_f32(vsubq_f32(d4, d1), d2, 0.5f), vmulq_n_f32(d3, 2.5f));
  r[2] = vaddq_f32(vfmaq_n_f32(vaddq_f32(d4, d1), d3, 0.5f), vmulq_n_f32(d2, -2.5f));
  r[3] = vfmaq_n_f32(vsubq_f32(d4, d2), vsubq_f32(d3, d1), 2.0f);
  r[4] = vfmaq_n_f32(vsubq_f32(d4, d2), vsubq_f32(d1, d3), 0.5f);
  r[5] = vaddq_f32(vfmaq_n_f32(vaddq_f32(d1, d5), vsubq_f32(d4, d2), 1.5f), vmulq_n_f32(d3, -2.0f));
}

/* r = A^T applied to (m0..m5). */
static inline void at6(float32x4_t m0, float32x4_t m1, float32x4_t m2, float32x4_t m3, float32x4_t m4,
                       float32x4_t m5, float32x4_t r[4]) {
  const float32x4_t a = vaddq_f32(m1, m2), b = vsubq_f32(m1, m2);
  r[0] = vaddq_f32(vaddq_f32(m0, a), vaddq_f32(m3, m4));
  r[1] = vfmaq_n_f32(vfmaq_n_f32(b, m4, -2.0f), m3, 0.5f);
  r[2] = vfmaq_n_f32(vfmaq_n_f32(a, m4, 4.0f), m3, 0.25f);
  r[3] = vaddq_f32(vfmaq_n_f32(vfmaq_n_f32(b, m4, -8.0f), m3, 0.125f), m5);
}

/* The first n (1-3) lanes of v to o. */
static inline void store_lanes(float* o, float32x4_t v, size_t n) {
  if (n & 2) {
    vst1_f32(o, vget_low_f32(v));
    if (n & 1) vst1q_lane_f32(o + 2, v, 2);
  } else {
    vst1q_lane_f32(o, v, 0);
  }
}

void xnn_f32_wino43_input__neon(const float* in, size_t in_stride, size_t tiles, float* out, size_t out_stride) {
  for (size_t t0 = 0; t0 < tiles; t0 += 4) {
    const float* p = in + 4 * t0;
    float32x4_t t[6][6]; /* t = (rows of d) B */
#pragma GCC unroll 1
    for (int r = 0; r < 6; r++) {
      const float* row = p + (size_t)r * in_stride;
      const float32x4x4_t a = vld4q_f32(row);      /* columns 4t + c, c = 0..3 */
      const float32x4x4_t b = vld4q_f32(row + 16); /* the next 4 tiles' */
      bt6(a.val[0], a.val[1], a.val[2], a.val[3], vextq_f32(a.val[0], b.val[0], 1), vextq_f32(a.val[1], b.val[1], 1),
          t[r]);
    }
    const size_t n = tiles - t0 < 4 ? tiles - t0 : 4;
    float* o = out + t0;
#pragma GCC unroll 1
    for (int j = 0; j < 6; j++, o += out_stride) {
      float32x4_t v[6];
      bt6(t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j], v);
      for (int i = 0; i < 6; i++) {
        if (n == 4)
          vst1q_f32(o + (size_t)6 * i * out_stride, v[i]);
        else
          store_lanes(o + (size_t)6 * i * out_stride, v[i], n);
      }
    }
  }
}

void xnn_f32_wino43_output__neon(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                 size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params) {
  const float32x4_t vb = vdupq_n_f32(bias), slope = vdupq_n_f32(params->slope);
  const float32x4_t lo = vdupq_n_f32(params->min), hi = vdupq_n_f32(params->max), zero = vdupq_n_f32(0.0f);
  const int leaky = params->slope != 1.0f; /* a fused ReLU arrives as slope 1 with min 0 */
  const int clamp_hi = params->max != INFINITY;
  for (size_t t0 = 0; t0 < tiles; t0 += 4) {
    const size_t col0 = 4 * t0;
    if (col0 >= cols) break;
    float32x4_t t[4][6]; /* t = A^T M */
    const float* mj = m + t0;
#pragma GCC unroll 1
    for (int j = 0; j < 6; j++, mj += m_stride) {
      float32x4_t c[6], o[4];
      for (int r = 0; r < 6; r++) c[r] = vld1q_f32(mj + (size_t)6 * r * m_stride);
      at6(c[0], c[1], c[2], c[3], c[4], c[5], o);
      for (int i = 0; i < 4; i++) t[i][j] = o[i];
    }
    const size_t ncols = cols - col0 < 16 ? cols - col0 : 16;
    for (size_t i = 0; i < rows; i++) {
      float32x4x4_t y;
      float32x4_t r[4];
      /* (Adding the bias once to m1, which every row of A^T weighs by 1, is 3 instructions fewer a row,
       * but rounds differently from the other sets: ResNet-50 moved from 0.90 to 0.96 of the AArch64
       * test's 1e-4 bound.) */
      at6(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], r);
      for (int k = 0; k < 4; k++) r[k] = vaddq_f32(r[k], vb);
      if (leaky)
        for (int k = 0; k < 4; k++) r[k] = vfmaq_f32(vmaxq_f32(r[k], zero), vminq_f32(r[k], zero), slope);
      for (int k = 0; k < 4; k++) y.val[k] = vmaxq_f32(r[k], lo);
      if (clamp_hi)
        for (int k = 0; k < 4; k++) y.val[k] = vminq_f32(y.val[k], hi);
      float* o = out + i * out_stride + col0;
      if (ncols == 16) {
        vst4q_f32(o, y); /* columns 0-3 of tile 0, then tile 1, ... */
      } else {
        float buf[16];
        vst4q_f32(buf, y);
        size_t k = 0;
        for (; k + 4 <= ncols; k += 4) vst1q_f32(o + k, vld1q_f32(buf + k));
        if (k < ncols) store_lanes(o + k, vld1q_f32(buf + k), ncols - k);
      }
    }
  }
}
