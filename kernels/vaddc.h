/* f32 add of a constant over n contiguous floats, y[i] = x[i] + c (in place allowed: y == x). The
 * convolution's residual start: C = residual + bias, one output row at a time. */
#pragma once
#include <stddef.h>

typedef void (*xnn_f32_vaddc_fn)(size_t n, const float* x, float c, float* y);

void xnn_f32_vaddc__ref(size_t n, const float* x, float c, float* y);
void xnn_f32_vaddc__avx512(size_t n, const float* x, float c, float* y);
