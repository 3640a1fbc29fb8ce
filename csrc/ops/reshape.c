/* Ops that move no data: Dropout and Split (every output is the input) and Reshape/Flatten (the input
 * with another shape). The planner gives their outputs the input's storage. */
#include "ops/ops.h"

static xnn_status identity_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  for (int32_t i = 0; i < n->num_outputs; i++) t[n->outputs[i]].shape = t[n->inputs[0]].shape;
  plan->macs = 0;
  plan->workspace_bytes = 0;
  return XNN_OK;
}

static xnn_status reshape_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_reshape_params* p = &n->p.reshape;
  const xnn_shape* in = &t[n->inputs[0]].shape;
  xnn_shape* out = &t[n->outputs[0]].shape;
  char b1[128], b2[128];
  plan->macs = 0;
  plan->workspace_bytes = 0;
  if (p->is_flatten) {
    const int32_t a = xnn_axis(p->axis, in->ndim), e = xnn_axis(p->end_axis, in->ndim);
    if (a < 0 || e < 0 || e < a) return xnn_shape_error("axis %d..%d does not fit a %d-D input", p->axis, p->end_axis, in->ndim);
    out->ndim = in->ndim - (e - a);
    for (int32_t i = 0; i < a; i++) out->dims[i] = in->dims[i];
    out->dims[a] = xnn_dims_product(in, a, e + 1);
    for (int32_t i = e + 1; i < in->ndim; i++) out->dims[i - (e - a)] = in->dims[i];
    return XNN_OK;
  }
  /* Reshape replaces dims [axis, axis + num_axes) of the input by `shape`. */
  int32_t start = p->axis < 0 ? p->axis + in->ndim + 1 : p->axis;
  int32_t end = p->num_axes < 0 ? in->ndim : start + p->num_axes;
  if (start < 0 || start > in->ndim || end > in->ndim || end < start)
    return xnn_shape_error("axis %d / num_axes %d do not fit a %d-D input", p->axis, p->num_axes, in->ndim);
  const int32_t ndim = start + p->shape.ndim + (in->ndim - end);
  if (ndim > XNN_MAX_DIMS) return xnn_shape_error("the result has more than %d dimensions", XNN_MAX_DIMS);
  int32_t infer = -1;
  int64_t known = 1;
  out->ndim = ndim;
  for (int32_t i = 0; i < start; i++) out->dims[i] = in->dims[i];
  for (int32_t i = 0; i < p->shape.ndim; i++) {
    int64_t d = p->shape.dims[i];
    if (d == 0) {
      if (start + i >= in->ndim) return xnn_shape_error("dim %d is 0 (copy) but the input has no dim %d", i, start + i);
      d = in->dims[start + i];
    }
    if (d == -1) {
      infer = start + i;
      d = 1;
    } else if (__builtin_mul_overflow(known, d, &known) || known > XNN_MAX_ELEMENTS) {
      return xnn_shape_error("cannot reshape %s: dim %d = %lld makes it too large", xnn_shape_str(in, b1, sizeof(b1)),
                             i, (long long)d);
    }
    out->dims[start + i] = d;
  }
  for (int32_t i = end; i < in->ndim; i++) out->dims[start + p->shape.ndim + (i - end)] = in->dims[i];
  for (int32_t i = 0; i < start; i++) known = xnn_mul_sat(known, in->dims[i]);
  for (int32_t i = end; i < in->ndim; i++) known = xnn_mul_sat(known, in->dims[i]);
  const int64_t total = xnn_shape_numel(in);
  if (infer >= 0) {
    if (known == 0 || total % known != 0)
      return xnn_shape_error("cannot infer dim -1: %lld elements do not divide by %lld", (long long)total, (long long)known);
    out->dims[infer] = total / known;
  }
  if (xnn_shape_numel_checked(out) != total)
    return xnn_shape_error("cannot reshape %s into %s", xnn_shape_str(in, b1, sizeof(b1)), xnn_shape_str(out, b2, sizeof(b2)));
  return XNN_OK;
}

const xnn_op_def xnn_op_identity = {.reshape = identity_reshape, .run = NULL};
const xnn_op_def xnn_op_reshape = {.reshape = reshape_reshape, .run = NULL};
