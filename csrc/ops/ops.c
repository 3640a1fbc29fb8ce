#include "ops/ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Ops left out of the build (CMake's XNN_OPS) resolve to NULL. */
#ifndef XNN_WITHOUT_ACTIVATION
#define XNN_WITHOUT_ACTIVATION 0
#endif
#ifndef XNN_WITHOUT_CHANNELWISE
#define XNN_WITHOUT_CHANNELWISE 0
#endif
#ifndef XNN_WITHOUT_CONCAT
#define XNN_WITHOUT_CONCAT 0
#endif
#ifndef XNN_WITHOUT_CONVOLUTION
#define XNN_WITHOUT_CONVOLUTION 0
#endif
#ifndef XNN_WITHOUT_ELTWISE
#define XNN_WITHOUT_ELTWISE 0
#endif
#ifndef XNN_WITHOUT_INNER_PRODUCT
#define XNN_WITHOUT_INNER_PRODUCT 0
#endif
#ifndef XNN_WITHOUT_LRN
#define XNN_WITHOUT_LRN 0
#endif
#ifndef XNN_WITHOUT_POOLING
#define XNN_WITHOUT_POOLING 0
#endif
#ifndef XNN_WITHOUT_RESHAPE
#define XNN_WITHOUT_RESHAPE 0
#endif
#ifndef XNN_WITHOUT_SLICE
#define XNN_WITHOUT_SLICE 0
#endif
#ifndef XNN_WITHOUT_NORMALIZE
#define XNN_WITHOUT_NORMALIZE 0
#endif
#ifndef XNN_WITHOUT_PRIOR_BOX
#define XNN_WITHOUT_PRIOR_BOX 0
#endif
#ifndef XNN_WITHOUT_DETECTION_OUTPUT
#define XNN_WITHOUT_DETECTION_OUTPUT 0
#endif
#ifndef XNN_WITHOUT_PERMUTE
#define XNN_WITHOUT_PERMUTE 0
#endif
#ifndef XNN_WITHOUT_SOFTMAX
#define XNN_WITHOUT_SOFTMAX 0
#endif
#ifndef XNN_WITHOUT_BINARY
#define XNN_WITHOUT_BINARY 0
#endif
#ifndef XNN_WITHOUT_RESIZE
#define XNN_WITHOUT_RESIZE 0
#endif
#ifndef XNN_WITHOUT_LSTM
#define XNN_WITHOUT_LSTM 0
#endif
#ifndef XNN_WITHOUT_EMBED
#define XNN_WITHOUT_EMBED 0
#endif

