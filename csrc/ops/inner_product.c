/* InnerProduct (fully connected): the input is flattened from `axis` on; the dims before it are the batch.
 * Pruned weights may run sparse (chosen at load, ops/sparse.h): a sparse matrix-vector product per item. */
#include "ops/ops.h"
#include "ops/sparse.h"

enum { TILE_N = 64 };

static xnn_status fc_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_fc_params* p = &n->p.fc;
  const xnn_shape* in = &t[n->inputs[0]].shape;
  const int32_t axis = xnn_axis(p->axis, in->ndim);
  if (axis < 0) return xnn_shape_error("axis %d is out of range for a %d-D input", p->axis, in->ndim);
  const int64_t k = xnn_dims_product(in, axis, in->ndim);
  char buf[128];
  if (k != p->k)
    return xnn_shape_error("input %s gives %lld features per item, the weights expect %lld",
                           xnn_shape_str(in, buf, sizeof(buf)), (long long)k, (long long)p->k);
  xnn_shape* out = &t[n->outputs[0]].shape;
  out->ndim = axis + 1;
  for (int32_t i = 0; i < axis; i++) out->dims[i] = in->dims[i];
  out->dims[axis] = p->num_output;
  plan->macs = xnn_mul_sat(xnn_dims_product(in, 0, axis) * k, p->num_output);
  plan->workspace_bytes = 0;
  return XNN_OK;
}

typedef struct fc_job {
  const xnn_node* n;
  const xnn_kernels* k;
  const float* x;
  float* y;
  size_t batch;
  size_t channels; /* per block, sparse */
} fc_job;

static void fc_tile(void* ctx, size_t tile) {
  const fc_job* j = ctx;
  const xnn_fc_params* p = &j->n->p.fc;
  const size_t o0 = tile * TILE_N, cnt = XNN_MIN((size_t)TILE_N, (size_t)p->num_output - o0);
  const size_t k = (size_t)p->k;
  j->k->fc(j->batch, cnt, k, j->x, j->n->weights[0] + o0 * k, p->has_bias ? j->n->weights[1] + o0 : NULL,
           j->y + o0, (size_t)p->num_output, &p->act);
}

/* A block of output channels for every item, sparse. */
static void fc_sparse_block(void* ctx, size_t block) {
  const fc_job* j = ctx;
  const xnn_fc_params* p = &j->n->p.fc;
  const size_t m = (size_t)p->num_output, k = (size_t)p->k, c0 = block * j->channels;
  for (size_t b = 0; b < j->batch; b++) {
    const xnn_sparse_block blk = {c0, XNN_MIN(j->channels, m - c0), 1, j->x + b * k, 1, j->y + b * m + c0, 1, NULL};
    xnn_sparse_run(j->n, 0, m, 1, j->k->spmm.ukernel, &blk, &p->act);
  }
}

static void fc_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  fc_job j = {n, ctx->kernels, in->data, ctx->tensors[n->outputs[0]].data,
              (size_t)(xnn_shape_numel(&in->shape) / n->p.fc.k), 0};
  if (n->p.fc.sparse) {
    const xnn_sparse_split s = xnn_sparse_split_work(1, (size_t)n->p.fc.num_output, 1, ctx->kernels->spmm.tile, 1,
                                                     (size_t)xnn_threadpool_size(ctx->pool));
    j.channels = s.channel_block;
    xnn_parallelize(ctx->pool, fc_sparse_block, &j, s.channel_blocks);
    return;
  }
  xnn_parallelize(ctx->pool, fc_tile, &j, ((size_t)n->p.fc.num_output + TILE_N - 1) / TILE_N);
}

static void fc_choose(xnn_node* n, const xnn_tensor_rt* t, const xnn_kernels* k) {
  n->p.fc.sparse =
      xnn_sparse_choose(n->weights[0], (size_t)n->p.fc.num_output, (size_t)n->p.fc.k, 0, XNN_SPARSE_FC, k) > 0;
}

static xnn_status fc_pack(xnn_node* n, const xnn_kernels* k) {
  const xnn_fc_params* p = &n->p.fc;
  return p->sparse ? xnn_sparse_pack(n, 0, (size_t)p->num_output, (size_t)p->k, 1, p->has_bias ? 1 : -1, "") : XNN_OK;
}

const xnn_op_def xnn_op_inner_product = {.reshape = fc_reshape, .run = fc_run, .choose = fc_choose, .pack = fc_pack};
