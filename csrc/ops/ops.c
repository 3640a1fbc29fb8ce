#include "ops/ops.h"

#include <stdarg.h>
#include <stdio.h>

const xnn_op_def* xnn_op_get(xnn_op_type op) {
  switch (op) {
    case XNN_OP_CONVOLUTION: return &xnn_op_convolution;
    case XNN_OP_INNER_PRODUCT: return &xnn_op_inner_product;
    case XNN_OP_POOLING: return &xnn_op_pooling;
    case XNN_OP_RELU:
    case XNN_OP_SIGMOID:
    case XNN_OP_TANH: return &xnn_op_activation;
    case XNN_OP_PRELU: return &xnn_op_prelu;
    case XNN_OP_LRN: return &xnn_op_lrn;
    case XNN_OP_AFFINE: return &xnn_op_affine;
    case XNN_OP_ELTWISE: return &xnn_op_eltwise;
    case XNN_OP_CONCAT: return &xnn_op_concat;
    case XNN_OP_SLICE: return &xnn_op_slice;
    case XNN_OP_SOFTMAX: return &xnn_op_softmax;
    case XNN_OP_IDENTITY: return &xnn_op_identity;
    case XNN_OP_RESHAPE: return &xnn_op_reshape;
    case XNN_OP_COUNT: break;
  }
  return NULL;
}

int xnn_op_in_place(xnn_op_type op) {
  switch (op) {
    case XNN_OP_RELU:
    case XNN_OP_SIGMOID:
    case XNN_OP_TANH:
    case XNN_OP_PRELU:
    case XNN_OP_AFFINE:
    case XNN_OP_ELTWISE:
    case XNN_OP_SOFTMAX:
      return 1;
    default:
      return 0;
  }
}

xnn_status xnn_shape_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  xnn_verror(XNN_ERROR_SHAPE, fmt, ap);
  va_end(ap);
  return XNN_ERROR_SHAPE;
}

int32_t xnn_axis(int32_t axis, int32_t ndim) {
  if (axis < 0) axis += ndim;
  return axis >= 0 && axis < ndim ? axis : -1;
}

int64_t xnn_dims_product(const xnn_shape* s, int32_t from, int32_t to) {
  int64_t n = 1;
  for (int32_t i = from; i < to; i++) n *= s->dims[i];
  return n;
}
