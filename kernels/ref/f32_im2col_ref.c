#include "kernels/im2col.h"

void xnn_f32_im2col_row__ref(size_t len, const float* row, ptrdiff_t x0, size_t stride, size_t width, float* dst) {
  for (size_t q = 0; q < len; q++) {
    const ptrdiff_t x = x0 + (ptrdiff_t)(q * stride);
    dst[q] = x >= 0 && x < (ptrdiff_t)width ? row[x] : 0.0f;
  }
}
