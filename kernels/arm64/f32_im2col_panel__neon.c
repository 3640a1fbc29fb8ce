/* im2col panel with NEON intrinsics: 4 values per step; stride 2 de-interleaves with LD2. (Intrinsics:
 * packing is not one of the families shipped as assembly.) */
#include <arm_neon.h>

#include "kernels/im2col.h"

void xnn_f32_im2col_panel__neon(size_t kc, size_t len, const float* src, const size_t* offsets, size_t stride,
                                float* dst, size_t dst_stride) {
  if (stride > 2) {
    xnn_f32_im2col_panel__ref(kc, len, src, offsets, stride, dst, dst_stride);
    return;
  }
  for (size_t p = 0; p < kc; p++) {
    const float* s = src + offsets[p];
    float* d = dst + p * dst_stride;
    size_t q = 0;
    if (stride == 1) {
      for (; q + 4 <= len; q += 4) vst1q_f32(d + q, vld1q_f32(s + q));
      for (; q < len; q++) d[q] = s[q];
    } else {
      /* LD2 of 4 pairs reads s[2q .. 2q+7]; the last pair's odd value is past the run, so stop early. */
      for (; q + 4 < len; q += 4) vst1q_f32(d + q, vld2q_f32(s + 2 * q).val[0]);
      for (; q < len; q++) d[q] = s[2 * q];
    }
  }
}
