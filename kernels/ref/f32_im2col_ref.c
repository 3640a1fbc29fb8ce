#include "kernels/im2col.h"

void xnn_f32_im2col_panel__ref(size_t kc, size_t len, const float* src, const size_t* offsets, size_t stride,
                               float* dst, size_t dst_stride) {
  for (size_t p = 0; p < kc; p++) {
    const float* s = src + offsets[p];
    float* d = dst + p * dst_stride;
    if (stride == 1) {
      for (size_t q = 0; q < len; q++) d[q] = s[q];
    } else {
      for (size_t q = 0; q < len; q++) d[q] = s[q * stride];
    }
  }
}
