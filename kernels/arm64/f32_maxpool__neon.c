/* Max pooling on a -INF padded plane with NEON intrinsics, 4 outputs per vector; stride 2 splits even
 * and odd columns with LD2. (Intrinsics: pooling is not one of the families shipped as assembly.)
 * The most common window, 3x3 stride 2 (SqueezeNet, ResNet, GoogLeNet, AlexNet), has a loop of its
 * own: 9 loads, 6 EXT and 16 max per 8 outputs instead of ~25 instructions per output of the generic
 * loops (SqueezeNet 1.1's pools: 8.7 M instructions on cortex-a72, then 2.6 M with 4 outputs a step). */
#include <arm_neon.h>
#include <math.h>

#include "kernels/pool.h"

/* Any window, stride 1 or 2; output rows out_stride floats apart. */
static void maxpool(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in, size_t in_stride,
                    float* out, size_t out_stride) {
  for (size_t oy = 0; oy < oh; oy++) {
    float* o = out + oy * out_stride;
    const float* row = in + oy * stride * in_stride;
    size_t ox = 0;
    for (; ox + 4 <= ow; ox += 4) {
      float32x4_t acc = vdupq_n_f32(-INFINITY);
      for (size_t ky = 0; ky < kh; ky++) {
        const float* r = row + ky * in_stride + ox * stride;
        if (stride == 1) {
          for (size_t kx = 0; kx < kw; kx++) acc = vmaxq_f32(acc, vld1q_f32(r + kx));
        } else {
          for (size_t kx = 0; kx < kw; kx += 2) {
            const float32x4x2_t v = vld2q_f32(r + kx); /* columns kx, kx+2, ... and kx+1, kx+3, ... */
            acc = vmaxq_f32(acc, v.val[0]);
            if (kx + 1 < kw) acc = vmaxq_f32(acc, v.val[1]);
          }
        }
      }
      vst1q_f32(o + ox, acc);
    }
    for (; ox < ow; ox++) {
      float m = -INFINITY;
      for (size_t ky = 0; ky < kh; ky++) {
        const float* r = row + ky * in_stride + ox * stride;
        for (size_t kx = 0; kx < kw; kx++) m = r[kx] > m ? r[kx] : m;
      }
      o[ox] = m;
    }
  }
}

/* Max of one window row for 8 outputs: LD2 splits columns 0-15 into evens and odds, and columns 2, 4,
 * ..., 16 are the evens shifted by one lane (EXT with the next evens, then with column 16): 3 loads for
 * 8 outputs where 4 outputs took two LD2, the second for its evens 2-8. */
static inline void max3s2(const float* r, float32x4_t* lo, float32x4_t* hi) {
  const float32x4x2_t a = vld2q_f32(r), b = vld2q_f32(r + 8);
  const float32x4_t c = vld1q_f32(r + 16); /* column 16 in lane 0 */
  *lo = vmaxq_f32(vmaxq_f32(a.val[0], a.val[1]), vextq_f32(a.val[0], b.val[0], 1));
  *hi = vmaxq_f32(vmaxq_f32(b.val[0], b.val[1]), vextq_f32(b.val[0], c, 1));
}

/* 3x3 stride 2, 8 outputs per step with all three window rows unrolled; the last 1-7 outputs of a row
 * are a whole step too (its reads stay within the XNN_POOL_EXTRA floats a kernel may read past a row),
 * of which only the real lanes are stored. */
static void maxpool_3x3s2(size_t oh, size_t ow, const float* in, size_t in_stride, float* out) {
  for (size_t oy = 0; oy < oh; oy++) {
    const float* r0 = in + 2 * oy * in_stride;
    const float *r1 = r0 + in_stride, *r2 = r1 + in_stride;
    float* o = out + oy * ow;
    for (size_t n = ow;; n -= 8, r0 += 16, r1 += 16, r2 += 16, o += 8) {
      float32x4_t l0, h0, l1, h1, l2, h2;
      max3s2(r0, &l0, &h0);
      max3s2(r1, &l1, &h1);
      max3s2(r2, &l2, &h2);
      float32x4_t lo = vmaxq_f32(vmaxq_f32(l0, l1), l2);
      const float32x4_t hi = vmaxq_f32(vmaxq_f32(h0, h1), h2);
      if (n >= 8) {
        vst1q_f32(o, lo);
        vst1q_f32(o + 4, hi);
        if (n == 8) break;
        continue;
      }
      if (n & 4) {
        vst1q_f32(o, lo);
        o += 4;
        lo = hi;
      }
      if (n & 2) {
        vst1_f32(o, vget_low_f32(lo));
        o += 2;
        lo = vextq_f32(lo, lo, 2);
      }
      if (n & 1) vst1q_lane_f32(o, lo, 0);
      break;
    }
  }
}

void xnn_f32_maxpool_padded__neon(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in,
                                  size_t in_stride, float* out) {
  if (kh == 3 && kw == 3 && stride == 2)
    maxpool_3x3s2(oh, ow, in, in_stride, out);
  else
    maxpool(oh, ow, kh, kw, stride, in, in_stride, out, ow);
}
