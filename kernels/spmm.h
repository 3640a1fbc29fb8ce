/* f32 sparse-times-dense micro-kernel family (SpMM): pruned weights times dense activations in NCHW.
 * For output channel o < `channels` and pixel p < `pixels`:
 *
 *   out[o * out_stride + p] = act(bias_o + residual[o * out_stride + p] + sum_j w_j * in[row_j * in_stride + p])
 *
 * over the nonzero weights j of channel o (compressed by output channel):
 *  weights  channel after channel: its bias, then its nnz[o] nonzero values.
 *  rows     one per nonzero, in the same order: the input row (input channel, or im2col row) it multiplies.
 *  nnz      per channel; 0 gives act(bias + residual).
 *  residual NULL for none, else laid out as the output (an Eltwise SUM fused into the layer).
 * Strides are in floats; the pixels of a row are contiguous in the input, the output and the residual.
 * Rows are indices, not offsets, because the weights are packed once per model and the input stride
 * changes with every input shape a session plans; row * in_stride stays below 2^31.
 *
 * Convolutions pass their im2col (for a 1x1 convolution, the input) packed in panels of one tile of
 * pixels (in_stride = the tile), a fully connected layer one item's features (pixels 1, in_stride 1)
 * with out_stride 1. Kernels are named by their tile: pixels x channels.
 *
 * Kernels whose tile has B > 1 channels take weights compressed by blocks of B consecutive output channels
 * that share their nonzero columns (what pruning whole blocks leaves; a zero inside a kept block is
 * stored): per block its B biases, then for each of its columns the B values; `rows` one per column;
 * `nnz` one per block (its columns); `channels` a multiple of B. Each input row a tile loads then feeds B
 * multiply-adds instead of one, which moves these kernels from load-bound to FMA-bound. They compute every
 * pixel alike wherever a call's pixels start (the pointwise + depthwise pair calls them on bands of rows as
 * they fall); the one-channel kernels need not (a call's last pixels may go to a narrower tile, summed in
 * another order). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernels/params.h"

typedef void (*xnn_f32_spmm_ukernel_fn)(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                        const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                        size_t out_stride, const float* residual, const xnn_f32_act_params* params);

/* A set's kernels, and the weight densities (nonzeros / weights) below which they beat the set's dense
 * kernels, per layer kind: fully connected with weights that stay in cache between uses and with weights
 * streamed from memory (ops/sparse.c says which is which), 1x1 convolution, other convolutions where the
 * dense path is a GEMM and where it is Winograd, the last three also for the blocked kernel
 * (core/kernels.c has the measurements). */
typedef struct xnn_f32_spmm_config {
  xnn_f32_spmm_ukernel_fn ukernel;
  uint32_t tile; /* pixels per tile: work is split in multiples of it */
  /* Optional (NULL: none), a wider tile for short K: where a panel of it stays in L1 or nearly, it sweeps
   * the weights once for more pixels. */
  xnn_f32_spmm_ukernel_fn wide;
  uint32_t wide_tile;
  /* Optional (NULL: none), the blocked kernel (block channels per block) for weights pruned in blocks. */
  xnn_f32_spmm_ukernel_fn blocked;
  uint32_t blocked_tile, block;
  float fc, fc_streamed, pointwise, conv, winograd;
  /* The convolutions' thresholds for weights that run on the blocked kernel. */
  float pointwise_blocked, conv_blocked, winograd_blocked;
} xnn_f32_spmm_config;

void xnn_f32_spmm_ukernel_8x1__ref(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                   const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                   size_t out_stride, const float* residual, const xnn_f32_act_params* params);
void xnn_f32_spmm_ukernel_16x1__avx2(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                     const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                     size_t out_stride, const float* residual, const xnn_f32_act_params* params);
void xnn_f32_spmm_ukernel_32x1__avx512(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                       const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                       size_t out_stride, const float* residual, const xnn_f32_act_params* params);
void xnn_f32_spmm_ukernel_64x1__avx512(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                       const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                       size_t out_stride, const float* residual, const xnn_f32_act_params* params);
void xnn_f32_spmm_ukernel_8x4__ref(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                   const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                   size_t out_stride, const float* residual, const xnn_f32_act_params* params);
void xnn_f32_spmm_ukernel_16x4__avx2(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                     const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                     size_t out_stride, const float* residual, const xnn_f32_act_params* params);
void xnn_f32_spmm_ukernel_32x4__avx512(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                       const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                       size_t out_stride, const float* residual, const xnn_f32_act_params* params);
void xnn_f32_spmm_ukernel_16x1__neon_asm(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                         const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                         size_t out_stride, const float* residual, const xnn_f32_act_params* params);
void xnn_f32_spmm_ukernel_8x4__neon_asm(size_t pixels, size_t channels, const float* in, size_t in_stride,
                                        const float* weights, const uint32_t* rows, const uint32_t* nnz, float* out,
                                        size_t out_stride, const float* residual, const xnn_f32_act_params* params);

/* Compresses a dense row-major m x k matrix (zeros included) and its bias (NULL: zeros) into the
 * family's layout: values (m + nonzeros floats), rows (nonzeros) and nnz (m). Returns the nonzeros. */
size_t xnn_pack_f32_spmm(size_t m, size_t k, const float* w, const float* bias, float* values, uint32_t* rows,
                         uint32_t* nnz);

/* Columns of the blocked form of a dense row-major m x k matrix, m a multiple of `block`: over the blocks
 * of `block` rows, the columns where any of the block's rows is nonzero. */
size_t xnn_f32_spmm_block_columns(size_t m, size_t k, size_t block, const float* w);

/* Compresses it into the blocked layout: values (m + block * columns floats), rows (columns) and nnz
 * (m / block). Returns the columns. */
size_t xnn_pack_f32_spmm_blocked(size_t m, size_t k, size_t block, const float* w, const float* bias, float* values,
                                 uint32_t* rows, uint32_t* nnz);
