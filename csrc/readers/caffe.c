/* Caffe reader: deploy prototxt (text) + caffemodel (binary) into the graph IR.
 *
 * The prototxt gives the structure (both `layer {}` and legacy V1 `layers {}`); the caffemodel gives the
 * blobs, matched to layers by name as Caffe does. Every field of the prototxt is checked against the union
 * of the known Caffe schemas; within a layer's own parameters, fields this engine does not implement are
 * errors rather than silently ignored. Learned parameters are turned into the IR's form here: BatchNorm,
 * Scale and Bias become one per-channel affine op, transposed InnerProduct weights are transposed back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels.h"
#include "core/model.h"
#include "ops/ops.h"
#include "readers/caffe_schema.h"
#include "readers/readers.h"
#include "readers/prototxt.h"
#include "readers/wire.h"

/* ---------------------------------------------------------------- caffemodel blobs */

typedef struct slice {
  const uint8_t* data;
  size_t size;
} slice;

typedef struct weight_layer {
  slice name;
  int32_t num_blobs, cap_blobs;
  slice* blobs; /* BlobProto messages, decoded on demand */
} weight_layer;

typedef struct weights {
  int32_t num_layers, cap_layers;
  weight_layer* layers;
} weights;

static void weights_free(weights* w) {
  for (int32_t i = 0; i < w->num_layers; i++) free(w->layers[i].blobs);
  free(w->layers);
}

static xnn_status read_weight_layer(const slice* msg, int v1, weights* w) {
  const uint32_t name_field = v1 ? 4 : 1, blobs_field = v1 ? 6 : 7;
  weight_layer layer = {{NULL, 0}, 0, 0, NULL};
  xnn_wire wr = {msg->data, msg->data + msg->size};
  xnn_wire_field f;
  int r;
  while ((r = xnn_wire_next(&wr, &f, v1 ? "V1LayerParameter" : "LayerParameter")) > 0) {
    if (f.number == name_field && f.type == XNN_WIRE_LEN) {
      layer.name.data = f.data;
      layer.name.size = f.size;
    } else if (f.number == blobs_field && f.type == XNN_WIRE_LEN) {
      if (layer.num_blobs == layer.cap_blobs) {
        int32_t cap = layer.cap_blobs ? layer.cap_blobs * 2 : 4;
        slice* b = realloc(layer.blobs, (size_t)cap * sizeof(slice));
        if (!b) {
          free(layer.blobs);
          return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory reading the caffemodel");
        }
        layer.blobs = b;
        layer.cap_blobs = cap;
      }
      layer.blobs[layer.num_blobs].data = f.data;
      layer.blobs[layer.num_blobs].size = f.size;
      layer.num_blobs++;
    }
  }
  if (r < 0) {
    free(layer.blobs);
    return XNN_ERROR_PARSE;
  }
  if (layer.num_blobs == 0 || !layer.name.data) {
    free(layer.blobs);
    return XNN_OK;
  }
  if (w->num_layers == w->cap_layers) {
    int32_t cap = w->cap_layers ? w->cap_layers * 2 : 64;
    weight_layer* l = realloc(w->layers, (size_t)cap * sizeof(weight_layer));
    if (!l) {
      free(layer.blobs);
      return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory reading the caffemodel");
    }
    w->layers = l;
    w->cap_layers = cap;
  }
  w->layers[w->num_layers++] = layer;
  return XNN_OK;
}

static xnn_status read_weights(const void* data, size_t size, weights* w) {
  memset(w, 0, sizeof(*w));
  xnn_wire wr = {data, (const uint8_t*)data + size};
  xnn_wire_field f;
  int r;
  while ((r = xnn_wire_next(&wr, &f, "NetParameter")) > 0) {
    if ((f.number == 100 || f.number == 2) && f.type == XNN_WIRE_LEN) {
      slice s = {f.data, f.size};
      xnn_status st = read_weight_layer(&s, f.number == 2, w);
      if (st != XNN_OK) return st;
    } else if ((f.number == 100 || f.number == 2) && f.type != XNN_WIRE_LEN) {
      return xnn_error(XNN_ERROR_PARSE, "field %u of NetParameter has the wrong wire type %d",
                       f.number, f.type);
    }
  }
  return r < 0 ? XNN_ERROR_PARSE : XNN_OK;
}

static const weight_layer* find_weights(const weights* w, const char* name) {
  const size_t len = strlen(name);
  for (int32_t i = 0; i < w->num_layers; i++)
    if (w->layers[i].name.size == len && memcmp(w->layers[i].name.data, name, len) == 0) return &w->layers[i];
  return NULL;
}

typedef struct blob {
  xnn_shape shape;
  int64_t count;
  float* data; /* 64-byte aligned, owned */
} blob;

/* Decodes one BlobProto: its shape (new `shape` or legacy num/channels/height/width) and its values
 * (packed or not, float or double), which must agree in count. */
static xnn_status decode_blob(const slice* msg, int index, blob* out) {
  memset(out, 0, sizeof(*out));
  int64_t legacy[4] = {1, 1, 1, 1};
  int has_legacy = 0, has_shape = 0;
  int64_t nfloat = 0, ndouble = 0;
  xnn_wire wr = {msg->data, msg->data + msg->size};
  xnn_wire_field f;
  int r;
  /* Pass 1: shape and value counts. */
  while ((r = xnn_wire_next(&wr, &f, "BlobProto")) > 0) {
    if (f.number >= 1 && f.number <= 4 && f.type == XNN_WIRE_VARINT) {
      legacy[f.number - 1] = (int64_t)(int32_t)f.value;
      has_legacy = 1;
    } else if (f.number == 7 && f.type == XNN_WIRE_LEN) {
      has_shape = 1;
      out->shape.ndim = 0;
      xnn_wire sw = {f.data, f.data + f.size};
      xnn_wire_field d;
      int rr;
      while ((rr = xnn_wire_next(&sw, &d, "BlobShape")) > 0) {
        if (d.number != 1) continue;
        if (d.type == XNN_WIRE_VARINT) {
          if (out->shape.ndim == XNN_MAX_DIMS) return xnn_error(XNN_ERROR_INVALID_MODEL, "blob %d has too many dims", index);
          out->shape.dims[out->shape.ndim++] = (int64_t)d.value;
        } else if (d.type == XNN_WIRE_LEN) {
          const uint8_t* p = d.data;
          while (p < d.data + d.size) {
            uint64_t v;
            if (!xnn_wire_varint(&p, d.data + d.size, &v))
              return xnn_error(XNN_ERROR_PARSE, "caffemodel: blob %d: truncated shape", index);
            if (out->shape.ndim == XNN_MAX_DIMS) return xnn_error(XNN_ERROR_INVALID_MODEL, "blob %d has too many dims", index);
            out->shape.dims[out->shape.ndim++] = (int64_t)v;
          }
        }
      }
      if (rr < 0) return XNN_ERROR_PARSE;
    } else if (f.number == 5) {
      if (f.type == XNN_WIRE_LEN) {
        if (f.size % 4) return xnn_error(XNN_ERROR_PARSE, "caffemodel: blob %d: float data of %zu bytes", index, f.size);
        nfloat += (int64_t)(f.size / 4);
      } else if (f.type == XNN_WIRE_FIXED32) {
        nfloat++;
      }
    } else if (f.number == 8) {
      if (f.type == XNN_WIRE_LEN) {
        if (f.size % 8) return xnn_error(XNN_ERROR_PARSE, "caffemodel: blob %d: double data of %zu bytes", index, f.size);
        ndouble += (int64_t)(f.size / 8);
      } else if (f.type == XNN_WIRE_FIXED64) {
        ndouble++;
      }
    }
  }
  if (r < 0) return XNN_ERROR_PARSE;
  if (!has_shape) {
    out->shape.ndim = 4;
    for (int i = 0; i < 4; i++) out->shape.dims[i] = legacy[i];
    (void)has_legacy;
  }
  int64_t count = 1;
  for (int i = 0; i < out->shape.ndim; i++) {
    if (out->shape.dims[i] < 0 || out->shape.dims[i] > XNN_MAX_DIM)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "blob %d has dimension %lld", index, (long long)out->shape.dims[i]);
    if (__builtin_mul_overflow(count, out->shape.dims[i], &count) || count > XNN_MAX_ELEMENTS)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "blob %d is too large", index);
  }
  const int64_t have = nfloat ? nfloat : ndouble;
  if (nfloat && ndouble)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "blob %d has both float and double data", index);
  char buf[128];
  if (have != count)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "blob %d has %lld values but its shape %s needs %lld", index,
                     (long long)have, xnn_shape_str(&out->shape, buf, sizeof(buf)), (long long)count);
  out->count = count;
  out->data = xnn_alloc_aligned((size_t)count * sizeof(float));
  if (!out->data) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory for blob %d (%lld values)", index, (long long)count);
  /* Pass 2: values. */
  int64_t pos = 0;
  wr.p = msg->data;
  while (xnn_wire_next(&wr, &f, "BlobProto") > 0) {
    if (f.number == 5 && f.type == XNN_WIRE_LEN) {
      memcpy(out->data + pos, f.data, f.size);
      pos += (int64_t)(f.size / 4);
    } else if (f.number == 5 && f.type == XNN_WIRE_FIXED32) {
      uint32_t v = (uint32_t)f.value;
      memcpy(out->data + pos++, &v, 4);
    } else if (f.number == 8 && f.type == XNN_WIRE_LEN) {
      for (size_t i = 0; i < f.size / 8; i++) {
        double v;
        memcpy(&v, f.data + 8 * i, 8);
        out->data[pos++] = (float)v;
      }
    } else if (f.number == 8 && f.type == XNN_WIRE_FIXED64) {
      double v;
      memcpy(&v, &f.value, 8);
      out->data[pos++] = (float)v;
    }
  }
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(out->data[i])) {
      xnn_free_aligned(out->data);
      out->data = NULL;
      return xnn_error(XNN_ERROR_INVALID_MODEL, "blob %d has a non-finite value at index %lld", index, (long long)i);
    }
  return XNN_OK;
}

