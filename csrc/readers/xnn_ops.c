#include "readers/xnn_ops.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define P(field) (uint16_t)(offsetof(xnn_node, p.field) - offsetof(xnn_node, p))
#define DIM 65536
#define BIG (1 << 24)

static const xnn_attr_def k_conv[] = {
    {"num_output", XNN_ATTR_INT, 1, P(conv.num_output), 1, BIG, 1},
    {"group", XNN_ATTR_INT, 1, P(conv.group), 1, BIG, 0},
    {"kernel", XNN_ATTR_INT, 2, P(conv.kh), 1, DIM, 1},
    {"stride", XNN_ATTR_INT, 2, P(conv.sh), 1, DIM, 0},
    {"dilation", XNN_ATTR_INT, 2, P(conv.dh), 1, DIM, 0},
    {"pad", XNN_ATTR_INT, 4, P(conv.pad_top), 0, DIM, 0},
    {"bias", XNN_ATTR_INT, 1, P(conv.has_bias), 0, 1, 0},
    {"activation", XNN_ATTR_FLOAT, 3, P(conv.act), 0, 0, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_fc[] = {
    {"num_output", XNN_ATTR_INT, 1, P(fc.num_output), 1, BIG, 1},
    {"axis", XNN_ATTR_INT, 1, P(fc.axis), -XNN_MAX_DIMS, XNN_MAX_DIMS - 1, 0},
    {"bias", XNN_ATTR_INT, 1, P(fc.has_bias), 0, 1, 0},
    {"activation", XNN_ATTR_FLOAT, 3, P(fc.act), 0, 0, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_pool[] = {
    {"method", XNN_ATTR_INT, 1, P(pool.method), 0, 1, 0},
    {"global", XNN_ATTR_INT, 1, P(pool.global), 0, 1, 0},
    {"kernel", XNN_ATTR_INT, 2, P(pool.kh), 1, DIM, 0},
    {"stride", XNN_ATTR_INT, 2, P(pool.sh), 1, DIM, 0},
    {"pad", XNN_ATTR_INT, 4, P(pool.pad_top), 0, DIM, 0},
    {"ceil_mode", XNN_ATTR_INT, 1, P(pool.ceil_mode), 0, 1, 0},
    {"exclude_pad", XNN_ATTR_INT, 1, P(pool.exclude_pad), 0, 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_act[] = {{"activation", XNN_ATTR_FLOAT, 3, P(act), 0, 0, 0}, {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_prelu[] = {{"channel_shared", XNN_ATTR_INT, 1, P(channel_shared), 0, 1, 0},
                                       {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_lrn[] = {
    {"size", XNN_ATTR_INT, 1, P(lrn.size), 1, DIM, 0},
    {"region", XNN_ATTR_INT, 1, P(lrn.region), 0, 1, 0},
    {"alpha", XNN_ATTR_FLOAT, 1, P(lrn.alpha), 0, 0, 0},
    {"beta", XNN_ATTR_FLOAT, 1, P(lrn.beta), 0, 0, 0},
    {"k", XNN_ATTR_FLOAT, 1, P(lrn.k), 0, 0, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_eltwise[] = {
    {"operation", XNN_ATTR_INT, 1, P(eltwise.op), 0, 2, 0},
    {"coeffs", XNN_ATTR_COEFFS, 0, 0, 0, 0, 0},
    {"activation", XNN_ATTR_FLOAT, 3, P(eltwise.act), 0, 0, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_axis[] = {{"axis", XNN_ATTR_INT, 1, P(axis.axis), -XNN_MAX_DIMS, XNN_MAX_DIMS - 1, 0},
                                      {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_slice[] = {{"axis", XNN_ATTR_INT, 1, P(axis.axis), -XNN_MAX_DIMS, XNN_MAX_DIMS - 1, 0},
                                       {"points", XNN_ATTR_POINTS, 0, 0, 1, XNN_MAX_DIM, 0},
                                       {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_flatten[] = {
    {"axis", XNN_ATTR_INT, 1, P(reshape.axis), -XNN_MAX_DIMS, XNN_MAX_DIMS - 1, 0},
    {"end_axis", XNN_ATTR_INT, 1, P(reshape.end_axis), -XNN_MAX_DIMS, XNN_MAX_DIMS - 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_reshape[] = {
    {"shape", XNN_ATTR_SHAPE, 0, 0, -1, XNN_MAX_DIM, 1},
    {"axis", XNN_ATTR_INT, 1, P(reshape.axis), -XNN_MAX_DIMS, XNN_MAX_DIMS, 0},
    {"num_axes", XNN_ATTR_INT, 1, P(reshape.num_axes), -1, XNN_MAX_DIMS, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_binary[] = {
    {"operation", XNN_ATTR_INT, 1, P(binary.op), 0, XNN_BINARY_PRELU, 1},
    {"const_first", XNN_ATTR_INT, 1, P(binary.const_first), 0, 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_resize[] = {
    {"mode", XNN_ATTR_INT, 1, P(resize.mode), 0, XNN_RESIZE_LINEAR, 0},
    {"coord", XNN_ATTR_INT, 1, P(resize.coord), 0, XNN_COORD_PYTORCH_HALF_PIXEL, 0},
    {"nearest", XNN_ATTR_INT, 1, P(resize.nearest), 0, XNN_NEAREST_CEIL, 0},
    {"size", XNN_ATTR_INT, 2, P(resize.oh), 0, DIM, 0},
    {"scale", XNN_ATTR_FLOAT, 2, P(resize.sh), 0, 0, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_permute[] = {{"order", XNN_ATTR_ORDER, 0, 0, 0, XNN_MAX_DIMS - 1, 1},
                                         {NULL, 0, 0, 0, 0, 0, 0}};
static const xnn_attr_def k_lstm[] = {
    {"hidden_size", XNN_ATTR_INT, 1, P(lstm.hidden_size), 1, BIG, 1},
    {"direction", XNN_ATTR_INT, 1, P(lstm.direction), 0, 2, 0},
    {"has_cont", XNN_ATTR_INT, 1, P(lstm.has_cont), 0, 1, 0},
    {"has_static", XNN_ATTR_INT, 1, P(lstm.has_static), 0, 1, 0},
    {"has_seq_lens", XNN_ATTR_INT, 1, P(lstm.has_seq_lens), 0, 1, 0},
    {"has_initial", XNN_ATTR_INT, 1, P(lstm.has_initial), 0, 1, 0},
    {"clip", XNN_ATTR_FLOAT, 1, P(lstm.clip), 0, 0, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_embed[] = {
    {"num_output", XNN_ATTR_INT, 1, P(embed.num_output), 1, BIG, 1},
    {"input_dim", XNN_ATTR_INT, 1, P(embed.input_dim), 1, INT32_MAX, 1},
    {"bias", XNN_ATTR_INT, 1, P(embed.has_bias), 0, 1, 0},
    {"wrap", XNN_ATTR_INT, 1, P(embed.wrap), 0, 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_normalize[] = {
    {"across_spatial", XNN_ATTR_INT, 1, P(normalize.across_spatial), 0, 1, 0},
    {"channel_shared", XNN_ATTR_INT, 1, P(normalize.channel_shared), 0, 1, 0},
    {"eps", XNN_ATTR_FLOAT, 1, P(normalize.eps), 0, 0, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_prior_box[] = {
    {"min_size", XNN_ATTR_FLOATS, XNN_MAX_PRIOR_SIZES, P(prior_box.min_size), 0, 0, 1},
    {"max_size", XNN_ATTR_FLOATS, XNN_MAX_PRIOR_SIZES, P(prior_box.max_size), 0, 0, 0},
    {"aspect_ratio", XNN_ATTR_FLOATS, XNN_MAX_PRIOR_SIZES, P(prior_box.aspect_ratio), 0, 0, 0},
    {"flip", XNN_ATTR_INT, 1, P(prior_box.flip), 0, 1, 0},
    {"clip", XNN_ATTR_INT, 1, P(prior_box.clip), 0, 1, 0},
    {"img_size", XNN_ATTR_INT, 2, P(prior_box.img_h), 0, BIG, 0},
    {"step", XNN_ATTR_FLOAT, 2, P(prior_box.step_h), 0, 0, 0},
    {"offset", XNN_ATTR_FLOAT, 1, P(prior_box.offset), 0, 0, 0},
    {"variance", XNN_ATTR_FLOAT, 4, P(prior_box.variance), 0, 0, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_detection[] = {
    {"num_classes", XNN_ATTR_INT, 1, P(detection.num_classes), 1, BIG, 1},
    {"share_location", XNN_ATTR_INT, 1, P(detection.share_location), 0, 1, 0},
    {"background_label_id", XNN_ATTR_INT, 1, P(detection.background_label_id), -1, BIG, 0},
    {"nms_threshold", XNN_ATTR_FLOAT, 1, P(detection.nms_threshold), 0, 0, 0},
    {"top_k", XNN_ATTR_INT, 1, P(detection.top_k), -1, BIG, 0},
    {"eta", XNN_ATTR_FLOAT, 1, P(detection.eta), 0, 0, 0},
    {"confidence_threshold", XNN_ATTR_FLOAT, 1, P(detection.confidence_threshold), 0, 0, 0},
    {"keep_top_k", XNN_ATTR_INT, 1, P(detection.keep_top_k), -1, BIG, 0},
    {"code_type", XNN_ATTR_INT, 1, P(detection.code_type), XNN_CODE_CORNER, XNN_CODE_CORNER_SIZE, 0},
    {"variance_encoded_in_target", XNN_ATTR_INT, 1, P(detection.variance_encoded_in_target), 0, 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_attr_def k_none[] = {{NULL, 0, 0, 0, 0, 0, 0}};

static const xnn_op_schema k_ops[] = {
    {"Convolution", XNN_OP_CONVOLUTION, 1, 1, 1, 1, k_conv},
    {"InnerProduct", XNN_OP_INNER_PRODUCT, 1, 1, 1, 1, k_fc},
    {"Pooling", XNN_OP_POOLING, 1, 1, 1, 1, k_pool},
    {"ReLU", XNN_OP_RELU, 1, 1, 1, 1, k_act},
    {"PReLU", XNN_OP_PRELU, 1, 1, 1, 1, k_prelu},
    {"Sigmoid", XNN_OP_SIGMOID, 1, 1, 1, 1, k_none},
    {"TanH", XNN_OP_TANH, 1, 1, 1, 1, k_none},
    {"LRN", XNN_OP_LRN, 1, 1, 1, 1, k_lrn},
    {"Affine", XNN_OP_AFFINE, 1, 1, 1, 1, k_none},
    {"Eltwise", XNN_OP_ELTWISE, 2, 0, 1, 1, k_eltwise},
    {"Concat", XNN_OP_CONCAT, 1, 0, 1, 1, k_axis},
    {"Slice", XNN_OP_SLICE, 1, 1, 1, 0, k_slice},
    {"Softmax", XNN_OP_SOFTMAX, 1, 1, 1, 1, k_axis},
    {"Identity", XNN_OP_IDENTITY, 1, 1, 1, 0, k_none},
    {"Flatten", XNN_OP_RESHAPE, 1, 1, 1, 1, k_flatten},
    {"Reshape", XNN_OP_RESHAPE, 1, 1, 1, 1, k_reshape},
    {"Binary", XNN_OP_BINARY, 1, 2, 1, 1, k_binary},
    {"Resize", XNN_OP_RESIZE, 1, 1, 1, 1, k_resize},
    {"Permute", XNN_OP_PERMUTE, 1, 1, 1, 1, k_permute},
    {"LSTM", XNN_OP_LSTM, 1, 6, 1, 3, k_lstm},
    {"Embed", XNN_OP_EMBED, 1, 1, 1, 1, k_embed},
    {"Normalize", XNN_OP_NORMALIZE, 1, 1, 1, 1, k_normalize},
    {"PriorBox", XNN_OP_PRIOR_BOX, 2, 2, 1, 1, k_prior_box},
    {"DetectionOutput", XNN_OP_DETECTION_OUTPUT, 3, 3, 1, 1, k_detection},
};

const xnn_op_schema* xnn_op_schema_find(const char* name) {
  for (size_t i = 0; i < sizeof(k_ops) / sizeof(k_ops[0]); i++)
    if (strcmp(k_ops[i].name, name) == 0) return &k_ops[i];
  return NULL;
}

const xnn_op_schema* xnn_op_schema_at(size_t i) { return i < sizeof(k_ops) / sizeof(k_ops[0]) ? &k_ops[i] : NULL; }

const xnn_op_schema* xnn_op_schema_of(const xnn_node* n) {
  if (n->op == XNN_OP_RESHAPE) return xnn_op_schema_find(n->p.reshape.is_flatten ? "Flatten" : "Reshape");
  for (size_t i = 0; i < sizeof(k_ops) / sizeof(k_ops[0]); i++)
    if (k_ops[i].op == n->op) return &k_ops[i];
  return NULL;
}

void xnn_op_schema_defaults(const xnn_op_schema* s, xnn_node* n) {
  memset(&n->p, 0, sizeof(n->p));
  n->op = s->op;
  switch (s->op) {
    case XNN_OP_CONVOLUTION:
      n->p.conv.group = 1;
      n->p.conv.sh = n->p.conv.sw = n->p.conv.dh = n->p.conv.dw = 1;
      n->p.conv.has_bias = 1;
      n->p.conv.act = xnn_f32_act_identity();
      break;
    case XNN_OP_INNER_PRODUCT:
      n->p.fc.axis = 1;
      n->p.fc.has_bias = 1;
      n->p.fc.act = xnn_f32_act_identity();
      break;
    case XNN_OP_POOLING:
      n->p.pool.kh = n->p.pool.kw = n->p.pool.sh = n->p.pool.sw = 1;
      n->p.pool.ceil_mode = 1;
      break;
    case XNN_OP_RELU:
      n->p.act = xnn_f32_act_identity();
      n->p.act.slope = 0.0f;
      break;
    case XNN_OP_SIGMOID:
    case XNN_OP_TANH:
      n->p.act = xnn_f32_act_identity();
      break;
    case XNN_OP_LRN:
      n->p.lrn.size = 5;
      n->p.lrn.alpha = 1.0f;
      n->p.lrn.beta = 0.75f;
      n->p.lrn.k = 1.0f;
      break;
    case XNN_OP_ELTWISE:
      n->p.eltwise.op = XNN_ELTWISE_SUM;
      n->p.eltwise.act = xnn_f32_act_identity();
      break;
    case XNN_OP_CONCAT:
    case XNN_OP_SLICE:
    case XNN_OP_SOFTMAX:
      n->p.axis.axis = 1;
      break;
    case XNN_OP_NORMALIZE:
      n->p.normalize.across_spatial = n->p.normalize.channel_shared = 1;
      n->p.normalize.eps = 1e-10f;
      break;
    case XNN_OP_PRIOR_BOX:
      n->p.prior_box.flip = 1;
      n->p.prior_box.offset = 0.5f;
      for (int i = 0; i < 4; i++) n->p.prior_box.variance[i] = 0.1f;
      break;
    case XNN_OP_DETECTION_OUTPUT:
      n->p.detection.share_location = 1;
      n->p.detection.top_k = n->p.detection.keep_top_k = -1;
      n->p.detection.code_type = XNN_CODE_CORNER;
      n->p.detection.nms_threshold = 0.3f;
      n->p.detection.eta = 1.0f;
      n->p.detection.confidence_threshold = -INFINITY;
      break;
    case XNN_OP_RESHAPE:
      n->p.reshape.is_flatten = strcmp(s->name, "Flatten") == 0;
      n->p.reshape.axis = n->p.reshape.is_flatten ? 1 : 0;
      n->p.reshape.end_axis = -1;
      n->p.reshape.num_axes = -1;
      break;
    case XNN_OP_EMBED:
      n->p.embed.has_bias = 1;
      break;
    default:
      break;
  }
}

static xnn_status check_act(const char* attr, const xnn_act* a) {
  if (!isfinite(a->slope) || isnan(a->min) || isnan(a->max) || a->min > a->max)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' must be [slope, min, max] with a finite slope and min <= max",
                     attr);
  return XNN_OK;
}

static int positive_finite(float v) { return v > 0 && isfinite(v); }

static xnn_status check_prior_box(const xnn_prior_box_params* p) {
  if (p->min_size.count == 0) return xnn_error(XNN_ERROR_INVALID_MODEL, "min_size is missing (at least one is required)");
  if (p->max_size.count && p->max_size.count != p->min_size.count)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "%d max_size values for %d min_size values (one per min_size, or none)",
                     p->max_size.count, p->min_size.count);
  for (int32_t i = 0; i < p->min_size.count; i++) {
    if (!positive_finite(p->min_size.v[i]))
      return xnn_error(XNN_ERROR_INVALID_MODEL, "min_size must be positive, got %g", p->min_size.v[i]);
    if (p->max_size.count && !(p->max_size.v[i] > p->min_size.v[i] && isfinite(p->max_size.v[i])))
      return xnn_error(XNN_ERROR_INVALID_MODEL, "max_size %g must be larger than min_size %g", p->max_size.v[i],
                       p->min_size.v[i]);
  }
  for (int32_t i = 0; i < p->aspect_ratio.count; i++)
    if (!positive_finite(p->aspect_ratio.v[i]))
      return xnn_error(XNN_ERROR_INVALID_MODEL, "aspect_ratio must be positive, got %g", p->aspect_ratio.v[i]);
  for (int i = 0; i < 4; i++)
    if (!positive_finite(p->variance[i]))
      return xnn_error(XNN_ERROR_INVALID_MODEL, "variance must be positive, got %g", p->variance[i]);
  if (!(p->step_h >= 0 && p->step_w >= 0 && isfinite(p->step_h) && isfinite(p->step_w)))
    return xnn_error(XNN_ERROR_INVALID_MODEL, "step must be >= 0 (0: image size / feature map size), got %g x %g",
                     p->step_h, p->step_w);
  if (!isfinite(p->offset)) return xnn_error(XNN_ERROR_INVALID_MODEL, "offset must be finite");
  return XNN_OK;
}

xnn_status xnn_op_schema_check(const xnn_node* n) {
  switch (n->op) {
    case XNN_OP_CONVOLUTION:
      if (n->p.conv.num_output % n->p.conv.group)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "num_output %d is not divisible by group %d", n->p.conv.num_output,
                         n->p.conv.group);
      return check_act("activation", &n->p.conv.act);
    case XNN_OP_INNER_PRODUCT:
      return check_act("activation", &n->p.fc.act);
    case XNN_OP_RELU:
      return check_act("activation", &n->p.act);
    case XNN_OP_ELTWISE:
      return check_act("activation", &n->p.eltwise.act);
    case XNN_OP_POOLING: {
      const xnn_pool_params* p = &n->p.pool;
      if (p->global && (p->pad_top || p->pad_left || p->pad_bottom || p->pad_right || p->sh != 1 || p->sw != 1))
        return xnn_error(XNN_ERROR_INVALID_MODEL, "global pooling takes no pad and stride 1");
      if (!p->global && (p->pad_top >= p->kh || p->pad_bottom >= p->kh || p->pad_left >= p->kw || p->pad_right >= p->kw))
        return xnn_error(XNN_ERROR_INVALID_MODEL, "pads must be smaller than the %dx%d kernel", p->kh, p->kw);
      return XNN_OK;
    }
    case XNN_OP_RESIZE: {
      const xnn_resize_params* r = &n->p.resize;
      if ((r->oh > 0) != (r->ow > 0)) return xnn_error(XNN_ERROR_INVALID_MODEL, "size must give both or neither");
      /* At most 2^31: an output dim computed as in * scale (in <= 2^31) then fits int64 before its range check. */
      if (!(r->sh >= 0.0f && r->sh <= 0x1p31f && r->sw >= 0.0f && r->sw <= 0x1p31f) ||
          (r->oh == 0 && !(r->sh > 0.0f && r->sw > 0.0f)))
        return xnn_error(XNN_ERROR_INVALID_MODEL, "scale must be positive (or 0 with a size) and at most 2^31, got %g x %g",
                         r->sh, r->sw);
      return XNN_OK;
    }
    case XNN_OP_PERMUTE: {
      uint32_t seen = 0;
      for (int32_t i = 0; i < n->p.permute.ndim; i++) {
        const int32_t a = n->p.permute.order[i];
        if (a >= n->p.permute.ndim || (seen >> a & 1))
          return xnn_error(XNN_ERROR_INVALID_MODEL, "order is not a permutation of 0..%d", n->p.permute.ndim - 1);
        seen |= 1u << a;
      }
      return XNN_OK;
    }
    case XNN_OP_NORMALIZE:
      if (!(n->p.normalize.eps >= 0) || !isfinite(n->p.normalize.eps))
        return xnn_error(XNN_ERROR_INVALID_MODEL, "eps must be finite and >= 0, got %g", n->p.normalize.eps);
      return XNN_OK;
    case XNN_OP_PRIOR_BOX:
      return check_prior_box(&n->p.prior_box);
    case XNN_OP_DETECTION_OUTPUT: {
      const xnn_detection_params* p = &n->p.detection;
      if (!(p->nms_threshold >= 0) || !isfinite(p->nms_threshold))
        return xnn_error(XNN_ERROR_INVALID_MODEL, "nms_threshold must be finite and >= 0, got %g", p->nms_threshold);
      if (!(p->eta > 0 && p->eta <= 1)) return xnn_error(XNN_ERROR_INVALID_MODEL, "eta must be in (0, 1], got %g", p->eta);
      if (p->code_type < XNN_CODE_CORNER || p->code_type > XNN_CODE_CORNER_SIZE)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "code_type %d is not 1 (CORNER), 2 (CENTER_SIZE) or 3 (CORNER_SIZE)",
                         p->code_type);
      return XNN_OK;
    }
    case XNN_OP_LRN:
      if (n->p.lrn.size % 2 == 0) return xnn_error(XNN_ERROR_INVALID_MODEL, "size must be odd, got %d", n->p.lrn.size);
      if (!isfinite(n->p.lrn.alpha) || !isfinite(n->p.lrn.beta) || !isfinite(n->p.lrn.k))
        return xnn_error(XNN_ERROR_INVALID_MODEL, "alpha, beta and k must be finite");
      return XNN_OK;
    case XNN_OP_LSTM: {
      const xnn_lstm_params* p = &n->p.lstm;
      const int32_t want = 1 + p->has_cont + p->has_static + p->has_seq_lens + 2 * p->has_initial;
      if (n->num_inputs != want)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "%d inputs, the has_* attributes give %d", n->num_inputs, want);
      if (!(p->clip >= 0.0f) || isinf(p->clip))
        return xnn_error(XNN_ERROR_INVALID_MODEL, "clip must be finite and >= 0, got %g", p->clip);
      return XNN_OK;
    }
    default:
      return XNN_OK;
  }
}

int32_t xnn_op_num_weights(const xnn_node* n) {
  switch (n->op) {
    case XNN_OP_CONVOLUTION:
      return 1 + (n->p.conv.has_bias != 0);
    case XNN_OP_INNER_PRODUCT:
      return 1 + (n->p.fc.has_bias != 0);
    case XNN_OP_PRELU:
    case XNN_OP_NORMALIZE:
      return 1;
    case XNN_OP_AFFINE:
      return 2;
    case XNN_OP_BINARY:
      return n->num_inputs == 1;
    case XNN_OP_LSTM:
      return 3 + (n->p.lstm.has_static != 0);
    case XNN_OP_EMBED:
      return 1 + (n->p.embed.has_bias != 0);
    default:
      return 0;
  }
}

static void set_dims(xnn_shape* s, int32_t ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  memset(s, 0, sizeof(*s));
  s->ndim = ndim;
  s->dims[0] = d0;
  s->dims[1] = d1;
  s->dims[2] = d2;
  s->dims[3] = d3;
}

void xnn_op_weight_shape(const xnn_node* n, int32_t slot, xnn_shape* s) {
  switch (n->op) {
    case XNN_OP_CONVOLUTION:
      if (slot == 0)
        set_dims(s, 4, n->p.conv.num_output, -1, n->p.conv.kh, n->p.conv.kw);
      else
        set_dims(s, 1, n->p.conv.num_output, 0, 0, 0);
      return;
    case XNN_OP_INNER_PRODUCT:
      if (slot == 0)
        set_dims(s, 2, n->p.fc.num_output, -1, 0, 0);
      else
        set_dims(s, 1, n->p.fc.num_output, 0, 0, 0);
      return;
    case XNN_OP_PRELU:
      set_dims(s, 1, n->p.channel_shared ? 1 : -1, 0, 0, 0);
      return;
    case XNN_OP_BINARY: /* the constant operand: any shape before it is read */
      *s = n->p.binary.cshape;
      return;
    case XNN_OP_LSTM: { /* W [D, 4H, I], R [D, 4H, H], B [D, 4H], W_static [D, 4H, S] */
      const int64_t d = n->p.lstm.direction == XNN_LSTM_BIDIRECTIONAL ? 2 : 1, h = n->p.lstm.hidden_size;
      set_dims(s, slot == 2 ? 2 : 3, d, 4 * h, slot == 1 ? h : -1, 0);
      return;
    }
    case XNN_OP_EMBED:
      if (slot == 0)
        set_dims(s, 2, n->p.embed.input_dim, n->p.embed.num_output, 0, 0);
      else
        set_dims(s, 1, n->p.embed.num_output, 0, 0, 0);
      return;
    case XNN_OP_NORMALIZE:
      set_dims(s, 1, n->p.normalize.channel_shared ? 1 : -1, 0, 0, 0);
      return;
    default: /* Affine: a and b, one per channel */
      set_dims(s, 1, -1, 0, 0, 0);
      return;
  }
}

xnn_status xnn_op_take_weight_shape(xnn_node* n, int32_t slot, const xnn_shape* s) {
  if (n->op == XNN_OP_CONVOLUTION && slot == 0) {
    if (s->dims[1] > BIG / n->p.conv.group)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "%lld input channels per group is too many", (long long)s->dims[1]);
    n->p.conv.cin = (int32_t)s->dims[1] * n->p.conv.group;
  } else if (n->op == XNN_OP_INNER_PRODUCT && slot == 0) {
    n->p.fc.k = s->dims[1];
  } else if (n->op == XNN_OP_BINARY) {
    n->p.binary.cshape = *s;
  } else if (n->op == XNN_OP_LSTM && (slot == 0 || slot == 3)) {
    *(slot == 0 ? &n->p.lstm.input_size : &n->p.lstm.static_size) = s->dims[2];
  } else if (n->op == XNN_OP_AFFINE && slot == 1 && s->dims[0] != n->weight_size[0]) {
    return xnn_error(XNN_ERROR_INVALID_MODEL, "b has %lld values and a %lld", (long long)s->dims[0],
                     (long long)n->weight_size[0]);
  }
  return XNN_OK;
}