const xnn_op_def* xnn_op_get(xnn_op_type op) {
  switch (op) {
#if !XNN_WITHOUT_CONVOLUTION
    case XNN_OP_CONVOLUTION: return &xnn_op_convolution;
#endif
#if !XNN_WITHOUT_INNER_PRODUCT
    case XNN_OP_INNER_PRODUCT: return &xnn_op_inner_product;
#endif
#if !XNN_WITHOUT_POOLING
    case XNN_OP_POOLING: return &xnn_op_pooling;
#endif
#if !XNN_WITHOUT_ACTIVATION
    case XNN_OP_RELU:
    case XNN_OP_SIGMOID:
    case XNN_OP_TANH: return &xnn_op_activation;
#endif
#if !XNN_WITHOUT_CHANNELWISE
    case XNN_OP_PRELU: return &xnn_op_prelu;
    case XNN_OP_AFFINE: return &xnn_op_affine;
#endif
#if !XNN_WITHOUT_LRN
    case XNN_OP_LRN: return &xnn_op_lrn;
#endif
#if !XNN_WITHOUT_ELTWISE
    case XNN_OP_ELTWISE: return &xnn_op_eltwise;
#endif
#if !XNN_WITHOUT_CONCAT
    case XNN_OP_CONCAT: return &xnn_op_concat;
#endif
#if !XNN_WITHOUT_SLICE
    case XNN_OP_SLICE: return &xnn_op_slice;
#endif
#if !XNN_WITHOUT_SOFTMAX
    case XNN_OP_SOFTMAX: return &xnn_op_softmax;
#endif
#if !XNN_WITHOUT_RESHAPE
    case XNN_OP_IDENTITY: return &xnn_op_identity;
    case XNN_OP_RESHAPE: return &xnn_op_reshape;
#endif
#if !XNN_WITHOUT_BINARY
    case XNN_OP_BINARY: return &xnn_op_binary;
#endif
#if !XNN_WITHOUT_RESIZE
    case XNN_OP_RESIZE: return &xnn_op_resize;
#endif
#if !XNN_WITHOUT_PERMUTE
    case XNN_OP_PERMUTE: return &xnn_op_permute;
#endif
#if !XNN_WITHOUT_LSTM
    case XNN_OP_LSTM: return &xnn_op_lstm;
#endif
#if !XNN_WITHOUT_EMBED
    case XNN_OP_EMBED: return &xnn_op_embed;
#endif
#if !XNN_WITHOUT_NORMALIZE
    case XNN_OP_NORMALIZE: return &xnn_op_normalize;
#endif
#if !XNN_WITHOUT_PRIOR_BOX
    case XNN_OP_PRIOR_BOX: return &xnn_op_prior_box;
#endif
#if !XNN_WITHOUT_DETECTION_OUTPUT
    case XNN_OP_DETECTION_OUTPUT: return &xnn_op_detection_output;
#endif
    default: break;
  }
  return NULL;
}

const char* xnn_op_file(xnn_op_type op) {
  switch (op) {
    case XNN_OP_CONVOLUTION: return "convolution";
    case XNN_OP_INNER_PRODUCT: return "inner_product";
    case XNN_OP_POOLING: return "pooling";
    case XNN_OP_RELU:
    case XNN_OP_SIGMOID:
    case XNN_OP_TANH: return "activation";
    case XNN_OP_PRELU:
    case XNN_OP_AFFINE: return "channelwise";
    case XNN_OP_LRN: return "lrn";
    case XNN_OP_ELTWISE: return "eltwise";
    case XNN_OP_CONCAT: return "concat";
    case XNN_OP_SLICE: return "slice";
    case XNN_OP_SOFTMAX: return "softmax";
    case XNN_OP_IDENTITY:
    case XNN_OP_RESHAPE: return "reshape";
    case XNN_OP_BINARY: return "binary";
    case XNN_OP_RESIZE: return "resize";
    case XNN_OP_PERMUTE: return "permute";
    case XNN_OP_LSTM: return "lstm";
    case XNN_OP_EMBED: return "embed";
    case XNN_OP_NORMALIZE: return "normalize";
    case XNN_OP_PRIOR_BOX: return "prior_box";
    case XNN_OP_DETECTION_OUTPUT: return "detection_output";
    default: return "?";
  }
}

int xnn_op_in_place_input(const xnn_node* n) {
  switch (n->op) {
    case XNN_OP_RELU:
    case XNN_OP_SIGMOID:
    case XNN_OP_TANH:
    case XNN_OP_PRELU:
    case XNN_OP_AFFINE:
    case XNN_OP_ELTWISE:
    case XNN_OP_SOFTMAX:
    case XNN_OP_NORMALIZE:
      return 0;
    case XNN_OP_CONVOLUTION:
      /* A fused residual sum: each output value is the residual's value at the same place plus the
       * GEMM's, read just before it is written. */
      return n->p.conv.residual ? 1 : -1;
    default:
      return -1;
  }
}

xnn_status xnn_shape_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  xnn_verror(XNN_ERROR_SHAPE, fmt, ap);
  va_end(ap);
  return XNN_ERROR_SHAPE;
}

xnn_status xnn_same_shape_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  t[n->outputs[0]].shape = t[n->inputs[0]].shape;
  plan->macs = xnn_shape_numel(&t[n->inputs[0]].shape);
  plan->workspace_bytes = 0;
  return XNN_OK;
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