/* ---------------------------------------------------------------- building */

typedef struct ctx {
  xnn_graph* g;
  const weights* w;
  int has_weights;
  const xnn_pt_node* layer; /* the layer being built */
  const char* name;
  const char* type;
} ctx;

typedef struct layer_io {
  int32_t num_bottoms, num_tops;
  const xnn_pt_node* param; /* the layer's own *_param message, may be NULL */
} layer_io;

/* Loads exactly the blobs a layer needs (min..max of them), decoded. */
static xnn_status get_blobs(ctx* c, int min, int max, blob* out, int* count) {
  const weight_layer* wl = c->has_weights ? find_weights(c->w, c->name) : NULL;
  *count = 0;
  if (!wl) {
    if (!c->has_weights) return xnn_error(XNN_ERROR_INVALID_MODEL, "no weights: no caffemodel was given");
    return xnn_error(XNN_ERROR_INVALID_MODEL, "the caffemodel has no blobs for this layer");
  }
  if (wl->num_blobs < min || wl->num_blobs > max) {
    if (min == max)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "the caffemodel has %d blobs for this layer, expected %d",
                       wl->num_blobs, min);
    return xnn_error(XNN_ERROR_INVALID_MODEL, "the caffemodel has %d blobs for this layer, expected %d to %d",
                     wl->num_blobs, min, max);
  }
  for (int i = 0; i < wl->num_blobs; i++) {
    xnn_status st = decode_blob(&wl->blobs[i], i, &out[i]);
    if (st != XNN_OK) {
      for (int j = 0; j < i; j++) xnn_free_aligned(out[j].data);
      return st;
    }
  }
  *count = wl->num_blobs;
  return XNN_OK;
}

static void free_blobs(blob* b, int count) {
  for (int i = 0; i < count; i++) xnn_free_aligned(b[i].data);
}

/* Moves a blob into the node's weight slot. */
static void take_blob(xnn_node* n, int slot, blob* b) {
  n->weights[slot] = b->data;
  n->weight_size[slot] = b->count;
  if (n->num_weights <= slot) n->num_weights = slot + 1;
  n->num_params += b->count;
  b->data = NULL;
}

static xnn_status expect_io(const layer_io* io, int bottoms, int tops) {
  if (bottoms >= 0 && io->num_bottoms != bottoms)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "expected %d bottom(s), got %d", bottoms, io->num_bottoms);
  if (tops >= 0 && io->num_tops != tops)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "expected %d top(s), got %d", tops, io->num_tops);
  return XNN_OK;
}

/* Caffe's kernel/pad/stride: a repeated field (one value for both axes, or h then w) or the _h/_w pair. */
static xnn_status spatial(const xnn_pt_node* p, const char* key, int64_t def, int required, int32_t* h, int32_t* w) {
  char kh[32], kw[32];
  const char* base = strcmp(key, "kernel_size") == 0 ? "kernel" : key;
  snprintf(kh, sizeof(kh), "%s_h", base);
  snprintf(kw, sizeof(kw), "%s_w", base);
  const xnn_pt_node* fh = xnn_pt_find(p, kh);
  const xnn_pt_node* fw = xnn_pt_find(p, kw);
  const int n = xnn_pt_count(p, key);
  int64_t vh = def, vw = def;
  if (fh || fw) {
    if (!fh || !fw) return xnn_error(XNN_ERROR_INVALID_MODEL, "%s and %s must be given together", kh, kw);
    if (n) return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: give either %s or %s/%s", fh->line, key, kh, kw);
    XNN_CHECK(xnn_pt_node_int(fh, &vh));
    XNN_CHECK(xnn_pt_node_int(fw, &vw));
  } else if (n == 1) {
    XNN_CHECK(xnn_pt_int(p, key, def, &vh));
    vw = vh;
  } else if (n == 2) {
    const xnn_pt_node* f0 = xnn_pt_find(p, key);
    XNN_CHECK(xnn_pt_node_int(f0, &vh));
    XNN_CHECK(xnn_pt_node_int(xnn_pt_find_next(f0, key), &vw));
  } else if (n > 2) {
    return xnn_error(XNN_ERROR_UNSUPPORTED, "%d values of %s: only 2-D spatial layers are supported", n, key);
  } else if (required) {
    return xnn_error(XNN_ERROR_INVALID_MODEL, "%s is missing", key);
  }
  const int64_t lo = strcmp(key, "pad") == 0 ? 0 : 1;
  if (vh < lo || vw < lo || vh > 65536 || vw > 65536)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "%s must be in [%lld, 65536], got %lldx%lld", key, (long long)lo,
                     (long long)vh, (long long)vw);
  *h = (int32_t)vh;
  *w = (int32_t)vw;
  return XNN_OK;
}

static xnn_status positive(const xnn_pt_node* p, const char* key, int64_t def, int32_t* out) {
  int64_t v;
  XNN_CHECK(xnn_pt_int(p, key, def, &v));
  if (v < 1 || v > (1 << 24)) return xnn_error(XNN_ERROR_INVALID_MODEL, "%s must be positive, got %lld", key, (long long)v);
  *out = (int32_t)v;
  return XNN_OK;
}

static xnn_status axis_one(const xnn_pt_node* p) {
  int64_t axis;
  XNN_CHECK(xnn_pt_int(p, "axis", 1, &axis));
  if (axis != 1) return xnn_error(XNN_ERROR_UNSUPPORTED, "axis %lld: only axis 1 (channels) is supported", (long long)axis);
  return XNN_OK;
}

