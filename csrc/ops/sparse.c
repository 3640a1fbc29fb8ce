/* Sparse weights, packed: one block in the weight slot, holding each output channel's (or block of
 * channels') biases and nonzero values in turn (the SpMM family's layout), then the 32-bit input row of
 * every nonzero (column of a block), each channel's (block's) count of them, and where each channel
 * (block) starts among the values (so that a run of channels starts anywhere without summing the counts
 * before it). */
#include "ops/sparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"

static size_t div_up(size_t x, size_t q) { return (x + q - 1) / q; }

static size_t count_nonzeros(const float* w, size_t count) {
  size_t n = 0;
  for (size_t i = 0; i < count; i++) n += w[i] != 0.0f;
  return n;
}

/* Output channels per block for the sparse form of these weights (xnn_sparse_choose). */
static size_t block_for(const float* w, size_t m, size_t k, size_t groups, size_t nonzeros, const xnn_kernels* ks) {
  const size_t block = ks->spmm.block;
  if (!groups || !ks->spmm.blocked || block < 2 || (m / groups) % block) return 1;
  /* Zen 4, MobileNet v1's 14x14 to 56x56 1x1 layers at 80% zeros: 3.3-3.8x the dense speed pruned in
   * blocks of 4 (32x4 tile), 2.1-2.7x pruned one by one (64x1 / 32x1 tiles; bench/sparse.py), i.e. the
   * blocked tile does 1.2-1.8x the multiply-adds a second: a quarter more of them (zeros stored in kept
   * blocks) leaves it ahead. */
  const size_t columns = xnn_f32_spmm_block_columns(m, k, block, w);
  return (double)(block * columns) <= 1.25 * (double)nonzeros ? block : 1;
}

size_t xnn_sparse_choose(const float* w, size_t m, size_t k, size_t groups, xnn_sparse_kind kind,
                         const xnn_kernels* ks) {
  const char* env = getenv("XNN_SPARSE");
  if (env && strcmp(env, "0") == 0) return 0;
  /* The packed form indexes the weights with 32 bits, a kernel the rows of a panel with 31. */
  const xnn_f32_spmm_config* c = &ks->spmm;
  const size_t count = m * k, tile = XNN_MAX(XNN_MAX(c->tile, c->wide_tile), c->blocked_tile);
  if (count >= INT32_MAX || k * tile >= INT32_MAX) return 0;
  const size_t nonzeros = count_nonzeros(w, count);
  if (nonzeros == count) return 0;
  const int conv = kind == XNN_SPARSE_POINTWISE || kind == XNN_SPARSE_CONV || kind == XNN_SPARSE_WINOGRAD;
  const size_t block = conv ? block_for(w, m, k, groups, nonzeros, ks) : 1;
  if (env && strcmp(env, "1") == 0) return block;
  /* A fully connected layer's weights are streamed from memory where they leave the cache between two
   * uses: a recurrent one's between two steps where they exceed the last level, a once-per-inference
   * one's where they exceed the L2, as the rest of the network's weights pass through the shared last
   * level in between (MobileNet v1's 4 MB classifier at 80% zeros: 3x faster sparse in the network,
   * where the dense one reads 14 GB/s, while alone, its weights in the L3, sparse was 1.7x slower). */
  const size_t cached = kind == XNN_SPARSE_FC_RECURRENT ? xnn_cpu_llc_bytes() : xnn_cpu_l2_bytes();
  const int b = block > 1;
  const float threshold = kind == XNN_SPARSE_POINTWISE ? (b ? c->pointwise_blocked : c->pointwise)
                          : kind == XNN_SPARSE_CONV    ? (b ? c->conv_blocked : c->conv)
                          : kind == XNN_SPARSE_WINOGRAD ? (b ? c->winograd_blocked : c->winograd)
                          : count * sizeof(float) > cached ? c->fc_streamed
                                                           : c->fc;
  return (double)nonzeros < (double)threshold * (double)count ? block : 0;
}

/* Floats of the packed form: values, rows, counts and starts of m / block runs over `columns`. */
static size_t packed_floats(size_t m, size_t block, size_t columns) {
  return m + block * columns + columns + 2 * (m / block);
}

