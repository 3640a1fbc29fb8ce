/* Concat along an axis: the inputs agree on every other dimension. */
#include <string.h>

#include "ops/ops.h"

static xnn_status concat_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* a = &t[n->inputs[0]].shape;
  const int32_t axis = xnn_axis(n->p.axis.axis, a->ndim);
  if (axis < 0) return xnn_shape_error("axis %d is out of range for a %d-D input", n->p.axis.axis, a->ndim);
  xnn_shape* out = &t[n->outputs[0]].shape;
  *out = *a;
  char b1[128], b2[128];
  for (int32_t i = 1; i < n->num_inputs; i++) {
    const xnn_shape* b = &t[n->inputs[i]].shape;
    int ok = b->ndim == a->ndim;
    for (int32_t d = 0; ok && d < a->ndim; d++) ok = d == axis || b->dims[d] == a->dims[d];
    if (!ok)
      return xnn_shape_error("input %d has shape %s, which does not match input 0's %s outside axis %d", i,
                             xnn_shape_str(b, b1, sizeof(b1)), xnn_shape_str(a, b2, sizeof(b2)), axis);
    out->dims[axis] += b->dims[axis];
  }
  plan->macs = 0;
  plan->workspace_bytes = 0;
  return XNN_OK;
}

typedef struct concat_job {
  const xnn_node* n;
  const xnn_tensor_rt* t;
  int32_t axis;
  size_t out_row; /* floats per outer index in the output */
} concat_job;

static void concat_outer(void* ctx, size_t o) {
  const concat_job* j = ctx;
  float* dst = j->t[j->n->outputs[0]].data + o * j->out_row;
  for (int32_t i = 0; i < j->n->num_inputs; i++) {
    const xnn_tensor_rt* in = &j->t[j->n->inputs[i]];
    const size_t row = (size_t)xnn_dims_product(&in->shape, j->axis, in->shape.ndim);
    /* The planner may have let the producer write its slice in place. */
    if (in->data + o * row != dst) memcpy(dst, in->data + o * row, row * sizeof(float));
    dst += row;
  }
}

static void concat_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_shape* out = &ctx->tensors[n->outputs[0]].shape;
  concat_job j = {n, ctx->tensors, xnn_axis(n->p.axis.axis, out->ndim), 0};
  j.out_row = (size_t)xnn_dims_product(out, j.axis, out->ndim);
  xnn_parallelize(ctx->pool, concat_outer, &j, (size_t)xnn_dims_product(out, 0, j.axis));
}

const xnn_op_def xnn_op_concat = {.reshape = concat_reshape, .run = concat_run};