static const char* const k_engines[] = {"DEFAULT", "CAFFE", "CUDNN", NULL};

static xnn_status build_convolution(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"num_output", "bias_term", "pad", "kernel_size", "stride", "dilation",
                                        "pad_h", "pad_w", "kernel_h", "kernel_w", "stride_h", "stride_w",
                                        "group", "weight_filler", "bias_filler", "engine", "axis",
                                        "force_nd_im2col", NULL};
  const xnn_pt_node* p = io->param;
  if (!p) return xnn_error(XNN_ERROR_INVALID_MODEL, "convolution_param is missing");
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(p, "convolution_param", allowed));
  XNN_CHECK(axis_one(p));
  int e;
  XNN_CHECK(xnn_pt_enum(p, "engine", k_engines, 0, &e));
  xnn_conv_params* cv = &n->p.conv;
  n->op = XNN_OP_CONVOLUTION;
  XNN_CHECK(positive(p, "num_output", 0, &cv->num_output));
  XNN_CHECK(positive(p, "group", 1, &cv->group));
  XNN_CHECK(spatial(p, "kernel_size", 0, 1, &cv->kh, &cv->kw));
  XNN_CHECK(spatial(p, "stride", 1, 0, &cv->sh, &cv->sw));
  XNN_CHECK(spatial(p, "pad", 0, 0, &cv->pad_top, &cv->pad_left));
  XNN_CHECK(spatial(p, "dilation", 1, 0, &cv->dh, &cv->dw));
  cv->pad_bottom = cv->pad_top;
  cv->pad_right = cv->pad_left;
  XNN_CHECK(xnn_pt_bool(p, "bias_term", 1, &cv->has_bias));
  cv->act = xnn_f32_act_identity();
  if (cv->num_output % cv->group)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "num_output %d is not divisible by group %d", cv->num_output, cv->group);
  blob b[2];
  int nb;
  XNN_CHECK(get_blobs(c, 1 + cv->has_bias, 1 + cv->has_bias, b, &nb));
  const xnn_shape* ws = &b[0].shape;
  char buf[128];
  xnn_status st = XNN_OK;
  if (ws->ndim != 4 || ws->dims[0] != cv->num_output || ws->dims[2] != cv->kh || ws->dims[3] != cv->kw ||
      ws->dims[1] < 1 || ws->dims[1] * cv->group > (1 << 24))
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "weight blob has shape %s, expected %d x C/group x %d x %d",
                   xnn_shape_str(ws, buf, sizeof(buf)), cv->num_output, cv->kh, cv->kw);
  else if (cv->has_bias && b[1].count != cv->num_output)
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "bias blob has %lld values, expected num_output = %d",
                   (long long)b[1].count, cv->num_output);
  if (st != XNN_OK) {
    free_blobs(b, nb);
    return st;
  }
  cv->cin = (int32_t)ws->dims[1] * cv->group;
  take_blob(n, 0, &b[0]);
  if (cv->has_bias) take_blob(n, 1, &b[1]);
  return XNN_OK;
}

static xnn_status build_inner_product(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"num_output", "bias_term", "weight_filler", "bias_filler", "axis",
                                        "transpose", NULL};
  const xnn_pt_node* p = io->param;
  if (!p) return xnn_error(XNN_ERROR_INVALID_MODEL, "inner_product_param is missing");
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(p, "inner_product_param", allowed));
  xnn_fc_params* fc = &n->p.fc;
  n->op = XNN_OP_INNER_PRODUCT;
  int64_t axis;
  int transpose;
  XNN_CHECK(positive(p, "num_output", 0, &fc->num_output));
  XNN_CHECK(xnn_pt_int(p, "axis", 1, &axis));
  XNN_CHECK(xnn_pt_bool(p, "bias_term", 1, &fc->has_bias));
  XNN_CHECK(xnn_pt_bool(p, "transpose", 0, &transpose));
  if (axis < -XNN_MAX_DIMS || axis >= XNN_MAX_DIMS) return xnn_error(XNN_ERROR_INVALID_MODEL, "axis %lld is out of range", (long long)axis);
  fc->axis = (int32_t)axis;
  fc->act = xnn_f32_act_identity();
  blob b[2];
  int nb;
  XNN_CHECK(get_blobs(c, 1 + fc->has_bias, 1 + fc->has_bias, b, &nb));
  xnn_status st = XNN_OK;
  char buf[128];
  const xnn_shape* ws = &b[0].shape;
  const int64_t rows = ws->ndim >= 2 ? ws->dims[ws->ndim - 2] : 1;
  if (b[0].count == 0 || b[0].count % fc->num_output || (ws->ndim >= 2 && rows != (transpose ? b[0].count / fc->num_output : fc->num_output)))
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "weight blob has shape %s, which does not fit num_output = %d%s",
                   xnn_shape_str(ws, buf, sizeof(buf)), fc->num_output, transpose ? " (transposed)" : "");
  else if (fc->has_bias && b[1].count != fc->num_output)
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "bias blob has %lld values, expected num_output = %d",
                   (long long)b[1].count, fc->num_output);
  if (st != XNN_OK) {
    free_blobs(b, nb);
    return st;
  }
  fc->k = b[0].count / fc->num_output;
  if (transpose) {
    /* Stored [K][N]; the kernels read [N][K]. */
    float* t = xnn_alloc_aligned((size_t)b[0].count * sizeof(float));
    if (!t) {
      free_blobs(b, nb);
      return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    for (int64_t k = 0; k < fc->k; k++)
      for (int64_t o = 0; o < fc->num_output; o++) t[o * fc->k + k] = b[0].data[k * fc->num_output + o];
    xnn_free_aligned(b[0].data);
    b[0].data = t;
  }
  take_blob(n, 0, &b[0]);
  if (fc->has_bias) take_blob(n, 1, &b[1]);
  return XNN_OK;
}

static xnn_status build_pooling(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"pool", "pad", "pad_h", "pad_w", "kernel_size", "kernel_h", "kernel_w",
                                        "stride", "stride_h", "stride_w", "engine", "global_pooling",
                                        "round_mode", NULL};
  static const char* const methods[] = {"MAX", "AVE", NULL};
  static const char* const rounding[] = {"CEIL", "FLOOR", NULL};
  (void)c;
  const xnn_pt_node* p = io->param;
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(p, "pooling_param", allowed));
  xnn_pool_params* pp = &n->p.pool;
  n->op = XNN_OP_POOLING;
  int e, round;
  XNN_CHECK(xnn_pt_enum(p, "engine", k_engines, 0, &e));
  XNN_CHECK(xnn_pt_enum(p, "pool", methods, XNN_POOL_MAX, &pp->method));
  XNN_CHECK(xnn_pt_enum(p, "round_mode", rounding, 0, &round));
  pp->ceil_mode = round == 0;
  XNN_CHECK(xnn_pt_bool(p, "global_pooling", 0, &pp->global));
  XNN_CHECK(spatial(p, "kernel_size", 1, !pp->global, &pp->kh, &pp->kw));
  XNN_CHECK(spatial(p, "stride", 1, 0, &pp->sh, &pp->sw));
  XNN_CHECK(spatial(p, "pad", 0, 0, &pp->pad_top, &pp->pad_left));
  pp->pad_bottom = pp->pad_top;
  pp->pad_right = pp->pad_left;
  if (pp->global && (pp->pad_top || pp->pad_left || pp->sh != 1 || pp->sw != 1))
    return xnn_error(XNN_ERROR_INVALID_MODEL, "global_pooling takes no pad and stride 1");
  if (!pp->global && (pp->pad_top >= pp->kh || pp->pad_left >= pp->kw))
    return xnn_error(XNN_ERROR_INVALID_MODEL, "pad %dx%d must be smaller than the %dx%d kernel", pp->pad_top,
                     pp->pad_left, pp->kh, pp->kw);
  return XNN_OK;
}

