/* Max pooling on a -INF padded plane with NEON intrinsics, 4 outputs per vector; stride 2 splits even
 * and odd columns with LD2. (Intrinsics: pooling is not one of the families shipped as assembly.)
 * The common windows (3x3 stride 1 and 2, 2x2 stride 2) get the same body with constant sizes, so the
 * window loops unroll: for 3x3/2, 6 loads and 6 max per 4 outputs instead of ~25 instructions per output
 * of the generic loops (SqueezeNet 1.1's pools: 8.7 M instructions on cortex-a72). */
#include <arm_neon.h>
#include <math.h>

#include "kernels/pool.h"

static inline __attribute__((always_inline)) void maxpool(size_t oh, size_t ow, const size_t kh, const size_t kw,
                                                          const size_t stride, const float* in, size_t in_stride,
                                                          float* out) {
  for (size_t oy = 0; oy < oh; oy++) {
    float* o = out + oy * ow;
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

void xnn_f32_maxpool_padded__neon(size_t oh, size_t ow, size_t kh, size_t kw, size_t stride, const float* in,
                                  size_t in_stride, float* out) {
  if (kh == 3 && kw == 3 && stride == 2)
    maxpool(oh, ow, 3, 3, 2, in, in_stride, out);
  else if (kh == 3 && kw == 3 && stride == 1)
    maxpool(oh, ow, 3, 3, 1, in, in_stride, out);
  else if (kh == 2 && kw == 2 && stride == 2)
    maxpool(oh, ow, 2, 2, 2, in, in_stride, out);
  else
    maxpool(oh, ow, kh, kw, stride, in, in_stride, out);
}