xnn_status xnn_sparse_pack(xnn_node* n, int slot, size_t m, size_t k, size_t block, int bias_slot,
                           const char* label) {
  const float* w = n->weights[slot];
  const float* bias = bias_slot >= 0 ? n->weights[bias_slot] : NULL;
  const size_t nonzeros = count_nonzeros(w, m * k);
  const size_t columns = block > 1 ? xnn_f32_spmm_block_columns(m, k, block, w) : nonzeros;
  float* values = xnn_alloc_aligned(packed_floats(m, block, columns) * sizeof(float));
  if (!values) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory packing sparse weights");
  uint32_t* rows = (uint32_t*)(values + m + block * columns);
  uint32_t* nnz = rows + columns;
  uint32_t* start = nnz + m / block;
  if (block > 1)
    xnn_pack_f32_spmm_blocked(m, k, block, w, bias, values, rows, nnz);
  else
    xnn_pack_f32_spmm(m, k, w, bias, values, rows, nnz);
  for (size_t b = 0, at = 0; b < m / block; at += block * (1 + nnz[b++])) start[b] = (uint32_t)at;
  xnn_free_aligned(n->weights[slot]);
  n->weights[slot] = values;
  n->weight_size[slot] = (int64_t)packed_floats(m, block, columns);
  if (bias_slot >= 0) {
    xnn_free_aligned(n->weights[bias_slot]);
    n->weights[bias_slot] = NULL;
    n->weight_size[bias_slot] = 0;
  }
  char what[80], blocks[24] = "";
  if (block > 1) snprintf(blocks, sizeof(blocks), ", blocks of %zu", block);
  snprintf(what, sizeof(what), "[sparse: %s%.1f%% nonzero%s]", label, 100.0 * (double)nonzeros / (double)(m * k),
           blocks);
  return xnn_node_append_type(n, " ", what);
}

void xnn_sparse_run(const xnn_node* n, int slot, size_t m, size_t block, xnn_f32_spmm_ukernel_fn ukernel,
                    const xnn_sparse_block* b, const xnn_f32_act_params* act) {
  const float* values = n->weights[slot];
  const size_t columns = ((size_t)n->weight_size[slot] - m - 2 * (m / block)) / (block + 1);
  const uint32_t* rows = (const uint32_t*)(values + m + block * columns);
  const uint32_t* nnz = rows + columns;
  const uint32_t* start = nnz + m / block;
  const size_t first = b->c0 / block, at = start[first];
  /* Values before a run: its blocks' biases and block values per column before it. */
  ukernel(b->pixels, b->count, b->in, b->in_stride, values + at, rows + (at - b->c0) / block, nnz + first, b->out,
          b->out_stride, b->residual, act);
}

xnn_f32_spmm_ukernel_fn xnn_sparse_kernel(const xnn_kernels* k, size_t rows, size_t block, size_t* tile) {
  const xnn_f32_spmm_config* c = &k->spmm;
  if (block > 1) {
    *tile = c->blocked_tile;
    return c->blocked;
  }
  /* Zen 4, MobileNet v1's 1x1 layers at 80% zeros: the 64x1 tile beats the 32x1 by 8-18% up to K = 256
   * (a 64 KB panel), loses 7-10% from K = 512. */
  const int wide = c->wide && rows * c->wide_tile * sizeof(float) <= 2 * xnn_cpu_l1d_bytes();
  *tile = wide ? c->wide_tile : c->tile;
  return wide ? c->wide : c->ukernel;
}

xnn_sparse_split xnn_sparse_split_work(size_t pixels, size_t channels, size_t groups, size_t tile, size_t block,
                                       size_t threads) {
  xnn_sparse_split s;
  /* About four blocks per thread, so that a thread its core serves slowly leaves pieces to steal. */
  const size_t tasks = threads > 1 ? 4 * threads : 1, tiles = div_up(pixels, tile);
  s.pixel_block = div_up(tiles, XNN_MIN(tiles, div_up(tasks, groups))) * tile;
  s.pixel_blocks = div_up(pixels, s.pixel_block);
  /* Too few pixels for the threads (7x7 maps, one item of a fully connected layer): split the channels
   * too, but only into two blocks per thread: each block packs its pixels' panels again. */
  const size_t blocks = s.pixel_blocks * groups;
  s.channel_block = blocks >= threads ? channels
                                      : div_up(channels, XNN_MIN(div_up(2 * threads, blocks), channels) * block) * block;
  s.channel_blocks = div_up(channels, s.channel_block);
  return s;
}