static xnn_status build_relu(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"negative_slope", "engine", NULL};
  (void)c;
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(io->param, "relu_param", allowed));
  int e;
  XNN_CHECK(xnn_pt_enum(io->param, "engine", k_engines, 0, &e));
  n->op = XNN_OP_RELU;
  n->p.act = xnn_f32_act_identity();
  return xnn_pt_float(io->param, "negative_slope", 0.0f, &n->p.act.slope);
}

static xnn_status build_sigmoid_tanh(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"engine", NULL};
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(io->param, strcmp(c->type, "Sigmoid") == 0 ? "sigmoid_param" : "tanh_param", allowed));
  n->op = strcmp(c->type, "Sigmoid") == 0 ? XNN_OP_SIGMOID : XNN_OP_TANH;
  n->p.act = xnn_f32_act_identity();
  return XNN_OK;
}

static xnn_status build_prelu(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"filler", "channel_shared", NULL};
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(io->param, "prelu_param", allowed));
  n->op = XNN_OP_PRELU;
  XNN_CHECK(xnn_pt_bool(io->param, "channel_shared", 0, &n->p.channel_shared));
  blob b[1];
  int nb;
  XNN_CHECK(get_blobs(c, 1, 1, b, &nb));
  if (b[0].count < 1 || (n->p.channel_shared && b[0].count != 1)) {
    free_blobs(b, nb);
    return xnn_error(XNN_ERROR_INVALID_MODEL, "slope blob has %lld values, expected %s", (long long)b[0].count,
                     n->p.channel_shared ? "1 (channel_shared)" : "one per channel");
  }
  take_blob(n, 0, &b[0]);
  return XNN_OK;
}

static xnn_status build_lrn(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"local_size", "alpha", "beta", "norm_region", "k", "engine", NULL};
  static const char* const regions[] = {"ACROSS_CHANNELS", "WITHIN_CHANNEL", NULL};
  (void)c;
  const xnn_pt_node* p = io->param;
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(p, "lrn_param", allowed));
  int e;
  XNN_CHECK(xnn_pt_enum(p, "engine", k_engines, 0, &e));
  n->op = XNN_OP_LRN;
  xnn_lrn_params* l = &n->p.lrn;
  XNN_CHECK(positive(p, "local_size", 5, &l->size));
  if (l->size % 2 == 0) return xnn_error(XNN_ERROR_INVALID_MODEL, "local_size must be odd, got %d", l->size);
  XNN_CHECK(xnn_pt_float(p, "alpha", 1.0f, &l->alpha));
  XNN_CHECK(xnn_pt_float(p, "beta", 0.75f, &l->beta));
  XNN_CHECK(xnn_pt_float(p, "k", 1.0f, &l->k));
  return xnn_pt_enum(p, "norm_region", regions, XNN_LRN_ACROSS_CHANNELS, &l->region);
}

static xnn_status make_affine(xnn_node* n, int64_t channels, float** a, float** b) {
  n->op = XNN_OP_AFFINE;
  *a = xnn_alloc_aligned((size_t)channels * sizeof(float));
  *b = xnn_alloc_aligned((size_t)channels * sizeof(float));
  if (!*a || !*b) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  n->weights[0] = *a;
  n->weights[1] = *b;
  n->weight_size[0] = n->weight_size[1] = channels;
  n->num_weights = 2;
  return XNN_OK;
}

static xnn_status build_batch_norm(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"use_global_stats", "moving_average_fraction", "eps", NULL};
  const xnn_pt_node* p = io->param;
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(p, "batch_norm_param", allowed));
  int global;
  float eps;
  XNN_CHECK(xnn_pt_bool(p, "use_global_stats", 1, &global));
  if (!global)
    return xnn_error(XNN_ERROR_UNSUPPORTED, "use_global_stats: false (batch statistics) is not supported for inference");
  XNN_CHECK(xnn_pt_float(p, "eps", 1e-5f, &eps));
  blob b[3];
  int nb;
  XNN_CHECK(get_blobs(c, 3, 3, b, &nb));
  const int64_t ch = b[0].count;
  xnn_status st = XNN_OK;
  if (ch < 1 || b[1].count != ch || b[2].count != 1)
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "blobs have %lld, %lld and %lld values, expected C, C and 1",
                   (long long)b[0].count, (long long)b[1].count, (long long)b[2].count);
  float *a = NULL, *bias = NULL;
  if (st == XNN_OK) st = make_affine(n, ch, &a, &bias);
  if (st == XNN_OK) {
    /* Caffe stores running sums scaled by a factor kept in the third blob. */
    const float sf = b[2].data[0];
    const float f = sf == 0.0f ? 0.0f : 1.0f / sf;
    for (int64_t i = 0; i < ch; i++) {
      const float var = b[1].data[i] * f;
      if (!(var + eps > 0.0f)) {
        st = xnn_error(XNN_ERROR_INVALID_MODEL, "variance of channel %lld is negative", (long long)i);
        break;
      }
      a[i] = 1.0f / sqrtf(var + eps);
      bias[i] = -b[0].data[i] * f * a[i];
    }
  }
  n->num_params = 2 * ch + 1;
  free_blobs(b, nb);
  return st;
}

static xnn_status build_scale_bias(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const scale_allowed[] = {"axis", "num_axes", "filler", "bias_term", "bias_filler", NULL};
  static const char* const bias_allowed[] = {"axis", "num_axes", "filler", NULL};
  const int is_scale = strcmp(c->type, "Scale") == 0;
  const xnn_pt_node* p = io->param;
  if (io->num_bottoms != 1)
    return xnn_error(XNN_ERROR_UNSUPPORTED, "%d bottoms: a %s taken from a second input is not supported",
                     io->num_bottoms, is_scale ? "scale" : "bias");
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(p, is_scale ? "scale_param" : "bias_param", is_scale ? scale_allowed : bias_allowed));
  XNN_CHECK(axis_one(p));
  int64_t num_axes;
  XNN_CHECK(xnn_pt_int(p, "num_axes", 1, &num_axes));
  if (num_axes != 1) return xnn_error(XNN_ERROR_UNSUPPORTED, "num_axes %lld: only 1 (per channel) is supported", (long long)num_axes);
  int has_bias = 1;
  if (is_scale) XNN_CHECK(xnn_pt_bool(p, "bias_term", 0, &has_bias));
  const int want = is_scale ? 1 + has_bias : 1;
  blob b[2];
  int nb;
  XNN_CHECK(get_blobs(c, want, want, b, &nb));
  const int64_t ch = b[0].count;
  xnn_status st = XNN_OK;
  if (ch < 1 || (nb == 2 && b[1].count != ch))
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "blob sizes %lld and %lld differ", (long long)b[0].count,
                   (long long)(nb == 2 ? b[1].count : 0));
  float *a = NULL, *bias = NULL;
  if (st == XNN_OK) st = make_affine(n, ch, &a, &bias);
  if (st == XNN_OK) {
    for (int64_t i = 0; i < ch; i++) {
      a[i] = is_scale ? b[0].data[i] : 1.0f;
      bias[i] = is_scale ? (has_bias ? b[1].data[i] : 0.0f) : b[0].data[i];
    }
  }
  n->num_params = ch * nb;
  free_blobs(b, nb);
  return st;
}

