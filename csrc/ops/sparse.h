/* Sparse weights: whether a layer runs on the SpMM family (kernels/spmm.h) is decided once at load from
 * its weights' density; its weights are then compressed by output channel, and its output is computed
 * in blocks of pixels x output channels. Shared by the convolution and fully connected operators. */
#pragma once
#include "ops/ops.h"

/* What the sparse path competes with: a fully connected layer (or a 1x1 convolution of a 1x1 map) run once
 * per inference, a recurrent one run every step of a sequence, a 1x1 convolution, another convolution
 * that would run as a GEMM, one that would run with Winograd. */
typedef enum xnn_sparse_kind {
  XNN_SPARSE_FC,
  XNN_SPARSE_FC_RECURRENT,
  XNN_SPARSE_POINTWISE,
  XNN_SPARSE_CONV,
  XNN_SPARSE_WINOGRAD
} xnn_sparse_kind;

/* Whether the dense m x k weights at w run sparse, and how: 0 dense, else the output channels per block
 * of the sparse form (1: one at a time). Never sparse with XNN_SPARSE=0, whenever one weight is zero with
 * XNN_SPARSE=1, otherwise when their density (nonzeros / weights) is below the kernel set's measured
 * threshold for the layer kind (for a fully connected layer, for where its weights live; for a
 * convolution, for weights in blocks or not). A convolution (kind POINTWISE, CONV or WINOGRAD; rows in
 * `groups` groups, 0 for a layer that runs one channel at a time) goes in blocks of the set's blocked
 * kernel where it has one, blocks do not straddle groups, and the blocked form (kernels/spmm.h)
 * multiplies at most a quarter more than the nonzeros (weights pruned in blocks: none more). */
XNN_INTERNAL size_t xnn_sparse_choose(const float* w, size_t m, size_t k, size_t groups, xnn_sparse_kind kind,
                                      const xnn_kernels* ks);

/* Compresses weights[slot] (m x k, dense, row-major) and the bias (weights[bias_slot]; -1: none, zeros)
 * into weights[slot] in blocks of `block` output channels (1: one channel), frees the bias slot, and
 * appends the density to the node's type ("... [sparse: 18.5% nonzero]", the label, if any, before the
 * number; "..., blocks of 4]" when blocked). */
XNN_INTERNAL xnn_status xnn_sparse_pack(xnn_node* n, int slot, size_t m, size_t k, size_t block, int bias_slot,
                                        const char* label);

/* A block of the output: channels [c0, c0 + count) of the m the node has, over `pixels` pixels; `out`
 * and `residual` (or NULL) point at channel c0's first pixel, `in` at the first pixel of the input's
 * first row. */
typedef struct xnn_sparse_block {
  size_t c0, count, pixels;
  const float* in;
  size_t in_stride;
  float* out;
  size_t out_stride;
  const float* residual;
} xnn_sparse_block;

/* Runs a block of the output whose weights were packed in blocks of `block` channels (c0 and count are
 * then multiples of it). */
XNN_INTERNAL void xnn_sparse_run(const xnn_node* n, int slot, size_t m, size_t block, xnn_f32_spmm_ukernel_fn ukernel,
                                 const xnn_sparse_block* b, const xnn_f32_act_params* act);

/* The kernel for weights packed in blocks of `block` channels and panels of `rows` rows, and its tile of
 * pixels: the blocked one for blocks, else the set's wide one where such a panel is at most twice the L1,
 * else its one. */
XNN_INTERNAL xnn_f32_spmm_ukernel_fn xnn_sparse_kernel(const xnn_kernels* k, size_t rows, size_t block, size_t* tile);

/* A split of `pixels` x `channels` (per group, `groups` of them) into blocks for `threads`: pixels first,
 * in whole kernel tiles, then channels, in multiples of `block`. */
typedef struct xnn_sparse_split {
  size_t pixel_block, pixel_blocks, channel_block, channel_blocks;
} xnn_sparse_split;

XNN_INTERNAL xnn_sparse_split xnn_sparse_split_work(size_t pixels, size_t channels, size_t groups, size_t tile,
                                                    size_t block, size_t threads);
