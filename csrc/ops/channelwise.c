/* Per-channel ops on axis 1: PReLU (y = x > 0 ? x : a[c]*x) and the affine y = a[c]*x + b[c] that
 * BatchNorm, Scale and Bias become at load. */
#include "ops/ops.h"


static xnn_status channel_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  const int64_t want = n->weight_size[0];
  const int shared = n->op == XNN_OP_PRELU && n->p.channel_shared;
  if (!shared && (in->ndim < 2 || in->dims[1] != want))
    return xnn_shape_error("input has %lld channels, the layer has %lld", in->ndim < 2 ? 1LL : (long long)in->dims[1],
                           (long long)want);
  return xnn_same_shape_reshape(n, t, plan);
}

typedef struct channel_job {
  const xnn_node* n;
  const float* x;
  float* y;
  size_t channels, inner;
} channel_job;

static void channel_plane(void* ctx, size_t i) {
  const channel_job* j = ctx;
  const size_t c = i % j->channels;
  const float* x = j->x + i * j->inner;
  float* y = j->y + i * j->inner;
  if (j->n->op == XNN_OP_PRELU) {
    const float a = j->n->weights[0][j->n->p.channel_shared ? 0 : c];
    for (size_t p = 0; p < j->inner; p++) y[p] = x[p] > 0.0f ? x[p] : a * x[p];
  } else {
    const float a = j->n->weights[0][c], b = j->n->weights[1][c];
    for (size_t p = 0; p < j->inner; p++) y[p] = a * x[p] + b;
  }
}

static void channel_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_shape* s = &in->shape;
  const size_t channels = s->ndim >= 2 ? (size_t)s->dims[1] : 1;
  const size_t inner = (size_t)xnn_dims_product(s, 2, s->ndim);
  channel_job j = {n, in->data, ctx->tensors[n->outputs[0]].data, channels, inner};
  xnn_parallelize(ctx->pool, channel_plane, &j, (size_t)(s->ndim ? s->dims[0] : 1) * channels);
}

const xnn_op_def xnn_op_prelu = {.reshape = channel_reshape, .run = channel_run};
const xnn_op_def xnn_op_affine = {.reshape = channel_reshape, .run = channel_run};