static xnn_status build_eltwise(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"operation", "coeff", "stable_prod_grad", NULL};
  static const char* const ops[] = {"PROD", "SUM", "MAX", NULL};
  (void)c;
  const xnn_pt_node* p = io->param;
  if (io->num_bottoms < 2) return xnn_error(XNN_ERROR_INVALID_MODEL, "needs at least 2 bottoms, got %d", io->num_bottoms);
  XNN_CHECK(expect_io(io, -1, 1));
  XNN_CHECK(xnn_pt_only(p, "eltwise_param", allowed));
  n->op = XNN_OP_ELTWISE;
  n->p.eltwise.act = xnn_f32_act_identity();
  XNN_CHECK(xnn_pt_enum(p, "operation", ops, XNN_ELTWISE_SUM, &n->p.eltwise.op));
  const int nc = xnn_pt_count(p, "coeff");
  if (nc) {
    if (n->p.eltwise.op != XNN_ELTWISE_SUM) return xnn_error(XNN_ERROR_INVALID_MODEL, "coeff is only for operation SUM");
    if (nc != io->num_bottoms)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "%d coeff values for %d bottoms", nc, io->num_bottoms);
    n->p.eltwise.coeffs = malloc((size_t)nc * sizeof(float));
    if (!n->p.eltwise.coeffs) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    int i = 0;
    for (const xnn_pt_node* f = xnn_pt_find(p, "coeff"); f; f = xnn_pt_find_next(f, "coeff"))
      XNN_CHECK(xnn_pt_node_float(f, &n->p.eltwise.coeffs[i++]));
  }
  return XNN_OK;
}

/* `axis` (default 1), or the legacy field of the same meaning when `legacy` is not NULL. */
static xnn_status read_axis(const xnn_pt_node* p, const char* legacy, int32_t* axis) {
  int64_t a, d;
  XNN_CHECK(xnn_pt_int(p, "axis", 1, &a));
  if (legacy && xnn_pt_find(p, legacy)) {
    XNN_CHECK(xnn_pt_int(p, legacy, 1, &d));
    if (xnn_pt_find(p, "axis")) return xnn_error(XNN_ERROR_INVALID_MODEL, "give either axis or %s", legacy);
    a = d;
  }
  if (a < -XNN_MAX_DIMS || a >= XNN_MAX_DIMS) return xnn_error(XNN_ERROR_INVALID_MODEL, "axis %lld is out of range", (long long)a);
  *axis = (int32_t)a;
  return XNN_OK;
}

static xnn_status build_concat(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"axis", "concat_dim", NULL};
  (void)c;
  if (io->num_bottoms < 1) return xnn_error(XNN_ERROR_INVALID_MODEL, "needs at least 1 bottom");
  XNN_CHECK(expect_io(io, -1, 1));
  XNN_CHECK(xnn_pt_only(io->param, "concat_param", allowed));
  n->op = XNN_OP_CONCAT;
  return read_axis(io->param, "concat_dim", &n->p.axis.axis);
}

static xnn_status build_slice(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"axis", "slice_point", "slice_dim", NULL};
  (void)c;
  const xnn_pt_node* p = io->param;
  XNN_CHECK(expect_io(io, 1, -1));
  if (io->num_tops < 1) return xnn_error(XNN_ERROR_INVALID_MODEL, "needs at least 1 top");
  XNN_CHECK(xnn_pt_only(p, "slice_param", allowed));
  n->op = XNN_OP_SLICE;
  XNN_CHECK(read_axis(p, "slice_dim", &n->p.axis.axis));
  const int np = xnn_pt_count(p, "slice_point");
  if (np && np != io->num_tops - 1)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "%d slice_point values for %d tops (expected %d)", np, io->num_tops,
                     io->num_tops - 1);
  if (np) {
    n->p.axis.points = malloc((size_t)np * sizeof(int64_t));
    if (!n->p.axis.points) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    n->p.axis.num_points = np;
    int i = 0;
    for (const xnn_pt_node* f = xnn_pt_find(p, "slice_point"); f; f = xnn_pt_find_next(f, "slice_point"))
      XNN_CHECK(xnn_pt_node_int(f, &n->p.axis.points[i++]));
  }
  return XNN_OK;
}

static xnn_status build_softmax(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"engine", "axis", NULL};
  (void)c;
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(io->param, "softmax_param", allowed));
  n->op = XNN_OP_SOFTMAX;
  return read_axis(io->param, NULL, &n->p.axis.axis);
}

static xnn_status build_identity(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"dropout_ratio", NULL};
  const int is_split = strcmp(c->type, "Split") == 0;
  XNN_CHECK(expect_io(io, 1, is_split ? -1 : 1));
  if (io->num_tops < 1) return xnn_error(XNN_ERROR_INVALID_MODEL, "needs at least 1 top");
  /* Dropout at inference is the identity (Caffe scales during training). */
  if (!is_split) XNN_CHECK(xnn_pt_only(io->param, "dropout_param", allowed));
  n->op = XNN_OP_IDENTITY;
  return XNN_OK;
}

static xnn_status build_flatten(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"axis", "end_axis", NULL};
  (void)c;
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(io->param, "flatten_param", allowed));
  n->op = XNN_OP_RESHAPE;
  xnn_reshape_params* r = &n->p.reshape;
  r->is_flatten = 1;
  int64_t a, e;
  XNN_CHECK(xnn_pt_int(io->param, "axis", 1, &a));
  XNN_CHECK(xnn_pt_int(io->param, "end_axis", -1, &e));
  if (a < -XNN_MAX_DIMS || a >= XNN_MAX_DIMS || e < -XNN_MAX_DIMS || e >= XNN_MAX_DIMS)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "axis/end_axis out of range");
  r->axis = (int32_t)a;
  r->end_axis = (int32_t)e;
  return XNN_OK;
}

static xnn_status read_shape(const xnn_pt_node* shape_msg, xnn_shape* out, int allow_special) {
  static const char* const allowed[] = {"dim", NULL};
  XNN_CHECK(xnn_pt_only(shape_msg, "BlobShape", allowed));
  out->ndim = 0;
  int infer = 0;
  for (const xnn_pt_node* f = xnn_pt_find(shape_msg, "dim"); f; f = xnn_pt_find_next(f, "dim")) {
    if (out->ndim == XNN_MAX_DIMS)
      return xnn_error(XNN_ERROR_UNSUPPORTED, "prototxt line %d: more than %d dims", f->line, XNN_MAX_DIMS);
    int64_t d;
    XNN_CHECK(xnn_pt_node_int(f, &d));
    const int64_t lo = allow_special ? -1 : 1;
    if (d < lo || d > XNN_MAX_DIM)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: dim %lld is out of range", f->line, (long long)d);
    if (d == -1 && infer++)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: only one dim may be -1", f->line);
    out->dims[out->ndim++] = d;
  }
  return XNN_OK;
}

static xnn_status build_reshape(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"shape", "axis", "num_axes", NULL};
  (void)c;
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(io->param, "reshape_param", allowed));
  n->op = XNN_OP_RESHAPE;
  xnn_reshape_params* r = &n->p.reshape;
  const xnn_pt_node* s = xnn_pt_find(io->param, "shape");
  if (!s) return xnn_error(XNN_ERROR_INVALID_MODEL, "reshape_param.shape is missing");
  XNN_CHECK(read_shape(s, &r->shape, 1));
  int64_t a, na;
  XNN_CHECK(xnn_pt_int(io->param, "axis", 0, &a));
  XNN_CHECK(xnn_pt_int(io->param, "num_axes", -1, &na));
  if (a < -XNN_MAX_DIMS || a > XNN_MAX_DIMS || na < -1 || na > XNN_MAX_DIMS)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "axis/num_axes out of range");
  r->axis = (int32_t)a;
  r->num_axes = (int32_t)na;
  return XNN_OK;
}

/* The given axes only: Caffe appends the others in increasing order against the bottom's rank, which
 * complete_permute_orders does once the graph is built. */
