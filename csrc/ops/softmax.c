/* Softmax along an axis (Caffe's default 1: channels), max-subtracted for range safety. */
#include <math.h>

#include "ops/ops.h"

static xnn_status softmax_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  if (xnn_axis(n->p.axis.axis, in->ndim) < 0)
    return xnn_shape_error("axis %d is out of range for a %d-D input", n->p.axis.axis, in->ndim);
  return xnn_same_shape_reshape(n, t, plan);
}

typedef struct softmax_job {
  const float* x;
  float* y;
  size_t channels, inner;
} softmax_job;

static void softmax_outer(void* ctx, size_t o) {
  const softmax_job* j = ctx;
  const size_t c = j->channels, inner = j->inner;
  const float* x = j->x + o * c * inner;
  float* y = j->y + o * c * inner;
  for (size_t p = 0; p < inner; p++) {
    float m = x[p];
    for (size_t q = 1; q < c; q++) m = x[q * inner + p] > m ? x[q * inner + p] : m;
    float s = 0.0f;
    for (size_t q = 0; q < c; q++) s += y[q * inner + p] = expf(x[q * inner + p] - m);
    const float r = 1.0f / s;
    for (size_t q = 0; q < c; q++) y[q * inner + p] *= r;
  }
}

static void softmax_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const int32_t axis = xnn_axis(n->p.axis.axis, in->shape.ndim);
  softmax_job j = {in->data, ctx->tensors[n->outputs[0]].data, (size_t)in->shape.dims[axis],
                   (size_t)xnn_dims_product(&in->shape, axis + 1, in->shape.ndim)};
  xnn_parallelize(ctx->pool, softmax_outer, &j, (size_t)xnn_dims_product(&in->shape, 0, axis));
}

const xnn_op_def xnn_op_softmax = {.reshape = softmax_reshape, .run = softmax_run};
