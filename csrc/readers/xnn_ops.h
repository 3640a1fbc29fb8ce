/* The operators of the .xnn format (docs/FORMAT.md, "Operators"): each one's name, arity, attributes
 * (where they live in the node's params, their bounds) and weights. The .xnn reader fills nodes from it and
 * the Python binding describes nodes with it, so a graph from any reader is written back under the same
 * names, and the table is the one place that knows them. */
#pragma once
#include "core/graph.h"

enum {
  XNN_ATTR_INT,    /* `count` int32 values at `offset` */
  XNN_ATTR_FLOAT,  /* `count` floats at `offset` */
  XNN_ATTR_COEFFS, /* Eltwise coefficients: a float list, one per input */
  XNN_ATTR_POINTS, /* Slice points: an int list, one per output but the last */
  XNN_ATTR_SHAPE,  /* Reshape target: up to XNN_MAX_DIMS ints */
  XNN_ATTR_ORDER,  /* Permute order: 1 to XNN_MAX_DIMS ints */
};

typedef struct xnn_attr_def {
  const char* name;
  uint8_t kind;
  uint8_t count;
  uint16_t offset; /* into xnn_node.p */
  int32_t min, max; /* bounds of every int value */
  uint8_t required;
} xnn_attr_def;

typedef struct xnn_op_schema {
  const char* name;
  xnn_op_type op;
  int32_t min_inputs, max_inputs;   /* max 0: any number */
  int32_t min_outputs, max_outputs; /* max 0: any number */
  const xnn_attr_def* attrs;        /* ends with a NULL name */
} xnn_op_schema;

/* NULL for an unknown name. */
XNN_INTERNAL const xnn_op_schema* xnn_op_schema_find(const char* name);
/* The schema a node is written with (Flatten and Reshape share an IR op). */
XNN_INTERNAL const xnn_op_schema* xnn_op_schema_of(const xnn_node* node);
/* Sets every attribute of the node's params to its default. */
XNN_INTERNAL void xnn_op_schema_defaults(const xnn_op_schema* schema, xnn_node* node);
/* Checks what no single attribute bound can (num_output divisible by group, pads inside kernels...). */
XNN_INTERNAL xnn_status xnn_op_schema_check(const xnn_node* node);
/* Number of weights the node carries with its current params (bias terms included). */
XNN_INTERNAL int32_t xnn_op_num_weights(const xnn_node* node);
/* The shape weight `slot` must have; dimensions the params do not fix (a convolution's input channels,
 * a fully connected layer's K, a per-channel op's C) are -1. */
XNN_INTERNAL void xnn_op_weight_shape(const xnn_node* node, int32_t slot, xnn_shape* shape);
/* Takes those free dimensions from the weights' actual shapes (after they were checked against
 * xnn_op_weight_shape): a convolution's cin, a fully connected layer's k. */
XNN_INTERNAL xnn_status xnn_op_take_weight_shape(xnn_node* node, int32_t slot, const xnn_shape* shape);
