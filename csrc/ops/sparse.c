/* Sparse weights, packed: one block in the weight slot, holding each output channel's bias and nonzero
 * values in turn (the SpMM family's layout), then the 32-bit input row of every nonzero, each channel's
 * count of nonzeros, and where each channel starts among the values (so that a block of channels starts
 * anywhere without summing the counts before it). */
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

int xnn_sparse_choose(const float* w, size_t m, size_t k, xnn_sparse_kind kind, const xnn_kernels* ks) {
  const char* env = getenv("XNN_SPARSE");
  if (env && strcmp(env, "0") == 0) return 0;
  /* The packed form indexes the weights with 32 bits, a kernel the rows of a panel with 31. */
  const size_t count = m * k;
  if (count >= INT32_MAX || k * XNN_MAX(ks->spmm.tile, ks->spmm.wide_tile) >= INT32_MAX) return 0;
  const size_t nonzeros = count_nonzeros(w, count);
  if (nonzeros == count) return 0;
  if (env && strcmp(env, "1") == 0) return 1;
  const xnn_f32_spmm_config* c = &ks->spmm;
  /* A fully connected layer's weights are streamed from memory where they leave the cache between two
   * uses: a recurrent one's between two steps where they exceed the last level, a once-per-inference
   * one's where they exceed the L2, as the rest of the network's weights pass through the shared last
   * level in between (MobileNet v1's 4 MB classifier at 80% zeros: 3x faster sparse in the network,
   * where the dense one reads 14 GB/s, while alone, its weights in the L3, sparse was 1.7x slower). */
  const size_t cached = kind == XNN_SPARSE_FC_RECURRENT ? xnn_cpu_llc_bytes() : xnn_cpu_l2_bytes();
  const float threshold = kind == XNN_SPARSE_POINTWISE ? c->pointwise
                          : kind == XNN_SPARSE_CONV    ? c->conv
                          : kind == XNN_SPARSE_WINOGRAD ? c->winograd
                          : count * sizeof(float) > cached ? c->fc_streamed
                                                           : c->fc;
  return (double)nonzeros < (double)threshold * (double)count;
}

xnn_status xnn_sparse_pack(xnn_node* n, int slot, size_t m, size_t k, int bias_slot, const char* label) {
  const size_t nonzeros = count_nonzeros(n->weights[slot], m * k);
  float* values = xnn_alloc_aligned((3 * m + 2 * nonzeros) * sizeof(float));
  if (!values) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory packing sparse weights");
  uint32_t* rows = (uint32_t*)(values + m + nonzeros);
  uint32_t* nnz = rows + nonzeros;
  uint32_t* start = nnz + m;
  xnn_pack_f32_spmm(m, k, n->weights[slot], bias_slot >= 0 ? n->weights[bias_slot] : NULL, values, rows, nnz);
  for (size_t o = 0, at = 0; o < m; at += 1 + nnz[o++]) start[o] = (uint32_t)at;
  xnn_free_aligned(n->weights[slot]);
  n->weights[slot] = values;
  n->weight_size[slot] = (int64_t)(3 * m + 2 * nonzeros);
  if (bias_slot >= 0) {
    xnn_free_aligned(n->weights[bias_slot]);
    n->weights[bias_slot] = NULL;
    n->weight_size[bias_slot] = 0;
  }
  char what[64];
  snprintf(what, sizeof(what), "[sparse: %s%.1f%% nonzero]", label, 100.0 * (double)nonzeros / (double)(m * k));
  return xnn_node_append_type(n, " ", what);
}

void xnn_sparse_run(const xnn_node* n, int slot, size_t m, xnn_f32_spmm_ukernel_fn ukernel,
                    const xnn_sparse_block* b, const xnn_f32_act_params* act) {
  const float* values = n->weights[slot];
  const size_t nonzeros = ((size_t)n->weight_size[slot] - 3 * m) / 2;
  const uint32_t* rows = (const uint32_t*)(values + m + nonzeros);
  const uint32_t* nnz = rows + nonzeros;
  const uint32_t* start = nnz + m;
  const size_t at = start[b->c0];
  ukernel(b->pixels, b->count, b->in, b->in_stride, values + at, rows + (at - b->c0), nnz + b->c0, b->out,
          b->out_stride, b->residual, act);
}

xnn_f32_spmm_ukernel_fn xnn_sparse_kernel(const xnn_kernels* k, size_t rows, size_t* tile) {
  const xnn_f32_spmm_config* c = &k->spmm;
  /* Zen 4, MobileNet v1's 1x1 layers at 80% zeros: the 64x1 tile beats the 32x1 by 8-18% up to K = 256
   * (a 64 KB panel), loses 7-10% from K = 512. */
  const int wide = c->wide && rows * c->wide_tile * sizeof(float) <= 2 * xnn_cpu_l1d_bytes();
  *tile = wide ? c->wide_tile : c->tile;
  return wide ? c->wide : c->ukernel;
}

xnn_sparse_split xnn_sparse_split_work(size_t pixels, size_t channels, size_t groups, size_t tile, size_t threads) {
  xnn_sparse_split s;
  /* About four blocks per thread, so that a thread its core serves slowly leaves pieces to steal. */
  const size_t tasks = threads > 1 ? 4 * threads : 1, tiles = div_up(pixels, tile);
  s.pixel_block = div_up(tiles, XNN_MIN(tiles, div_up(tasks, groups))) * tile;
  s.pixel_blocks = div_up(pixels, s.pixel_block);
  /* Too few pixels for the threads (7x7 maps, one item of a fully connected layer): split the channels
   * too, but only into two blocks per thread: each block packs its pixels' panels again. */
  const size_t blocks = s.pixel_blocks * groups;
  s.channel_block = blocks >= threads ? channels : div_up(channels, XNN_MIN(div_up(2 * threads, blocks), channels));
  s.channel_blocks = div_up(channels, s.channel_block);
  return s;
}
