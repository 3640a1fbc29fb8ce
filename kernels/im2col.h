/* im2col row family: the building block of the GEMM convolution's column packing.
 * dst[q] = 0 <= x0 + q*stride < width ? row[x0 + q*stride] : 0, for q < len (stride 1 or more).
 * Reads only row[0 .. width). */
#pragma once
#include <stddef.h>

typedef void (*xnn_f32_im2col_row_fn)(size_t len, const float* row, ptrdiff_t x0, size_t stride, size_t width,
                                      float* dst);

void xnn_f32_im2col_row__ref(size_t len, const float* row, ptrdiff_t x0, size_t stride, size_t width, float* dst);
void xnn_f32_im2col_row__avx512(size_t len, const float* row, ptrdiff_t x0, size_t stride, size_t width,
                                float* dst);