static xnn_status build_permute(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"order", NULL};
  (void)c;
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(io->param, "permute_param", allowed));
  n->op = XNN_OP_PERMUTE;
  xnn_permute_params* p = &n->p.permute;
  for (const xnn_pt_node* f = xnn_pt_find(io->param, "order"); f; f = xnn_pt_find_next(f, "order")) {
    int64_t v;
    XNN_CHECK(xnn_pt_node_int(f, &v));
    if (p->ndim == XNN_MAX_DIMS || v < 0 || v >= XNN_MAX_DIMS)
      return xnn_error(XNN_ERROR_UNSUPPORTED, "prototxt line %d: permute_param.order %lld: at most %d axes", f->line,
                       (long long)v, XNN_MAX_DIMS);
    for (int32_t i = 0; i < p->ndim; i++)
      if (p->order[i] == v)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: permute_param.order gives axis %lld twice",
                         f->line, (long long)v);
    p->order[p->ndim++] = (int32_t)v;
  }
  return XNN_OK;
}

/* Completes every Permute's order to its bottom's rank, known by planning the declared input shapes up
 * to the last Permute. */
static xnn_status complete_permute_orders(xnn_graph* g) {
  int32_t last = -1;
  for (int32_t i = 0; i < g->num_nodes; i++)
    if (g->nodes[i].op == XNN_OP_PERMUTE) last = i;
  if (last < 0) return XNN_OK;
  xnn_tensor_rt* t = xnn_alloc((size_t)g->num_tensors * sizeof(xnn_tensor_rt));
  if (!t) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  for (int32_t i = 0; i < g->num_inputs; i++) t[g->inputs[i]].shape = g->input_shapes[i];
  xnn_status st = XNN_OK;
  xnn_op_plan plan;
  for (int32_t i = 0; i <= last && st == XNN_OK; i++) {
    xnn_node* n = &g->nodes[i];
    const xnn_op_def* def = xnn_op_get(n->op);
    if (!def) {
      st = xnn_error(XNN_ERROR_UNSUPPORTED, "this library was built without the '%s' operator (XNN_OPS)",
                     xnn_op_file(n->op));
    } else if (n->op == XNN_OP_PERMUTE) {
      xnn_permute_params* p = &n->p.permute;
      const int32_t rank = t[n->inputs[0]].shape.ndim;
      for (int32_t k = 0; k < p->ndim && st == XNN_OK; k++)
        if (p->order[k] >= rank)
          st = xnn_error(XNN_ERROR_INVALID_MODEL, "permute_param.order %d is not an axis of the %d-D bottom",
                         p->order[k], rank);
      for (int32_t a = 0; a < rank && st == XNN_OK; a++) {
        int32_t k = 0;
        while (k < p->ndim && p->order[k] != a) k++;
        if (k == p->ndim) p->order[p->ndim++] = a;
      }
    }
    memset(&plan, 0, sizeof(plan));
    plan.num_threads = 1;
    plan.kernels = xnn_kernels_select();
    if (st == XNN_OK) st = def->reshape(n, t, &plan);
    if (st != XNN_OK) xnn_error_prefix("layer '%s' (%s): ", n->name, n->type);
  }
  free(t);
  return st;
}

/* Caffe's LSTM: bottoms x [T, N, ...], cont [T, N], optional x_static [N, ...]; blobs W_xc [4H, I], b_c [4H],
 * W_xc_static [4H, S] with a static input, W_hc [4H, H]; gates i, f, o, g. Its top [T, N, H] is a Reshape
 * of the IR's [T, 1, N, H], added by build_layer. */
static xnn_status build_lstm(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"num_output", "weight_filler", "bias_filler", "debug_info", "expose_hidden",
                                        NULL};
  const xnn_pt_node* p = io->param;
  if (!p) return xnn_error(XNN_ERROR_INVALID_MODEL, "recurrent_param is missing");
  XNN_CHECK(xnn_pt_only(p, "recurrent_param", allowed));
  int expose;
  XNN_CHECK(xnn_pt_bool(p, "expose_hidden", 0, &expose));
  if (expose)
    return xnn_error(XNN_ERROR_UNSUPPORTED, "recurrent_param.expose_hidden: true is not supported (no h0/c0 bottoms or tops)");
  if (io->num_bottoms != 2 && io->num_bottoms != 3)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "expected 2 or 3 bottoms (x, cont[, x_static]), got %d", io->num_bottoms);
  XNN_CHECK(expect_io(io, -1, 1));
  xnn_lstm_params* lp = &n->p.lstm;
  n->op = XNN_OP_LSTM;
  XNN_CHECK(positive(p, "num_output", 0, &lp->hidden_size));
  lp->has_cont = 1;
  lp->has_static = io->num_bottoms == 3;
  const int nw = 3 + lp->has_static;
  blob b[4];
  int nb;
  XNN_CHECK(get_blobs(c, nw, nw, b, &nb));
  const int64_t g4 = 4 * (int64_t)lp->hidden_size, h = lp->hidden_size;
  const int64_t w_dims[2] = {g4, -1}, r_dims[2] = {g4, h};
  const xnn_status e = XNN_ERROR_INVALID_MODEL;
  xnn_status st = xnn_shape_expect(e, "blob 0 (W_xc)", &b[0].shape, 2, w_dims);
  if (st == XNN_OK) st = xnn_shape_expect(e, "blob 1 (b_c)", &b[1].shape, 1, &g4);
  if (st == XNN_OK && lp->has_static) st = xnn_shape_expect(e, "blob 2 (W_xc_static)", &b[2].shape, 2, w_dims);
  if (st == XNN_OK) st = xnn_shape_expect(e, lp->has_static ? "blob 3 (W_hc)" : "blob 2 (W_hc)", &b[nw - 1].shape, 2, r_dims);
  if (st != XNN_OK) {
    free_blobs(b, nb);
    return st;
  }
  lp->input_size = b[0].shape.dims[1];
  lp->static_size = lp->has_static ? b[2].shape.dims[1] : 0;
  take_blob(n, 0, &b[0]);
  take_blob(n, 1, &b[nw - 1]);
  take_blob(n, 2, &b[1]);
  if (lp->has_static) take_blob(n, 3, &b[2]);
  return XNN_OK;
}

/* The LSTM's [T, 1, N, H] output becomes the layer's top [T, N, H] (Reshape {0, -1, H}) for later layers. */
static xnn_status add_lstm_reshape(xnn_graph* g, int32_t lstm) {
  const int32_t y = g->nodes[lstm].outputs[0];
  const int64_t h = g->nodes[lstm].p.lstm.hidden_size;
  const size_t len = strlen(g->nodes[lstm].name) + 9;
  char* name = malloc(len);
  if (!name) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  snprintf(name, len, "%s/reshape", g->nodes[lstm].name);
  xnn_node* r = xnn_graph_add_node(g, name, "Reshape", 1, 1);
  free(name);
  if (!r) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  r->op = XNN_OP_RESHAPE;
  r->p.reshape.shape = (xnn_shape){3, {0, -1, h}};
  r->p.reshape.num_axes = -1;
  r->inputs[0] = y;
  const int32_t top = xnn_graph_add_tensor(g, g->tensors[y].name, g->num_nodes - 1);
  if (top < 0) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  g->nodes[g->num_nodes - 1].outputs[0] = top;
  return XNN_OK;
}

