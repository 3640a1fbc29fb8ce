/* f32 GEMM family: C[m][n] = act(sum_k A[m][k] * B[k][n] + bias[m]).
 * A is the layer's weights (row-major, lda floats per row), B the activations (ldb floats per row),
 * C the output (ldc floats per row); bias may be NULL. Strides are in floats. A convolution in NCHW is
 * A = weights [oc][cin*kh*kw], B = im2col (or the input itself for 1x1), C = output [oc][oh*ow]. */
#pragma once
#include <stddef.h>

#include "kernels/params.h"

typedef void (*xnn_f32_gemm_fn)(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                                size_t ldb, float* c, size_t ldc, const float* bias,
                                const xnn_f32_act_params* params);

void xnn_f32_gemm__ref(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params);

/* f32 fully connected family: y[b][o] = act(sum_k x[b][k] * w[o][k] + bias[o]) for b < batch, o < n. */
typedef void (*xnn_f32_fc_fn)(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias,
                              float* y, size_t ldy, const xnn_f32_act_params* params);

void xnn_f32_fc__ref(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                     size_t ldy, const xnn_f32_act_params* params);