void xnn_pad_plane(float* dst, size_t rows, size_t stride, const float* src, size_t ih, size_t iw, size_t top,
                   size_t left) {
  const size_t copy = left < stride ? XNN_MIN(iw, stride - left) : 0;
  const size_t first = XNN_MIN(top, rows), end = XNN_MIN(top + ih, rows);
  if (copy == iw && stride >= 16) {
    /* Three calls of variable size a row cost more than the copy on small maps (Winograd pads every input
     * plane of a 3x3 layer: a 28x28x128 input took 0.09 ms). Here: the rows above and below in one call
     * each, each row's borders in fixed-size stores of 16 floats (inside the row, overlapping its
     * interior), then the interiors over them. */
    memset(dst, 0, first * stride * sizeof(float));
    memset(dst + end * stride, 0, (rows - end) * stride * sizeof(float));
    for (size_t y = first; y < end; y++) {
      float* row = dst + y * stride;
      for (size_t x = 0; x < left; x += 16) memset(row + XNN_MIN(x, stride - 16), 0, 16 * sizeof(float));
      for (size_t x = left + iw; x < stride; x += 16) memset(row + XNN_MIN(x, stride - 16), 0, 16 * sizeof(float));
    }
    if (end > first) xnn_copy_rows(dst + first * stride + left, stride, src, end - first, iw);
    return;
  }
  for (size_t y = 0; y < rows; y++) {
    float* row = dst + y * stride;
    if (y < top || y - top >= ih) {
      memset(row, 0, stride * sizeof(float));
      continue;
    }
    memset(row, 0, XNN_MIN(left, stride) * sizeof(float));
    memcpy(row + left, src + (y - top) * iw, copy * sizeof(float));
    memset(row + left + copy, 0, (stride - XNN_MIN(left, stride) - copy) * sizeof(float));
  }
}

/* Rows of `chunk` to 2 * chunk - 1 floats (chunk a constant where inlined): two copies of a chunk, the
 * second overlapping the first. */
static inline void copy_short_rows(float* dst, size_t dst_stride, const float* src, size_t rows, size_t width,
                                   size_t chunk) {
  for (size_t y = 0; y < rows; y++, src += width, dst += dst_stride) {
    memcpy(dst, src, chunk * sizeof(float));
    memcpy(dst + width - chunk, src + width - chunk, chunk * sizeof(float));
  }
}

void xnn_copy_rows(float* dst, size_t dst_stride, const float* src, size_t rows, size_t width) {
  /* Fixed-size copies become vector loads and stores (a float at a time took ~4 instructions a value:
   * AArch64, 11 M of MobileNet v1's depthwise layers, which copy each plane into padded scratch). A row's
   * last part is one more such copy that overlaps the previous one, not a scalar tail: rewriting a few
   * values with themselves costs less than the branches (half of the 4.7 M that remained). Rows of 4 to
   * 15 are two copies of 4 or 8 floats, and the width is tested once per plane, not per row (MobileNet
   * v1's 14-wide rows took three copies of 4 and a tail: 3.1 M in all, then). */
  if (width >= 16) {
    for (size_t y = 0; y < rows; y++, src += width, dst += dst_stride) {
      size_t x = 0;
      for (; x + 16 <= width; x += 16) memcpy(dst + x, src + x, 16 * sizeof(float));
      if (x < width) memcpy(dst + width - 16, src + width - 16, 16 * sizeof(float));
    }
  } else if (width >= 8) {
    copy_short_rows(dst, dst_stride, src, rows, width, 8);
  } else if (width >= 4) {
    copy_short_rows(dst, dst_stride, src, rows, width, 4);
  } else {
    for (size_t y = 0; y < rows; y++, src += width, dst += dst_stride)
      for (size_t x = 0; x < width; x++) dst[x] = src[x];
  }
}
