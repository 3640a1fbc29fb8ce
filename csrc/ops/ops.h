/* Operator interface: each op type has a reshape step (output shapes, workspace, MACs: run at plan
 * time) and a run step (no allocation, kernels only through the table). */
#pragma once
#include "core/graph.h"
#include "core/kernels.h"
#include "core/threadpool.h"

typedef struct xnn_tensor_rt {
  xnn_shape shape;
  float* data;
} xnn_tensor_rt;

typedef struct xnn_op_plan {
  /* In: */
  size_t num_threads;
  const xnn_kernels* kernels;
  /* Input 0's producer ran with output_by_channels set. */
  int input_by_channels;
  /* Out: scratch for all threads together, and multiply-accumulates. */
  size_t workspace_bytes;
  int64_t macs;
  /* Set by reshape when each thread writes a contiguous range of output 0's channels, the threads in order
   * (as xnn_parallelize hands out a range): a reader split the same way then reads what its own core wrote.
   * Data one core wrote reaches the other at 10-22 GB/s on an Intel Xeon, against 68-119 from its own
   * cache. */
  int output_by_channels;
  /* Set by reshape when every thread reads all of input 0 (a GEMM split by rows): its cache lines are then
   * shared by the cores, and a later write to them waits for the other core's copies to be invalidated.
   * The planner keeps the storage from the next node's outputs (session.c). */
  int input_shared;
  /* Set by reshape when, for these shapes, output 0 holds input 0's values in the same order (a
   * Permute that only moves dims of size 1): the planner then gives it the input's storage and the
   * runner skips the op. */
  int alias;
} xnn_op_plan;

typedef struct xnn_run_ctx {
  xnn_tensor_rt* tensors;
  float* workspace;
  xnn_threadpool* pool;
  const xnn_kernels* kernels;
  const xnn_op_plan* plan; /* the running node's */
} xnn_run_ctx;

typedef struct xnn_op_def {
  /* Sets the output shapes from the input shapes; XNN_ERROR_SHAPE when the inputs cannot fit. */
  xnn_status (*reshape)(const xnn_node* node, xnn_tensor_rt* tensors, xnn_op_plan* plan);
  /* NULL for ops whose outputs alias their input (no work at run time). */
  void (*run)(const xnn_node* node, const xnn_run_ctx* ctx);
  /* Optional, once at load: picks an algorithm from the shapes planned for the declared inputs... */
  void (*choose)(xnn_node* node, const xnn_tensor_rt* tensors, const xnn_kernels* kernels);
  /* ...then rewrites the node's weights into the layout its kernels read. */
  xnn_status (*pack)(xnn_node* node, const xnn_kernels* kernels);
  /* Optional, at plan time: whether the node and `next`, the only reader of its output 0, run as one
   * (run_pair), that output never stored whole; returns the pair's workspace bytes (all threads), 0 if
   * not. Called after both nodes' reshape. */
  size_t (*pair_workspace)(const xnn_node* node, const xnn_node* next, const xnn_tensor_rt* tensors,
                           const xnn_op_plan* plan);
  void (*run_pair)(const xnn_node* node, const xnn_node* next, const xnn_run_ctx* ctx);
} xnn_op_def;

/* NULL when the op was left out of this build (CMake's XNN_OPS). */
XNN_INTERNAL const xnn_op_def* xnn_op_get(xnn_op_type op);
/* The csrc/ops file (and XNN_OPS name) that implements an op. */
XNN_INTERNAL const char* xnn_op_file(xnn_op_type op);
/* The input whose storage output 0 may take, the node's run staying correct (elementwise: each value
 * read before it is written), or -1. */
XNN_INTERNAL int xnn_op_in_place_input(const xnn_node* n);

/* Defined one per file in csrc/ops/. */
extern const xnn_op_def xnn_op_convolution, xnn_op_inner_product, xnn_op_pooling, xnn_op_activation,
    xnn_op_prelu, xnn_op_lrn, xnn_op_affine, xnn_op_eltwise, xnn_op_concat, xnn_op_slice, xnn_op_softmax,
    xnn_op_identity, xnn_op_reshape, xnn_op_permute, xnn_op_lstm, xnn_op_embed, xnn_op_normalize, xnn_op_prior_box,
    xnn_op_detection_output, xnn_op_binary, xnn_op_resize;

/* Shared helpers for ops. */
/* Output 0 takes input 0's shape; MACs = elements. */
XNN_INTERNAL xnn_status xnn_same_shape_reshape(const xnn_node* node, xnn_tensor_rt* tensors, xnn_op_plan* plan);
XNN_INTERNAL xnn_status xnn_shape_error(const char* fmt, ...) XNN_PRINTF(1, 2);
/* Normalizes a possibly negative axis against ndim; -1 if out of range. */
XNN_INTERNAL int32_t xnn_axis(int32_t axis, int32_t ndim);
XNN_INTERNAL int64_t xnn_dims_product(const xnn_shape* s, int32_t from, int32_t to);
/* Copies an ih x iw plane into a rows x stride zero-padded one, top rows and left columns of zeros first;
 * the rest of every row and every row past the input are zero too (columns past the stride are cut). */
XNN_INTERNAL void xnn_pad_plane(float* dst, size_t rows, size_t stride, const float* src, size_t ih, size_t iw,
                                size_t top, size_t left);
/* Copies `rows` rows of `width` floats, contiguous in src, to dst rows `dst_stride` apart: the interior of a
 * scratch plane whose border an op filled once per layer. */
XNN_INTERNAL void xnn_copy_rows(float* dst, size_t dst_stride, const float* src, size_t rows, size_t width);
/* Max pooling by rows, for an op that computes the pool's input a band of rows at a time (ops/pooling.c). Whether
 * pooling node n can be run so (max, no top or left padding, the same stride 1 or 2 on both axes), and if
 * so its geometry in *g. */
XNN_INTERNAL int xnn_maxpool_rows_geometry(const xnn_node* n, const xnn_tensor_rt* tensors, const xnn_kernels* k,
                                           xnn_pool_geometry* g);
/* Output rows [y0, y1) of one plane into out (the output plane) by fn, then those whose window overhangs the
 * input redone clipped to it. in + y * iw must be input row y for every row those windows reach inside the
 * input; the kernel also reads, and never uses, the rows of a bottom overhang and XNN_POOL_EXTRA floats past
 * the last of them. */
XNN_INTERNAL void xnn_maxpool_rows(xnn_f32_maxpool_padded_fn fn, const xnn_pool_geometry* g, const float* in,
                                   size_t y0, size_t y1, float* out);
