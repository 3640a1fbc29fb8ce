/* Normalize (SSD): x / sqrt(eps + sum of x^2), the sum over a whole item (across_spatial) or over the
 * channels at each position, then times a learned scale (one, or one per channel). Input [N, C, ...]. */
#include <math.h>

#include "ops/ops.h"

static xnn_status normalize_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  if (in->ndim < 2) return xnn_shape_error("the input must have a channel dim (N, C, ...), got %d-D", in->ndim);
  const int64_t want = n->p.normalize.channel_shared ? 1 : in->dims[1];
  if (n->weight_size[0] != want)
    return xnn_shape_error("scale has %lld values, expected %lld (%s)", (long long)n->weight_size[0], (long long)want,
                           n->p.normalize.channel_shared ? "channel_shared" : "one per channel");
  XNN_CHECK(xnn_same_shape_reshape(n, t, plan));
  plan->macs *= 2;
  return XNN_OK;
}

typedef struct normalize_job {
  const float *x, *scale;
  float* y;
  size_t c, s, blocks; /* channels, positions per item, position blocks per item */
  int shared;
  float eps;
} normalize_job;

enum { BLOCK = 64 };

/* One item: a sum over all of it. */
static void normalize_item(void* ctx, size_t item) {
  const normalize_job* j = ctx;
  const size_t size = j->c * j->s;
  const float* x = j->x + item * size;
  float* y = j->y + item * size;
  double sum = 0;
  for (size_t i = 0; i < size; i++) sum += (double)x[i] * x[i];
  const float inv = (float)(1.0 / sqrt(sum + j->eps));
  for (size_t c = 0; c < j->c; c++) {
    const float f = inv * j->scale[j->shared ? 0 : c];
    for (size_t i = 0; i < j->s; i++) y[c * j->s + i] = x[c * j->s + i] * f;
  }
}

/* BLOCK positions of one item: a sum over the channels at each. */
static void normalize_positions(void* ctx, size_t task) {
  const normalize_job* j = ctx;
  const size_t item = task / j->blocks, s0 = task % j->blocks * BLOCK, len = XNN_MIN((size_t)BLOCK, j->s - s0);
  const float* x = j->x + item * j->c * j->s + s0;
  float* y = j->y + item * j->c * j->s + s0;
  float inv[BLOCK];
  for (size_t i = 0; i < len; i++) inv[i] = 0;
  for (size_t c = 0; c < j->c; c++)
    for (size_t i = 0; i < len; i++) inv[i] += x[c * j->s + i] * x[c * j->s + i];
  for (size_t i = 0; i < len; i++) inv[i] = 1.0f / sqrtf(inv[i] + j->eps);
  for (size_t c = 0; c < j->c; c++) {
    const float f = j->scale[j->shared ? 0 : c];
    for (size_t i = 0; i < len; i++) y[c * j->s + i] = x[c * j->s + i] * inv[i] * f;
  }
}

static void normalize_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const size_t items = (size_t)in->shape.dims[0];
  normalize_job j = {in->data, n->weights[0], ctx->tensors[n->outputs[0]].data, (size_t)in->shape.dims[1],
                     (size_t)xnn_dims_product(&in->shape, 2, in->shape.ndim), 0, n->p.normalize.channel_shared,
                     n->p.normalize.eps};
  if (n->p.normalize.across_spatial) {
    xnn_parallelize(ctx->pool, normalize_item, &j, items);
  } else {
    j.blocks = (j.s + BLOCK - 1) / BLOCK;
    xnn_parallelize(ctx->pool, normalize_positions, &j, items * j.blocks);
  }
}

const xnn_op_def xnn_op_normalize = {.reshape = normalize_reshape, .run = normalize_run};
