/* im2col panel family: the column packing of the GEMM convolution, one run of output pixels for a chunk
 * of K rows per call.
 *   dst[p * dst_stride + q] = src[offsets[p] + q * stride]   for p < kc, q < len (stride 1 or more).
 * The caller pads the input beforehand, so every address is inside it; the kernels read nothing else. */
#pragma once
#include <stddef.h>

typedef void (*xnn_f32_im2col_panel_fn)(size_t kc, size_t len, const float* src, const size_t* offsets,
                                        size_t stride, float* dst, size_t dst_stride);

void xnn_f32_im2col_panel__ref(size_t kc, size_t len, const float* src, const size_t* offsets, size_t stride,
                               float* dst, size_t dst_stride);
void xnn_f32_im2col_panel__avx2(size_t kc, size_t len, const float* src, const size_t* offsets, size_t stride,
                                float* dst, size_t dst_stride);
void xnn_f32_im2col_panel__avx512(size_t kc, size_t len, const float* src, const size_t* offsets, size_t stride,
                                  float* dst, size_t dst_stride);
void xnn_f32_im2col_panel__neon(size_t kc, size_t len, const float* src, const size_t* offsets, size_t stride,
                                float* dst, size_t dst_stride);
