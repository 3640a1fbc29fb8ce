/* Slice along an axis at the given points, or into equal parts (one per output) when none are given. */
#include <string.h>

#include "ops/ops.h"

static xnn_status slice_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  const xnn_axis_params* p = &n->p.axis;
  const int32_t axis = xnn_axis(p->axis, in->ndim);
  if (axis < 0) return xnn_shape_error("axis %d is out of range for a %d-D input", p->axis, in->ndim);
  const int64_t total = in->dims[axis];
  if (p->num_points == 0 && total % n->num_outputs != 0)
    return xnn_shape_error("axis %d has size %lld, not divisible into %d equal slices", axis, (long long)total,
                           n->num_outputs);
  int64_t prev = 0;
  for (int32_t i = 0; i < n->num_outputs; i++) {
    const int64_t end = p->num_points ? (i < p->num_points ? p->points[i] : total) : total / n->num_outputs * (i + 1);
    if (end <= prev || end > total)
      return xnn_shape_error("slice_point %lld does not fit axis %d of size %lld", (long long)end, axis,
                             (long long)total);
    xnn_shape* out = &t[n->outputs[i]].shape;
    *out = *in;
    out->dims[axis] = end - prev;
    prev = end;
  }
  plan->macs = 0;
  plan->workspace_bytes = 0;
  return XNN_OK;
}

typedef struct slice_job {
  const xnn_node* n;
  const xnn_tensor_rt* t;
  int32_t axis;
  size_t in_row;
} slice_job;

static void slice_outer(void* ctx, size_t o) {
  const slice_job* j = ctx;
  const float* src = j->t[j->n->inputs[0]].data + o * j->in_row;
  for (int32_t i = 0; i < j->n->num_outputs; i++) {
    const xnn_tensor_rt* out = &j->t[j->n->outputs[i]];
    const size_t row = (size_t)xnn_dims_product(&out->shape, j->axis, out->shape.ndim);
    memcpy(out->data + o * row, src, row * sizeof(float));
    src += row;
  }
}

static void slice_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_shape* in = &ctx->tensors[n->inputs[0]].shape;
  slice_job j = {n, ctx->tensors, xnn_axis(n->p.axis.axis, in->ndim), 0};
  j.in_row = (size_t)xnn_dims_product(in, j.axis, in->ndim);
  xnn_parallelize(ctx->pool, slice_outer, &j, (size_t)xnn_dims_product(in, 0, j.axis));
}

const xnn_op_def xnn_op_slice = {.reshape = slice_reshape, .run = slice_run};
