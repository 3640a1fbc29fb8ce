/* Graph IR: the one vocabulary between readers and the planner. Tensors are in SSA form (Caffe's
 * in-place layers get a fresh tensor per write), nodes carry typed params and their weights. */
#pragma once
#include "core/common.h"
#include "kernels/params.h"

typedef enum xnn_op_type {
  XNN_OP_CONVOLUTION,
  XNN_OP_INNER_PRODUCT,
  XNN_OP_POOLING,
  XNN_OP_RELU,
  XNN_OP_PRELU,
  XNN_OP_SIGMOID,
  XNN_OP_TANH,
  XNN_OP_LRN,
  XNN_OP_AFFINE, /* per-channel y = a*x + b: BatchNorm, Scale and Bias after folding at load */
  XNN_OP_ELTWISE,
  XNN_OP_CONCAT,
  XNN_OP_SLICE,
  XNN_OP_SOFTMAX,
  XNN_OP_IDENTITY, /* Dropout, Split: outputs alias the input */
  XNN_OP_RESHAPE,  /* Reshape, Flatten: output aliases the input with another shape */
  XNN_OP_BINARY,   /* NumPy-broadcasting a op b; b may be a constant weight */
  XNN_OP_RESIZE,   /* NCHW spatial resize, nearest or bilinear (ONNX Resize/Upsample) */
  XNN_OP_PERMUTE,  /* Caffe's Permute, ONNX's Transpose */
  XNN_OP_LSTM,
  XNN_OP_EMBED,
  XNN_OP_NORMALIZE,        /* SSD: L2 normalization, then a learned scale */
  XNN_OP_PRIOR_BOX,        /* SSD: default boxes of a feature map */
  XNN_OP_DETECTION_OUTPUT, /* SSD: decode, per-class NMS, keep_top_k */
  XNN_OP_COUNT
} xnn_op_type;

/* A fused activation is the kernels' epilogue: y = x > 0 ? x : slope*x, clamped to [min, max]. */
typedef xnn_f32_act_params xnn_act;

typedef struct xnn_conv_params {
  int32_t num_output, group, cin;
  int32_t kh, kw, sh, sw, dh, dw;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  int32_t has_bias;
  /* 1: inputs[1] (same shape as the output) is added before the activation: an Eltwise SUM fused at
   * load, the residual connection of ResNets. */
  int32_t residual;
  xnn_act act;
  int32_t algo; /* XNN_CONV_*: chosen at load from the declared shapes and the weights, before they are packed */
  int32_t wino_tile; /* XNN_CONV_WINOGRAD: output tile 4 (F(4x4, 3x3)) or 2 (F(2x2, 3x3)), chosen with algo */
  int32_t sparse_block; /* XNN_CONV_SPARSE: output channels per block of the packed weights (ops/sparse.h) */
  /* Set at load: the vertical stride of the depthwise convolution that is the output's only reader (0: none).
   * Such a layer splits its work by channels, at stride 1 sometimes by rows (dw_row_bands). */
  int32_t feeds_depthwise;
  /* Set at load: the output's only reader is a 1x1 convolution with at most a third as many output channels
   * as input channels, which splits K where its input was written by channels (splits_k). */
  int32_t feeds_narrowing;
} xnn_conv_params;

enum { XNN_CONV_GEMM = 0, XNN_CONV_WINOGRAD = 1, XNN_CONV_SPARSE = 2 };

typedef struct xnn_fc_params {
  int32_t num_output, axis, has_bias;
  int64_t k;
  xnn_act act;
  int32_t sparse; /* chosen at load from the weights' density, before they are packed */
} xnn_fc_params;

enum { XNN_POOL_MAX, XNN_POOL_AVE };
typedef struct xnn_pool_params {
  int32_t method, global, ceil_mode;
  int32_t exclude_pad; /* average pooling divides by the taps inside the input (ONNX count_include_pad=0) */
  int32_t kh, kw, sh, sw, pad_top, pad_left, pad_bottom, pad_right;
} xnn_pool_params;

enum { XNN_LRN_ACROSS_CHANNELS, XNN_LRN_WITHIN_CHANNEL };
typedef struct xnn_lrn_params {
  int32_t size, region;
  float alpha, beta, k;
} xnn_lrn_params;

enum { XNN_ELTWISE_PROD, XNN_ELTWISE_SUM, XNN_ELTWISE_MAX };
typedef struct xnn_eltwise_params {
  int32_t op;
  float* coeffs; /* one per input, or NULL for all 1 */
  xnn_act act;   /* a following ReLU, fused at load */
} xnn_eltwise_params;

