/* Max pooling on a -INF padded plane with NEON intrinsics, 4 outputs per vector; stride 2 splits even
 * and odd columns with LD2. (Intrinsics: pooling is not one of the families shipped as assembly.)
 * The most common window, 3x3 stride 2 (SqueezeNet, ResNet, GoogLeNet, AlexNet), has a loop of its
 * own: 6 loads and 8 max per 4 outputs instead of ~25 instructions per output of the generic loops
 * (SqueezeNet 1.1's pools: 8.7 M instructions on cortex-a72). */
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

/* Max of one window row for 4 outputs: even columns 0, 2, 4, 6 and odd ones 1, 3, 5, 7 from one LD2,
 * columns 2, 4, 6, 8 from another. (Carrying the next step's LD2 over for columns 8, 10, ... instead
 * costs GCC four register moves a step: 10% more instructions.) */
static inline float32x4_t max3s2(const float* r) {
  const float32x4x2_t a = vld2q_f32(r);
  return vmaxq_f32(vmaxq_f32(a.val[0], a.val[1]), vld2q_f32(r + 2).val[0]);
}

/* 3x3 stride 2, 4 outputs per step with all three window rows unrolled; the last 1-3 outputs of a row
 * are a whole step too (its reads stay within the XNN_POOL_EXTRA floats a kernel may read past a row),
 * of which only the real lanes are stored. */
static void maxpool_3x3s2(size_t oh, size_t ow, const float* in, size_t in_stride, float* out) {
  for (size_t oy = 0; oy < oh; oy++) {
    const float* r = in + 2 * oy * in_stride;
    float* o = out + oy * ow;
    for (size_t n = ow;; n -= 4, r += 8, o += 4) {
      const float32x4_t m = vmaxq_f32(vmaxq_f32(max3s2(r), max3s2(r + in_stride)), max3s2(r + 2 * in_stride));
      if (n >= 4) {
        vst1q_f32(o, m);
        if (n == 4) break;
        continue;
      }
      if (n & 2) {
        vst1_f32(o, vget_low_f32(m));
        if (n & 1) vst1q_lane_f32(o + 2, m, 2);
      } else {
        vst1q_lane_f32(o, m, 0);
      }
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