/* Caffe's Embed: W [input_dim, num_output], b [num_output] with bias_term. */
static xnn_status build_embed(ctx* c, const layer_io* io, xnn_node* n) {
  static const char* const allowed[] = {"num_output", "input_dim", "bias_term", "weight_filler", "bias_filler", NULL};
  const xnn_pt_node* p = io->param;
  if (!p) return xnn_error(XNN_ERROR_INVALID_MODEL, "embed_param is missing");
  XNN_CHECK(expect_io(io, 1, 1));
  XNN_CHECK(xnn_pt_only(p, "embed_param", allowed));
  xnn_embed_params* e = &n->p.embed;
  n->op = XNN_OP_EMBED;
  XNN_CHECK(positive(p, "num_output", 0, &e->num_output));
  XNN_CHECK(positive(p, "input_dim", 0, &e->input_dim));
  XNN_CHECK(xnn_pt_bool(p, "bias_term", 1, &e->has_bias));
  blob b[2];
  int nb;
  XNN_CHECK(get_blobs(c, 1 + e->has_bias, 1 + e->has_bias, b, &nb));
  const int64_t w_dims[2] = {e->input_dim, e->num_output}, b_dim = e->num_output;
  xnn_status st = xnn_shape_expect(XNN_ERROR_INVALID_MODEL, "blob 0 (weights)", &b[0].shape, 2, w_dims);
  if (st == XNN_OK && e->has_bias) st = xnn_shape_expect(XNN_ERROR_INVALID_MODEL, "blob 1 (bias)", &b[1].shape, 1, &b_dim);
  if (st != XNN_OK) {
    free_blobs(b, nb);
    return st;
  }
  take_blob(n, 0, &b[0]);
  if (e->has_bias) take_blob(n, 1, &b[1]);
  return XNN_OK;
}

typedef xnn_status (*build_fn)(ctx*, const layer_io*, xnn_node*);

typedef struct layer_kind {
  const char* type;    /* V2 type string */
  const char* v1_type; /* legacy V1 enum name, NULL if V1 has none */
  const char* param;   /* the layer's *_param field */
  build_fn build;
} layer_kind;

static const layer_kind k_kinds[] = {
    {"Convolution", "CONVOLUTION", "convolution_param", build_convolution},
    {"InnerProduct", "INNER_PRODUCT", "inner_product_param", build_inner_product},
    {"Pooling", "POOLING", "pooling_param", build_pooling},
    {"ReLU", "RELU", "relu_param", build_relu},
    {"PReLU", NULL, "prelu_param", build_prelu},
    {"Sigmoid", "SIGMOID", "sigmoid_param", build_sigmoid_tanh},
    {"TanH", "TANH", "tanh_param", build_sigmoid_tanh},
    {"LRN", "LRN", "lrn_param", build_lrn},
    {"BatchNorm", NULL, "batch_norm_param", build_batch_norm},
    {"Scale", NULL, "scale_param", build_scale_bias},
    {"Bias", NULL, "bias_param", build_scale_bias},
    {"Eltwise", "ELTWISE", "eltwise_param", build_eltwise},
    {"Concat", "CONCAT", "concat_param", build_concat},
    {"Slice", "SLICE", "slice_param", build_slice},
    {"Softmax", "SOFTMAX", "softmax_param", build_softmax},
    {"Dropout", "DROPOUT", "dropout_param", build_identity},
    {"Split", "SPLIT", NULL, build_identity},
    {"Flatten", "FLATTEN", "flatten_param", build_flatten},
    {"Reshape", NULL, "reshape_param", build_reshape},
    {"Permute", NULL, "permute_param", build_permute},
    {"LSTM", NULL, "recurrent_param", build_lstm},
    {"Embed", NULL, "embed_param", build_embed},
};

/* Parameter messages of layers we know, so that a layer carrying another layer's parameters is caught. */
static int is_param_field(const char* key) {
  const size_t n = strlen(key);
  return n > 6 && strcmp(key + n - 6, "_param") == 0;
}

static const layer_kind* find_kind(const char* type, int v1) {
  for (size_t i = 0; i < sizeof(k_kinds) / sizeof(k_kinds[0]); i++) {
    const char* t = v1 ? k_kinds[i].v1_type : k_kinds[i].type;
    if (t && strcmp(t, type) == 0) return &k_kinds[i];
  }
  return NULL;
}

/* The latest SSA version of a blob name, or -1. */
static int32_t lookup_blob(const xnn_graph* g, const char* name) {
  for (int32_t t = g->num_tensors - 1; t >= 0; t--)
    if (strcmp(g->tensors[t].name, name) == 0) return t;
  return -1;
}

static xnn_status add_input(xnn_graph* g, const char* name, const xnn_shape* shape, int line) {
  if (lookup_blob(g, name) >= 0)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: input '%s' is declared twice", line, name);
  if (shape->ndim < 1) return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: input '%s' has no shape", line, name);
  const int32_t t = xnn_graph_add_tensor(g, name, XNN_TENSOR_INPUT);
  if (t < 0) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  return xnn_graph_add_input(g, t, shape);
}

/* Net-level inputs: `input: "data"` with `input_shape {}` or four `input_dim` per input. */
static xnn_status read_net_inputs(const xnn_pt_node* net, xnn_graph* g) {
  const int ni = xnn_pt_count(net, "input"), ns = xnn_pt_count(net, "input_shape"),
            nd = xnn_pt_count(net, "input_dim");
  if (!ni && (ns || nd)) return xnn_error(XNN_ERROR_INVALID_MODEL, "input_shape/input_dim given without input");
  if (ns && nd) return xnn_error(XNN_ERROR_INVALID_MODEL, "give either input_shape or input_dim, not both");
  if (ni && ns != ni && nd != 4 * ni)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "%d inputs need %d input_shape or %d input_dim entries, got %d/%d", ni,
                     ni, 4 * ni, ns, nd);
  const xnn_pt_node* in = xnn_pt_find(net, "input");
  const xnn_pt_node* sh = xnn_pt_find(net, "input_shape");
  const xnn_pt_node* dim = xnn_pt_find(net, "input_dim");
  for (int i = 0; i < ni; i++, in = xnn_pt_find_next(in, "input")) {
    xnn_shape s = {0, {0}};
    if (ns) {
      XNN_CHECK(read_shape(sh, &s, 0));
      sh = xnn_pt_find_next(sh, "input_shape");
    } else {
      s.ndim = 4;
      for (int d = 0; d < 4; d++, dim = xnn_pt_find_next(dim, "input_dim")) {
        XNN_CHECK(xnn_pt_node_int(dim, &s.dims[d]));
        if (s.dims[d] < 1 || s.dims[d] > XNN_MAX_DIM)
          return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: input_dim %lld is out of range", dim->line,
                           (long long)s.dims[d]);
      }
    }
    XNN_CHECK(add_input(g, in->value, &s, in->line));
  }
  return XNN_OK;
}

static xnn_status read_input_layer(const xnn_pt_node* layer, const layer_io* io, xnn_graph* g) {
  static const char* const allowed[] = {"shape", NULL};
  XNN_CHECK(xnn_pt_only(io->param, "input_param", allowed));
  const int ns = xnn_pt_count(io->param, "shape");
  if (io->num_bottoms) return xnn_error(XNN_ERROR_INVALID_MODEL, "an Input layer has no bottom");
  if (ns != 1 && ns != io->num_tops)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "%d shapes for %d tops", ns, io->num_tops);
  const xnn_pt_node* top = xnn_pt_find(layer, "top");
  const xnn_pt_node* sh = xnn_pt_find(io->param, "shape");
  for (int i = 0; i < io->num_tops; i++, top = xnn_pt_find_next(top, "top")) {
    xnn_shape s;
    XNN_CHECK(read_shape(sh, &s, 0));
    XNN_CHECK(add_input(g, top->value, &s, top->line));
    if (ns > 1) sh = xnn_pt_find_next(sh, "shape");
  }
  return XNN_OK;
}