typedef struct xnn_axis_params {
  int32_t axis;
  int32_t num_points;
  int64_t* points; /* Slice points */
} xnn_axis_params;

typedef struct xnn_reshape_params {
  int32_t is_flatten;
  int32_t axis, end_axis, num_axes; /* Flatten: axis..end_axis; Reshape: axis, num_axes */
  xnn_shape shape;                  /* Reshape target (0 = copy, -1 = infer) */
} xnn_reshape_params;

enum { XNN_BINARY_ADD, XNN_BINARY_SUB, XNN_BINARY_MUL, XNN_BINARY_DIV, XNN_BINARY_MAX, XNN_BINARY_MIN,
       XNN_BINARY_POW, XNN_BINARY_PRELU /* a > 0 ? a : a * b */ };
typedef struct xnn_binary_params {
  int32_t op;
  int32_t const_first; /* with one input: 1 if the weight is the left operand */
  xnn_shape cshape;    /* with one input: the constant operand's shape (weight 0) */
} xnn_binary_params;

enum { XNN_RESIZE_NEAREST, XNN_RESIZE_LINEAR };
/* Source coordinate of output pixel x: half_pixel (x+0.5)/s-0.5, asymmetric x/s, align_corners
 * x*(in-1)/(out-1), pytorch_half_pixel (half_pixel, 0 when out is 1). */
enum { XNN_COORD_HALF_PIXEL, XNN_COORD_ASYMMETRIC, XNN_COORD_ALIGN_CORNERS, XNN_COORD_PYTORCH_HALF_PIXEL };
enum { XNN_NEAREST_ROUND_PREFER_FLOOR, XNN_NEAREST_ROUND_PREFER_CEIL, XNN_NEAREST_FLOOR, XNN_NEAREST_CEIL };
typedef struct xnn_resize_params {
  int32_t mode, coord, nearest;
  int32_t oh, ow; /* output size; 0: floor(in * scale) */
  float sh, sw;   /* scales (the coordinate transform's, when a size is given too) */
} xnn_resize_params;
/* Output dim i is input dim order[i]; ndim entries, a permutation of 0..ndim-1. */
typedef struct xnn_permute_params {
  int32_t ndim;
  int32_t order[XNN_MAX_DIMS];
} xnn_permute_params;
enum { XNN_LSTM_FORWARD, XNN_LSTM_REVERSE, XNN_LSTM_BIDIRECTIONAL };
/* Time-major LSTM (docs/FORMAT.md): gates i, f, o, g along 4H; optional inputs by flag, in the order cont,
 * static, sequence_lens, initial_h, initial_c. */
typedef struct xnn_lstm_params {
  int32_t hidden_size, direction;
  int32_t has_cont, has_static, has_seq_lens, has_initial;
  float clip;                      /* 0: none */
  int64_t input_size, static_size; /* I and S, from the weights */
  int32_t sparse;                  /* bit s: weight slot s runs sparse (chosen at load) */
} xnn_lstm_params;

/* Embed: rows of a [input_dim, num_output] table picked by integer-valued floats; with `wrap`, a value
 * in [-input_dim, 0) counts from the end (ONNX Gather). */
typedef struct xnn_embed_params {
  int32_t num_output, input_dim, has_bias, wrap;
} xnn_embed_params;

typedef struct xnn_normalize_params {
  int32_t across_spatial, channel_shared;
  float eps;
} xnn_normalize_params;

/* A short list of floats (PriorBox sizes and aspect ratios). */
#define XNN_MAX_PRIOR_SIZES 8
typedef struct xnn_float_list {
  int32_t count;
  float v[XNN_MAX_PRIOR_SIZES];
} xnn_float_list;

typedef struct xnn_prior_box_params {
  xnn_float_list min_size, max_size; /* max_size empty, or one per min_size */
  xnn_float_list aspect_ratio;       /* as given: the op adds 1 and, with flip, each 1/r, skipping repeats */
  int32_t flip, clip;
  int32_t img_h, img_w;              /* 0: the image input's height and width */
  float step_h, step_w;              /* 0: image size / feature map size */
  float offset;
  float variance[4];
} xnn_prior_box_params;

/* Caffe's PriorBoxParameter.CodeType numbers. */
enum { XNN_CODE_CORNER = 1, XNN_CODE_CENTER_SIZE = 2, XNN_CODE_CORNER_SIZE = 3 };
typedef struct xnn_detection_params {
  int32_t num_classes, share_location, background_label_id;
  int32_t top_k, keep_top_k; /* -1: no limit */
  int32_t code_type, variance_encoded_in_target;
  float nms_threshold, eta, confidence_threshold;
} xnn_detection_params;

