/* f32 GEMM micro-kernel family: one MR x NR tile of C = act(A * B + bias), K in one call.
 *
 *  a     packed weights: `k` groups of MR floats, a[p*MR + i] = A[row i][p] (rows past `mr` are zero).
 *  b     packed activations: `k` groups of NR floats, b[p*NR + j] = B[p][col j] (cols past `nr` are zero).
 *  c     output rows, `ldc` floats apart; only mr x nr values are written.
 *  bias  MR values (zero-padded), or NULL for none; used unless XNN_GEMM_ACCUMULATE.
 *  flags XNN_GEMM_ACCUMULATE: C += A*B (a later chunk of K); XNN_GEMM_LAST: apply `params` after.
 *
 * In NCHW a convolution is A = weights [oc][cin*kh*kw], B = its im2col (the input itself for 1x1),
 * C = output [oc][oh*ow]: vectors run along output pixels, weights are broadcast. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernels/params.h"

enum { XNN_GEMM_ACCUMULATE = 1, XNN_GEMM_LAST = 2 };

typedef void (*xnn_f32_gemm_ukernel_fn)(size_t mr, size_t nr, size_t k, const float* a, const float* b, float* c,
                                        size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                        uint32_t flags);

typedef struct xnn_f32_gemm_config {
  xnn_f32_gemm_ukernel_fn ukernel;
  uint32_t mr, nr;
} xnn_f32_gemm_config;

void xnn_f32_gemm_ukernel_4x16__ref(size_t mr, size_t nr, size_t k, const float* a, const float* b, float* c,
                                    size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags);
void xnn_f32_gemm_ukernel_6x16__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, float* c,
                                     size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                     uint32_t flags);
void xnn_f32_gemm_ukernel_8x12__neon_asm(size_t mr, size_t nr, size_t k, const float* a, const float* b, float* c,
                                         size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                         uint32_t flags);
void xnn_f32_gemm_ukernel_8x32__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, float* c,
                                       size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags);

/* Packs rows [0, m) of A (row-major, lda floats apart) into ceil(m/mr) panels of k*mr floats, and the
 * bias (NULL for zeros) into ceil(m/mr)*mr floats. */
void xnn_pack_f32_gemm_a(size_t m, size_t k, size_t mr, const float* a, size_t lda, const float* bias,
                         float* packed_a, float* packed_bias);

/* f32 fully connected family: y[b][o] = act(sum_k x[b][k] * w[o][k] + bias[o]) for b < batch, o < n. */
typedef void (*xnn_f32_fc_fn)(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias,
                              float* y, size_t ldy, const xnn_f32_act_params* params);

void xnn_f32_fc__ref(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                     size_t ldy, const xnn_f32_act_params* params);