/* TEST-phase filtering as Caffe does for deploy nets: include/exclude rules on phase. */
static xnn_status in_test_phase(const xnn_pt_node* layer, int* keep) {
  static const char* const phases[] = {"TRAIN", "TEST", NULL};
  *keep = 1;
  const xnn_pt_node* phase_field = xnn_pt_find(layer, "phase");
  if (phase_field) {
    int ph;
    XNN_CHECK(xnn_pt_enum(layer, "phase", phases, 1, &ph));
    if (ph == 0) *keep = 0;
  }
  const int ninc = xnn_pt_count(layer, "include");
  if (ninc) {
    int any = 0;
    for (const xnn_pt_node* r = xnn_pt_find(layer, "include"); r; r = xnn_pt_find_next(r, "include")) {
      int ph = 1;
      if (xnn_pt_find(r, "phase")) XNN_CHECK(xnn_pt_enum(r, "phase", phases, 1, &ph));
      any |= ph == 1;
    }
    if (!any) *keep = 0;
  }
  for (const xnn_pt_node* r = xnn_pt_find(layer, "exclude"); r; r = xnn_pt_find_next(r, "exclude")) {
    int ph = -1;
    if (xnn_pt_find(r, "phase")) XNN_CHECK(xnn_pt_enum(r, "phase", phases, 1, &ph));
    if (ph == 1) *keep = 0;
  }
  return XNN_OK;
}

static xnn_status build_layer(ctx* c, const xnn_pt_node* layer, int v1) {
  const xnn_pt_node* name_f = xnn_pt_find(layer, "name");
  const xnn_pt_node* type_f = xnn_pt_find(layer, "type");
  if (!type_f) return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: layer without a type", layer->line);
  c->name = name_f ? name_f->value : "";
  c->type = type_f->value;
  c->layer = layer;
  int keep;
  XNN_CHECK(in_test_phase(layer, &keep));
  if (!keep) return XNN_OK;

  layer_io io = {xnn_pt_count(layer, "bottom"), xnn_pt_count(layer, "top"), NULL};
  if (!v1 && strcmp(c->type, "Input") == 0) {
    io.param = xnn_pt_find(layer, "input_param");
    return read_input_layer(layer, &io, c->g);
  }
  const layer_kind* kind = find_kind(c->type, v1);
  if (!kind)
    return xnn_error(XNN_ERROR_UNSUPPORTED, "prototxt line %d: layer type '%s' is not supported", type_f->line,
                     c->type);
  if (v1) c->type = kind->type;
  for (const xnn_pt_node* f = layer->child; f; f = f->next) {
    if (is_param_field(f->key) && (!kind->param || strcmp(f->key, kind->param) != 0))
      return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: a %s layer does not take %s", f->line, kind->type,
                       f->key);
  }
  if (kind->param) {
    if (xnn_pt_count(layer, kind->param) > 1)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "%s is given twice", kind->param);
    io.param = xnn_pt_find(layer, kind->param);
  }
  if (io.num_tops < 1) return xnn_error(XNN_ERROR_INVALID_MODEL, "layer has no top");

  xnn_graph* g = c->g;
  xnn_node* n = xnn_graph_add_node(g, c->name, kind->type, io.num_bottoms, io.num_tops);
  if (!n) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  const int32_t node_index = g->num_nodes - 1;
  int i = 0;
  for (const xnn_pt_node* b = xnn_pt_find(layer, "bottom"); b; b = xnn_pt_find_next(b, "bottom")) {
    const int32_t t = lookup_blob(g, b->value);
    if (t < 0)
      return xnn_error(XNN_ERROR_INVALID_MODEL, "prototxt line %d: bottom '%s' is not produced by an earlier layer or input",
                       b->line, b->value);
    n->inputs[i++] = t;
  }
  XNN_CHECK(kind->build(c, &io, n));
  i = 0;
  for (const xnn_pt_node* t = xnn_pt_find(layer, "top"); t; t = xnn_pt_find_next(t, "top")) {
    /* A top named like a bottom (in-place) gets a new SSA tensor; later readers see the new one. */
    const int32_t id = xnn_graph_add_tensor(g, t->value, node_index);
    if (id < 0) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    g->nodes[node_index].outputs[i++] = id;
  }
  if (g->nodes[node_index].op == XNN_OP_LSTM) return add_lstm_reshape(g, node_index);
  return XNN_OK;
}

static xnn_status build_graph(const xnn_pt_node* net, const weights* w, int has_weights, xnn_graph* g) {
  XNN_CHECK(read_net_inputs(net, g));
  const int n2 = xnn_pt_count(net, "layer"), n1 = xnn_pt_count(net, "layers");
  if (n1 && n2) return xnn_error(XNN_ERROR_INVALID_MODEL, "the prototxt mixes 'layer' and legacy 'layers'");
  const int v1 = n1 > 0;
  const char* key = v1 ? "layers" : "layer";
  ctx c = {g, w, has_weights, NULL, "", ""};
  for (const xnn_pt_node* l = xnn_pt_find(net, key); l; l = xnn_pt_find_next(l, key)) {
    xnn_status st = build_layer(&c, l, v1);
    if (st != XNN_OK) {
      xnn_error_prefix("layer '%s' (%s): ", c.name, c.type);
      return st;
    }
  }
  if (g->num_inputs == 0) return xnn_error(XNN_ERROR_INVALID_MODEL, "the network declares no input");
  if (g->num_nodes == 0) return xnn_error(XNN_ERROR_INVALID_MODEL, "the network has no layers");
  XNN_CHECK(complete_permute_orders(g));
  return xnn_graph_finalize(g);
}

xnn_status xnn_read_caffe(const char* prototxt, size_t prototxt_size, const void* caffemodel, size_t caffemodel_size,
                          xnn_graph* g) {
  memset(g, 0, sizeof(*g));
  xnn_pt_doc* doc = NULL;
  XNN_CHECK(xnn_pt_parse(prototxt, prototxt_size, &doc));
  const xnn_pt_node* root = xnn_pt_root(doc);
  xnn_status st = xnn_pt_validate(root, &xnn_caffe_schema, XNN_CAFFE_NET_PARAMETER);
  weights w = {0, 0, NULL};
  if (st == XNN_OK && caffemodel) {
    st = read_weights(caffemodel, caffemodel_size, &w);
    if (st == XNN_ERROR_PARSE) xnn_error_prefix("caffemodel: ");
  }
  if (st == XNN_OK) st = build_graph(root, &w, caffemodel != NULL, g);
  weights_free(&w);
  xnn_pt_free(doc);
  if (st != XNN_OK) xnn_graph_free(g);
  return st;
}

xnn_status xnn_model_load_caffe_memory(const char* prototxt, size_t prototxt_size, const void* caffemodel,
                                       size_t caffemodel_size, xnn_model** model) {
  if (!model || !prototxt) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "xnn_model_load_caffe_memory: NULL argument");
  *model = NULL;
  xnn_graph g;
  XNN_CHECK(xnn_read_caffe(prototxt, prototxt_size, caffemodel, caffemodel_size, &g));
  return xnn_model_create(&g, model);
}

xnn_status xnn_model_load_caffe(const char* prototxt_path, const char* caffemodel_path, xnn_model** model) {
  if (!prototxt_path || !model) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "xnn_model_load_caffe: NULL argument");
  *model = NULL;
  char *text = NULL, *bin = NULL;
  size_t text_size = 0, bin_size = 0;
  xnn_status st = xnn_read_file(prototxt_path, &text, &text_size);
  if (st == XNN_OK && caffemodel_path) st = xnn_read_file(caffemodel_path, &bin, &bin_size);
  if (st == XNN_OK) st = xnn_model_load_caffe_memory(text, text_size, caffemodel_path ? bin : NULL, bin_size, model);
  free(text);
  free(bin);
  return st;
}