typedef struct xnn_node {
  char* name;
  char* type; /* the model file's type name, for messages and tools */
  xnn_op_type op;
  int32_t num_inputs, num_outputs;
  int32_t* inputs;
  int32_t* outputs;
  union {
    xnn_conv_params conv;
    xnn_fc_params fc;
    xnn_pool_params pool;
    xnn_act act; /* ReLU */
    xnn_lrn_params lrn;
    xnn_eltwise_params eltwise;
    xnn_axis_params axis;
    xnn_reshape_params reshape;
    xnn_permute_params permute;
    xnn_normalize_params normalize;
    xnn_prior_box_params prior_box;
    xnn_detection_params detection;
    int32_t channel_shared; /* PReLU */
    xnn_binary_params binary;
    xnn_resize_params resize;
    xnn_lstm_params lstm;
    xnn_embed_params embed;
  } p;
  /* Weights as the op packs them at load (e.g. conv: [group][oc/group][cin/group*kh*kw], bias [oc]). */
  int32_t num_weights;
  float* weights[4];
  int64_t weight_size[4];
  int64_t num_params; /* learnable scalars in the model file */
} xnn_node;

enum { XNN_TENSOR_INPUT = -1, XNN_TENSOR_DEAD = -2 };

typedef struct xnn_tensor_info {
  char* name;       /* the model's blob name (several SSA versions may share one) */
  int32_t producer; /* node index, XNN_TENSOR_INPUT for a graph input, XNN_TENSOR_DEAD once fused away */
} xnn_tensor_info;

typedef struct xnn_graph {
  int32_t num_nodes, cap_nodes;
  xnn_node* nodes;
  int32_t num_tensors, cap_tensors;
  xnn_tensor_info* tensors;
  int32_t num_inputs, num_outputs;
  int32_t* inputs;  /* tensor ids */
  xnn_shape* input_shapes;
  int32_t* outputs; /* tensor ids */
  int32_t nhwc;     /* 4-D inputs hold images as NHWC (a Keras model), not NCHW: .xnn metadata "layout" */
  float* weight_block; /* once packed, every node's weights live here (xnn_graph_gather_weights) */
} xnn_graph;

XNN_INTERNAL void xnn_graph_free(xnn_graph* g);
/* Moves the nodes' (packed, from now on read-only) weights into one block, so that a large model's weights
 * sit on huge pages (xnn_alloc_aligned) and in one run of memory. Out of memory: leaves them where they are. */
XNN_INTERNAL void xnn_graph_gather_weights(xnn_graph* g);
/* Frees what one node owns (not the node itself). */
XNN_INTERNAL void xnn_node_free(xnn_node* n);
/* The node's type becomes type + separator + what: a fused layer's "Convolution+ReLU", a sparse one's
 * "... [sparse: 18.5% nonzero]". */
XNN_INTERNAL xnn_status xnn_node_append_type(xnn_node* n, const char* separator, const char* what);
/* Adds a tensor and returns its id, or -1 when out of memory. */
XNN_INTERNAL int32_t xnn_graph_add_tensor(xnn_graph* g, const char* name, int32_t producer);
/* Appends a graph input: an existing tensor (producer XNN_TENSOR_INPUT) and its declared shape. */
XNN_INTERNAL xnn_status xnn_graph_add_input(xnn_graph* g, int32_t tensor, const xnn_shape* shape);
/* Adds a node with room for its inputs/outputs; NULL when out of memory. */
XNN_INTERNAL xnn_node* xnn_graph_add_node(xnn_graph* g, const char* name, const char* type, int32_t num_inputs,
                                          int32_t num_outputs);
/* Net outputs: the tensors no node consumes (Caffe's rule). */
XNN_INTERNAL xnn_status xnn_graph_finalize(xnn_graph* g);
/* Folds BatchNorm/Scale/Bias into the Convolution or InnerProduct before them, then a ReLU; marks the
 * convolutions whose output only a depthwise convolution reads (xnn_conv_params.feeds_depthwise) or only a
 * narrowing 1x1 one (feeds_narrowing). */
XNN_INTERNAL xnn_status xnn_graph_fuse(xnn_graph* g);
/* XNN_OK if s is `ndim` dims equal to `dims` (-1: any), else error `code`: "<what> has shape 2x3, expected
 * 2x-1 (-1: any)". */
XNN_INTERNAL xnn_status xnn_shape_expect(xnn_status code, const char* what, const xnn_shape* s, int32_t ndim,
                                         const int64_t* dims);
