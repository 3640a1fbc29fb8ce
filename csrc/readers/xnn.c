/* .xnn reader (docs/FORMAT.md): header and checksums, the protobuf-wire payload, operators through the
 * table of readers/xnn_ops.c, and weights decoded once into dense float arrays in the IR's layout (the
 * planner packs them, or turns them sparse, as it does for any reader). Every length and id is checked
 * before it is used: a hostile file gets an error naming the node and field. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "readers/readers.h"
#include "readers/wire.h"
#include "readers/xnn_coding.h"
#include "readers/xnn_ops.h"

enum { HEADER_SIZE = 24, MAX_NAME = 4096 };

typedef struct span {
  const uint8_t* p;
  size_t n;
} span;

static uint64_t le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static xnn_status read_header(const uint8_t* d, size_t size, span* payload) {
  if (size < HEADER_SIZE) return xnn_error(XNN_ERROR_PARSE, "file of %zu bytes is shorter than the .xnn header", size);
  if (memcmp(d, "XNNM", 4) != 0) return xnn_error(XNN_ERROR_PARSE, "not an .xnn file (bad magic)");
  if (xnn_crc32(0, d, 20) != (uint32_t)le(d + 20, 4))
    return xnn_error(XNN_ERROR_PARSE, "header checksum mismatch: the file is corrupt");
  const unsigned major = (unsigned)le(d + 4, 2), minor = (unsigned)le(d + 6, 2);
  if (major != 1)
    return xnn_error(XNN_ERROR_UNSUPPORTED, "format version %u.%u: this library reads version 1.x", major, minor);
  const uint64_t n = le(d + 8, 8);
  if (n != size - HEADER_SIZE)
    return xnn_error(XNN_ERROR_PARSE, "the header announces %llu payload bytes, the file has %zu (truncated?)",
                     (unsigned long long)n, size - HEADER_SIZE);
  if (xnn_crc32(0, d + HEADER_SIZE, (size_t)n) != (uint32_t)le(d + 16, 4))
    return xnn_error(XNN_ERROR_PARSE, "payload checksum mismatch: the file is corrupt");
  payload->p = d + HEADER_SIZE;
  payload->n = (size_t)n;
  return XNN_OK;
}

/* ---------------------------------------------------------------- wire helpers */

static xnn_status wire_type(const xnn_wire_field* f, int type, const char* msg, const char* field) {
  if (f->type != type)
    return xnn_error(XNN_ERROR_PARSE, "%s.%s has wire type %d, expected %d", msg, field, f->type, type);
  return XNN_OK;
}

/* A repeated integer field, packed (LEN) or not (VARINT): calls `take` per value. */
typedef xnn_status (*int_sink)(void* ctx, int64_t v);

static xnn_status each_int(const xnn_wire_field* f, const char* field, int_sink take, void* ctx) {
  if (f->type == XNN_WIRE_VARINT) return take(ctx, (int64_t)f->value);
  if (f->type != XNN_WIRE_LEN) return xnn_error(XNN_ERROR_PARSE, "%s has wire type %d", field, f->type);
  const uint8_t* p = f->data;
  const uint8_t* end = f->data + f->size;
  while (p < end) {
    uint64_t v;
    if (!xnn_wire_varint(&p, end, &v)) return xnn_error(XNN_ERROR_PARSE, "%s: truncated packed varint", field);
    XNN_CHECK(take(ctx, (int64_t)v));
  }
  return XNN_OK;
}

/* A growable list of int64 or float values. */
typedef struct list {
  int64_t* ints;
  float* floats;
  size_t count, cap;
} list;

static int grow(list* l, int floats) {
  if (l->count < l->cap) return 1;
  const size_t cap = l->cap ? 2 * l->cap : 8;
  void* p = floats ? realloc(l->floats, cap * sizeof(float)) : realloc(l->ints, cap * sizeof(int64_t));
  if (!p) return 0;
  if (floats)
    l->floats = p;
  else
    l->ints = p;
  l->cap = cap;
  return 1;
}

static xnn_status push_int(void* ctx, int64_t v) {
  list* l = ctx;
  if (!grow(l, 0)) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  l->ints[l->count++] = v;
  return XNN_OK;
}

static xnn_status push_floats(list* l, const xnn_wire_field* f, const char* field) {
  if (f->type == XNN_WIRE_FIXED32) {
    if (!grow(l, 1)) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    const uint32_t bits = (uint32_t)f->value;
    memcpy(&l->floats[l->count++], &bits, 4);
    return XNN_OK;
  }
  if (f->type != XNN_WIRE_LEN || f->size % 4)
    return xnn_error(XNN_ERROR_PARSE, "%s: malformed float list", field);
  for (size_t i = 0; i < f->size; i += 4) {
    if (!grow(l, 1)) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    const uint32_t bits = (uint32_t)le(f->data + i, 4);
    memcpy(&l->floats[l->count++], &bits, 4);
  }
  return XNN_OK;
}

static void list_free(list* l) {
  free(l->ints);
  free(l->floats);
  memset(l, 0, sizeof(*l));
}

/* A NUL-terminated copy of a string field; names with NUL bytes or over MAX_NAME bytes are refused. */
static xnn_status copy_string(const xnn_wire_field* f, const char* field, char* out) {
  XNN_CHECK(wire_type(f, XNN_WIRE_LEN, "string", field));
  if (f->size >= MAX_NAME || memchr(f->data, 0, f->size))
    return xnn_error(XNN_ERROR_PARSE, "%s: a string of %zu bytes (or with a NUL byte)", field, f->size);
  memcpy(out, f->data, f->size);
  out[f->size] = 0;
  return XNN_OK;
}

/* ---------------------------------------------------------------- weights */

/* A Stream message: the symbols it holds, decoded. `syms` is malloc'd. */
static xnn_status read_stream(const uint8_t* data, size_t size, const char* field, uint16_t** syms, uint64_t* count,
                              uint32_t* bits) {
  *syms = NULL;
  xnn_stream_view v;
  memset(&v, 0, sizeof(v));
  xnn_wire w = {data, data + size};
  xnn_wire_field f;
  int r;
  while ((r = xnn_wire_next(&w, &f, field)) > 0) {
    if (f.number == 1 || f.number == 2) {
      XNN_CHECK(wire_type(&f, XNN_WIRE_VARINT, field, f.number == 1 ? "count" : "bits"));
      if (f.number == 1) v.count = f.value;
      else if (f.value > 16) return xnn_error(XNN_ERROR_PARSE, "%s.bits is %llu, at most 16", field, (unsigned long long)f.value);
      else v.bits = (uint32_t)f.value;
    } else if (f.number >= 3 && f.number <= 5) {
      XNN_CHECK(wire_type(&f, XNN_WIRE_LEN, field, "packed/code_lengths/huffman"));
      if (f.number == 3) v.packed = f.data, v.packed_size = f.size;
      if (f.number == 4) v.code_lengths = f.data, v.code_lengths_size = f.size;
      if (f.number == 5) v.huffman = f.data, v.huffman_size = f.size;
    }
  }
  if (r < 0) return XNN_ERROR_PARSE;
  /* Every symbol takes at least one bit of the file: a count beyond that is refused before allocating. */
  if (v.count > 8 * (uint64_t)(v.packed_size + v.huffman_size))
    return xnn_error(XNN_ERROR_PARSE, "%s: %llu symbols cannot fit in %zu bytes", field, (unsigned long long)v.count,
                     v.packed_size + v.huffman_size);
  uint16_t* out = malloc((size_t)v.count * sizeof(uint16_t) + 2);
  if (!out) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  const xnn_status st = xnn_stream_decode(&v, out);
  if (st != XNN_OK) {
    xnn_error_prefix("%s: ", field);
    free(out);
    return st;
  }
  *syms = out;
  *count = v.count;
  *bits = v.bits;
  return XNN_OK;
}

typedef struct weight_fields {
  list shape;
  uint64_t nnz;
  span f32, f16, codebook, linear, gaps;
  int has_f32, has_f16, has_codebook, has_linear, has_gaps;
} weight_fields;

static xnn_status read_weight_fields(span msg, weight_fields* w) {
  xnn_wire wr = {msg.p, msg.p + msg.n};
  xnn_wire_field f;
  int r;
  while ((r = xnn_wire_next(&wr, &f, "Weight")) > 0) {
    span s = {f.data, f.size};
    switch (f.number) {
      case 1:
        XNN_CHECK(each_int(&f, "shape", push_int, &w->shape));
        break;
      case 2:
        XNN_CHECK(wire_type(&f, XNN_WIRE_VARINT, "Weight", "nnz"));
        w->nnz = f.value;
        break;
      case 3: case 4: case 5: case 6: case 7:
        XNN_CHECK(wire_type(&f, XNN_WIRE_LEN, "Weight", "f32/f16/codebook/linear/gaps"));
        if (f.number == 3) w->f32 = s, w->has_f32 = 1;
        if (f.number == 4) w->f16 = s, w->has_f16 = 1;
        if (f.number == 5) w->codebook = s, w->has_codebook = 1;
        if (f.number == 6) w->linear = s, w->has_linear = 1;
        if (f.number == 7) w->gaps = s, w->has_gaps = 1;
        break;
      default:
        break;
    }
  }
  return r < 0 ? XNN_ERROR_PARSE : XNN_OK;
}

static int finite_all(const float* v, uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

/* float32 or binary16 values of a `bytes` field: exactly n of them, all finite. */
static xnn_status read_floats(span s, int half, uint64_t n, const char* field, float* out) {
  const size_t width = half ? 2 : 4;
  if (s.n / width != n || s.n % width)
    return xnn_error(XNN_ERROR_PARSE, "%s has %zu bytes, %llu values of %zu bytes expected", field, s.n,
                     (unsigned long long)n, width);
  if (half) return xnn_f16_decode(s.p, (size_t)n, out);
  for (uint64_t i = 0; i < n; i++) {
    const uint32_t bits = (uint32_t)le(s.p + 4 * i, 4);
    memcpy(&out[i], &bits, 4);
  }
  if (!finite_all(out, n)) return xnn_error(XNN_ERROR_INVALID_MODEL, "%s has a non-finite value", field);
  return XNN_OK;
}

/* Codebook: centroids, then values[i] = centroids[index i]. */
static xnn_status read_codebook(span msg, uint64_t nnz, float* values) {
  span c = {NULL, 0};
  int half = -1;
  uint16_t* idx = NULL;
  uint64_t count = 0;
  uint32_t bits = 0;
  xnn_wire w = {msg.p, msg.p + msg.n};
  xnn_wire_field f;
  int r;
  xnn_status st = XNN_OK;
  while (st == XNN_OK && (r = xnn_wire_next(&w, &f, "Codebook")) > 0) {
    if (f.number < 1 || f.number > 3) continue;
    st = wire_type(&f, XNN_WIRE_LEN, "Codebook", "f32/f16/indices");
    if (st != XNN_OK) break;
    if (f.number == 3) {
      free(idx);
      idx = NULL;
      st = read_stream(f.data, f.size, "codebook.indices", &idx, &count, &bits);
    } else {
      if (half >= 0) st = xnn_error(XNN_ERROR_PARSE, "Codebook has both f32 and f16 centroids");
      half = f.number == 2;
      c.p = f.data;
      c.n = f.size;
    }
  }
  if (st == XNN_OK && r < 0) st = XNN_ERROR_PARSE;
  if (st == XNN_OK && (half < 0 || !idx)) st = xnn_error(XNN_ERROR_PARSE, "Codebook needs centroids and indices");
  if (st == XNN_OK && count != nnz)
    st = xnn_error(XNN_ERROR_PARSE, "codebook.indices has %llu symbols for %llu values", (unsigned long long)count,
                   (unsigned long long)nnz);
  const size_t k = st == XNN_OK ? c.n / (half ? 2 : 4) : 0;
  if (st == XNN_OK && (k < 1 || k > 65536)) st = xnn_error(XNN_ERROR_PARSE, "codebook of %zu centroids", k);
  float* centroids = st == XNN_OK ? malloc(k * sizeof(float)) : NULL;
  if (st == XNN_OK && !centroids) st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  if (st == XNN_OK) st = read_floats(c, half, k, "codebook centroids", centroids);
  for (uint64_t i = 0; st == XNN_OK && i < nnz; i++) {
    if (idx[i] >= k) {
      st = xnn_error(XNN_ERROR_INVALID_MODEL, "codebook index %u at %llu, only %zu centroids", idx[i],
                     (unsigned long long)i, k);
      break;
    }
    values[i] = centroids[idx[i]];
  }
  free(centroids);
  free(idx);
  return st;
}

/* Linear int8: the scales (one, or one per row) and the raw values; scaled after the positions are known. */
static xnn_status read_linear(span msg, uint64_t nnz, int64_t rows, list* scales, span* values) {
  xnn_wire w = {msg.p, msg.p + msg.n};
  xnn_wire_field f;
  int r;
  int has_values = 0;
  while ((r = xnn_wire_next(&w, &f, "Linear")) > 0) {
    if (f.number == 1) XNN_CHECK(push_floats(scales, &f, "linear.scale"));
    if (f.number == 2) {
      XNN_CHECK(wire_type(&f, XNN_WIRE_LEN, "Linear", "values"));
      values->p = f.data;
      values->n = f.size;
      has_values = 1;
    }
  }
  if (r < 0) return XNN_ERROR_PARSE;
  if (!has_values || values->n != nnz)
    return xnn_error(XNN_ERROR_PARSE, "linear.values has %zu bytes for %llu values", values->n, (unsigned long long)nnz);
  if (scales->count != 1 && scales->count != (size_t)rows)
    return xnn_error(XNN_ERROR_PARSE, "linear.scale has %zu values: 1 or one per row (%lld) expected", scales->count,
                     (long long)rows);
  if (!finite_all(scales->floats, scales->count)) return xnn_error(XNN_ERROR_INVALID_MODEL, "linear.scale is not finite");
  return XNN_OK;
}

/* Decodes weight `slot` of node `n` into a dense float array of the shape the operator expects. */
static xnn_status read_weight(span msg, xnn_node* n, int32_t slot, uint64_t* elements) {
  static const char* const names[] = {"W", "b", "c", "d"};
  weight_fields w;
  memset(&w, 0, sizeof(w));
  list scales = {0};
  float* values = NULL;
  float* dense = NULL;
  uint16_t* gap_syms = NULL;
  uint64_t* positions = NULL;
  xnn_status st = read_weight_fields(msg, &w);
  xnn_shape shape = {0, {0}}, want;
  xnn_op_weight_shape(n, slot, &want);
  char buf[160], wbuf[160];
  if (st == XNN_OK && (w.shape.count < 1 || w.shape.count > XNN_MAX_DIMS))
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "shape has %zu dimensions", w.shape.count);
  if (st == XNN_OK) {
    shape.ndim = (int32_t)w.shape.count;
    for (int32_t d = 0; d < shape.ndim; d++) shape.dims[d] = w.shape.ints[d];
  }
  const int64_t numel = st == XNN_OK ? xnn_shape_numel_checked(&shape) : 0;
  if (st == XNN_OK && numel < 0) st = xnn_error(XNN_ERROR_INVALID_MODEL, "shape %s is invalid or too large",
                                                xnn_shape_str(&shape, buf, sizeof(buf)));
  int same = st == XNN_OK && (shape.ndim == want.ndim || want.ndim == 0); /* 0 dimensions: any shape */
  for (int32_t d = 0; same && want.ndim && d < shape.ndim; d++) same = want.dims[d] < 0 || want.dims[d] == shape.dims[d];
  if (st == XNN_OK && !same)
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "shape %s, expected %s (-1: any)", xnn_shape_str(&shape, buf, sizeof(buf)),
                   xnn_shape_str(&want, wbuf, sizeof(wbuf)));
  /* A sparse tensor with few or no values can declare any size in a few bytes, and is zero-filled here. */
  if (st == XNN_OK && (uint64_t)numel > *elements)
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "shape %s: more weight elements than a file of this size may declare",
                   xnn_shape_str(&shape, buf, sizeof(buf)));
  if (st == XNN_OK) *elements -= (uint64_t)numel;
  if (st == XNN_OK) st = xnn_op_take_weight_shape(n, slot, &shape);
  const int kinds = w.has_f32 + w.has_f16 + w.has_codebook + w.has_linear;
  if (st == XNN_OK && kinds != 1)
    st = xnn_error(XNN_ERROR_PARSE, "exactly one of f32, f16, codebook and linear must be given (%d are)", kinds);
  if (st == XNN_OK && (w.nnz > (uint64_t)numel || (!w.has_gaps && w.nnz != (uint64_t)numel)))
    st = xnn_error(XNN_ERROR_PARSE, "nnz %llu for %lld elements%s", (unsigned long long)w.nnz, (long long)numel,
                   w.has_gaps ? "" : " (dense: they must be equal)");
  /* Values: refuse counts that the fields cannot hold before allocating for them. */
  const size_t value_bytes = w.f32.n + w.f16.n + w.codebook.n + w.linear.n;
  if (st == XNN_OK && w.nnz > 8 * (uint64_t)value_bytes)
    st = xnn_error(XNN_ERROR_PARSE, "%llu values cannot fit in %zu bytes", (unsigned long long)w.nnz, value_bytes);
  if (st == XNN_OK) {
    values = malloc((size_t)w.nnz * sizeof(float) + 4);
    if (!values) st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  span int8_values = {NULL, 0};
  if (st == XNN_OK) {
    if (w.has_f32 || w.has_f16)
      st = read_floats(w.has_f32 ? w.f32 : w.f16, w.has_f16, w.nnz, w.has_f32 ? "f32" : "f16", values);
    else if (w.has_codebook)
      st = read_codebook(w.codebook, w.nnz, values);
    else
      st = read_linear(w.linear, w.nnz, shape.dims[0], &scales, &int8_values);
  }
  if (st == XNN_OK && w.has_gaps) {
    uint64_t count;
    uint32_t bits;
    st = read_stream(w.gaps.p, w.gaps.n, "gaps", &gap_syms, &count, &bits);
    if (st == XNN_OK) {
      positions = malloc((size_t)w.nnz * sizeof(uint64_t) + 8);
      if (!positions) st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    if (st == XNN_OK) {
      st = xnn_gaps_decode(gap_syms, count, bits, w.nnz, (uint64_t)numel, positions);
      if (st != XNN_OK) xnn_error_prefix("gaps: ");
    }
  }
  if (st == XNN_OK) {
    dense = xnn_alloc_aligned((size_t)numel * sizeof(float));
    if (!dense) st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory for %lld weights", (long long)numel);
  }
  if (st == XNN_OK) {
    const int64_t row = numel / shape.dims[0];
    if (w.has_gaps) memset(dense, 0, (size_t)numel * sizeof(float));
    for (uint64_t i = 0; i < w.nnz; i++) {
      const uint64_t at = positions ? positions[i] : i;
      float v = values[i];
      if (int8_values.p) v = scales.floats[scales.count == 1 ? 0 : at / (uint64_t)row] * (float)(int8_t)int8_values.p[i];
      dense[at] = v;
    }
    n->weights[slot] = dense;
    n->weight_size[slot] = numel;
    dense = NULL;
  }
  if (st != XNN_OK) xnn_error_prefix("weight %d (%s): ", slot, slot < 4 ? names[slot] : "?");
  xnn_free_aligned(dense);
  free(values);
  free(gap_syms);
  free(positions);
  list_free(&scales);
  list_free(&w.shape);
  return st;
}

/* ---------------------------------------------------------------- nodes */

/* Weight elements a file of `bytes` may declare in all: 2^24, plus 4096 a byte (a model compressed 50x
 * holds about 12 a byte; all-zero tensors of a pruned model fit in the 2^24). */
#define XNN_FILE_ELEMENTS(bytes) (((uint64_t)1 << 24) + 4096 * (uint64_t)(bytes))

typedef struct reader {
  xnn_graph* g;
  uint8_t* written; /* per tensor: 1 once an input or a node output */
  uint64_t elements; /* weight elements the file may still declare (XNN_FILE_ELEMENTS) */
} reader;

static xnn_status set_attr(xnn_node* n, const xnn_op_schema* s, const char* name, const list* ints,
                           const list* floats, uint32_t* seen) {
  int32_t a = 0;
  while (s->attrs[a].name && strcmp(s->attrs[a].name, name) != 0) a++;
  const xnn_attr_def* d = &s->attrs[a];
  if (!d->name) return xnn_error(XNN_ERROR_INVALID_MODEL, "unknown attribute '%s' for %s", name, s->name);
  if (*seen & (1u << a)) return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' is given twice", name);
  *seen |= 1u << a;
  const int is_float = d->kind == XNN_ATTR_FLOAT || d->kind == XNN_ATTR_COEFFS || d->kind == XNN_ATTR_FLOATS;
  const size_t count = is_float ? floats->count : ints->count;
  if ((is_float ? ints->count : floats->count) != 0)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' takes %s values", name, is_float ? "float" : "int");
  for (size_t i = 0; i < count; i++) {
    if (is_float && isnan(floats->floats[i])) return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' is NaN", name);
    if (!is_float && (ints->ints[i] < d->min || ints->ints[i] > d->max))
      return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' value %lld is outside [%d, %d]", name,
                       (long long)ints->ints[i], d->min, d->max);
  }
  char* base = (char*)&n->p;
  switch (d->kind) {
    case XNN_ATTR_INT:
    case XNN_ATTR_FLOAT:
      if (count != d->count)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' has %zu values, expected %d", name, count, d->count);
      for (size_t i = 0; i < count; i++) {
        if (is_float)
          memcpy(base + d->offset + 4 * i, &floats->floats[i], 4);
        else {
          const int32_t v = (int32_t)ints->ints[i];
          memcpy(base + d->offset + 4 * i, &v, 4);
        }
      }
      return XNN_OK;
    case XNN_ATTR_COEFFS:
      if (count != (size_t)n->num_inputs)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "%zu coeffs for %d inputs", count, n->num_inputs);
      n->p.eltwise.coeffs = malloc(count * sizeof(float));
      if (!n->p.eltwise.coeffs) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
      memcpy(n->p.eltwise.coeffs, floats->floats, count * sizeof(float));
      return XNN_OK;
    case XNN_ATTR_POINTS:
      if (count != (size_t)n->num_outputs - 1)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "%zu slice points for %d outputs", count, n->num_outputs);
      n->p.axis.points = malloc(count * sizeof(int64_t) + 8);
      if (!n->p.axis.points) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
      /* Loops, not memcpy: an attribute of no values has no array, and memcpy from NULL is undefined. */
      for (size_t i = 0; i < count; i++) n->p.axis.points[i] = ints->ints[i];
      n->p.axis.num_points = (int32_t)count;
      return XNN_OK;
    case XNN_ATTR_FLOATS: {
      if (count > d->count)
        return xnn_error(XNN_ERROR_UNSUPPORTED, "attribute '%s' has %zu values, at most %d are supported", name, count,
                         d->count);
      xnn_float_list* l = (xnn_float_list*)(base + d->offset);
      l->count = (int32_t)count;
      for (size_t i = 0; i < count; i++) l->v[i] = floats->floats[i];
      return XNN_OK;
    }
    case XNN_ATTR_ORDER:
      if (count < 1 || count > XNN_MAX_DIMS)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' has %zu values, expected 1 to %d", name, count,
                         XNN_MAX_DIMS);
      n->p.permute.ndim = (int32_t)count;
      for (size_t i = 0; i < count; i++) n->p.permute.order[i] = (int32_t)ints->ints[i];
      return XNN_OK;
    default: { /* XNN_ATTR_SHAPE */
      if (count < 1 || count > XNN_MAX_DIMS)
        return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' has %zu dimensions", name, count);
      int infer = 0;
      for (size_t i = 0; i < count; i++) infer += ints->ints[i] == -1;
      if (infer > 1) return xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s': only one dimension may be -1", name);
      n->p.reshape.shape.ndim = (int32_t)count;
      for (size_t i = 0; i < count; i++) n->p.reshape.shape.dims[i] = ints->ints[i];
      return XNN_OK;
    }
  }
}

static xnn_status read_attr(span msg, xnn_node* n, const xnn_op_schema* s, uint32_t* seen) {
  char name[MAX_NAME];
  name[0] = 0;
  list ints = {0}, floats = {0};
  xnn_wire w = {msg.p, msg.p + msg.n};
  xnn_wire_field f;
  int r;
  xnn_status st = XNN_OK;
  while (st == XNN_OK && (r = xnn_wire_next(&w, &f, "Attr")) > 0) {
    if (f.number == 1) st = copy_string(&f, "Attr.name", name);
    if (f.number == 2) st = each_int(&f, "Attr.ints", push_int, &ints);
    if (f.number == 3) st = push_floats(&floats, &f, "Attr.floats");
  }
  if (st == XNN_OK && r < 0) st = XNN_ERROR_PARSE;
  if (st == XNN_OK) st = set_attr(n, s, name, &ints, &floats, seen);
  list_free(&ints);
  list_free(&floats);
  return st;
}

static xnn_status check_tensor(const reader* rd, int64_t id, const char* what) {
  if (id < 0 || id >= rd->g->num_tensors)
    return xnn_error(XNN_ERROR_INVALID_MODEL, "%s tensor id %lld is out of range (%d tensors)", what, (long long)id,
                     rd->g->num_tensors);
  return XNN_OK;
}

static xnn_status read_node(reader* rd, span msg, int32_t index) {
  char name[MAX_NAME] = "", op[MAX_NAME] = "", type[MAX_NAME] = "";
  list ins = {0}, outs = {0};
  int32_t num_weights = 0;
  uint64_t num_params = 0;
  xnn_wire w = {msg.p, msg.p + msg.n};
  xnn_wire_field f;
  int r;
  xnn_status st = XNN_OK;
  while (st == XNN_OK && (r = xnn_wire_next(&w, &f, "Node")) > 0) {
    switch (f.number) {
      case 1: st = copy_string(&f, "Node.name", name); break;
      case 2: st = copy_string(&f, "Node.op", op); break;
      case 3: st = copy_string(&f, "Node.type", type); break;
      case 4: st = each_int(&f, "Node.inputs", push_int, &ins); break;
      case 5: st = each_int(&f, "Node.outputs", push_int, &outs); break;
      case 7: num_weights++; break;
      case 8:
        st = wire_type(&f, XNN_WIRE_VARINT, "Node", "num_params");
        num_params = f.value;
        break;
      default: break;
    }
  }
  if (st == XNN_OK && r < 0) st = XNN_ERROR_PARSE;
  const xnn_op_schema* s = st == XNN_OK ? xnn_op_schema_find(op) : NULL;
  if (st == XNN_OK && !s) st = xnn_error(XNN_ERROR_UNSUPPORTED, "operator '%s' is not supported", op);
  if (st == XNN_OK && (ins.count < (size_t)s->min_inputs || (s->max_inputs && ins.count > (size_t)s->max_inputs) ||
                       ins.count > (1u << 20)))
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "%zu inputs for %s", ins.count, s->name);
  if (st == XNN_OK && (outs.count < (size_t)s->min_outputs || (s->max_outputs && outs.count > (size_t)s->max_outputs) ||
                       outs.count > (1u << 20)))
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "%zu outputs for %s", outs.count, s->name);
  for (size_t i = 0; st == XNN_OK && i < ins.count; i++) {
    st = check_tensor(rd, ins.ints[i], "input");
    if (st == XNN_OK && !rd->written[ins.ints[i]])
      st = xnn_error(XNN_ERROR_INVALID_MODEL, "input tensor %lld ('%s') is not written by an earlier node or input",
                     (long long)ins.ints[i], rd->g->tensors[ins.ints[i]].name);
  }
  for (size_t i = 0; st == XNN_OK && i < outs.count; i++) {
    st = check_tensor(rd, outs.ints[i], "output");
    if (st == XNN_OK && rd->written[outs.ints[i]])
      st = xnn_error(XNN_ERROR_INVALID_MODEL, "output tensor %lld ('%s') is written twice", (long long)outs.ints[i],
                     rd->g->tensors[outs.ints[i]].name);
    if (st == XNN_OK) rd->written[outs.ints[i]] = 1;
  }
  xnn_node* n = NULL;
  if (st == XNN_OK) {
    n = xnn_graph_add_node(rd->g, name, type[0] ? type : op, (int32_t)ins.count, (int32_t)outs.count);
    if (!n) st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  if (st == XNN_OK) {
    xnn_op_schema_defaults(s, n);
    for (size_t i = 0; i < ins.count; i++) n->inputs[i] = (int32_t)ins.ints[i];
    for (size_t i = 0; i < outs.count; i++) {
      n->outputs[i] = (int32_t)outs.ints[i];
      rd->g->tensors[outs.ints[i]].producer = index;
    }
  }
  /* Attributes, then what they imply, then the weights whose shapes depend on them. */
  uint32_t seen = 0;
  w.p = msg.p;
  while (st == XNN_OK && xnn_wire_next(&w, &f, "Node") > 0)
    if (f.number == 6) {
      st = wire_type(&f, XNN_WIRE_LEN, "Node", "attrs");
      if (st == XNN_OK) st = read_attr((span){f.data, f.size}, n, s, &seen);
    }
  for (int32_t a = 0; st == XNN_OK && s->attrs[a].name; a++)
    if (s->attrs[a].required && !(seen & (1u << a)))
      st = xnn_error(XNN_ERROR_INVALID_MODEL, "attribute '%s' is required", s->attrs[a].name);
  if (st == XNN_OK && n->op == XNN_OP_ELTWISE && n->p.eltwise.coeffs && n->p.eltwise.op != XNN_ELTWISE_SUM)
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "coeffs are only for operation 1 (sum)");
  if (st == XNN_OK) st = xnn_op_schema_check(n);
  if (st == XNN_OK && num_weights != xnn_op_num_weights(n))
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "%d weights, expected %d", num_weights, xnn_op_num_weights(n));
  int32_t slot = 0;
  w.p = msg.p;
  while (st == XNN_OK && xnn_wire_next(&w, &f, "Node") > 0)
    if (f.number == 7) {
      st = wire_type(&f, XNN_WIRE_LEN, "Node", "weights");
      if (st == XNN_OK) st = read_weight((span){f.data, f.size}, n, slot, &rd->elements);
      if (st == XNN_OK) n->num_weights = ++slot;
    }
  if (st == XNN_OK) {
    int64_t total = 0;
    for (int32_t i = 0; i < n->num_weights; i++) total += n->weight_size[i];
    n->num_params = num_params ? (int64_t)XNN_MIN(num_params, (uint64_t)INT64_MAX) : total;
  }
  if (st != XNN_OK) xnn_error_prefix("node %d '%s' (%s): ", index, name, op);
  list_free(&ins);
  list_free(&outs);
  return st;
}

/* ---------------------------------------------------------------- model */

static xnn_status read_input(reader* rd, span msg) {
  list tensor = {0}, dims = {0};
  xnn_wire w = {msg.p, msg.p + msg.n};
  xnn_wire_field f;
  int r;
  xnn_status st = XNN_OK;
  while (st == XNN_OK && (r = xnn_wire_next(&w, &f, "Input")) > 0) {
    if (f.number == 1) st = each_int(&f, "Input.tensor", push_int, &tensor);
    if (f.number == 2) st = each_int(&f, "Input.shape", push_int, &dims);
  }
  if (st == XNN_OK && r < 0) st = XNN_ERROR_PARSE;
  const int64_t t = tensor.count ? tensor.ints[tensor.count - 1] : 0;
  if (st == XNN_OK) st = check_tensor(rd, t, "graph input");
  if (st == XNN_OK && rd->written[t])
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "graph input '%s' is declared twice", rd->g->tensors[t].name);
  xnn_shape shape = {0, {0}};
  if (st == XNN_OK && (dims.count < 1 || dims.count > XNN_MAX_DIMS))
    st = xnn_error(XNN_ERROR_INVALID_MODEL, "graph input '%s' has %zu dimensions", rd->g->tensors[t].name, dims.count);
  for (size_t i = 0; st == XNN_OK && i < dims.count; i++) {
    if (dims.ints[i] < 1 || dims.ints[i] > XNN_MAX_DIM)
      st = xnn_error(XNN_ERROR_INVALID_MODEL, "graph input '%s': dimension %lld is out of range",
                     rd->g->tensors[t].name, (long long)dims.ints[i]);
    shape.dims[i] = dims.ints[i];
  }
  shape.ndim = (int32_t)dims.count;
  if (st == XNN_OK) {
    rd->written[t] = 1;
    rd->g->tensors[t].producer = XNN_TENSOR_INPUT;
    st = xnn_graph_add_input(rd->g, (int32_t)t, &shape);
  }
  list_free(&tensor);
  list_free(&dims);
  return st;
}

/* A Meta entry: the one key the runtime reads is "layout" (how 4-D inputs hold images); the others
 * (source file, compression report) are for tools. */
static xnn_status read_meta(span msg, xnn_graph* g) {
  xnn_wire w = {msg.p, msg.p + msg.n};
  xnn_wire_field f;
  span key = {NULL, 0}, value = {NULL, 0};
  int r;
  while ((r = xnn_wire_next(&w, &f, "Meta")) > 0) {
    if (f.number != 1 && f.number != 2) continue;
    XNN_CHECK(wire_type(&f, XNN_WIRE_LEN, "Meta", f.number == 1 ? "key" : "value"));
    if (f.number == 1) key = (span){f.data, f.size};
    else value = (span){f.data, f.size};
  }
  if (r < 0) return XNN_ERROR_PARSE;
  if (key.n != 6 || memcmp(key.p, "layout", 6) != 0) return XNN_OK;
  if (value.n == 4 && (!memcmp(value.p, "NCHW", 4) || !memcmp(value.p, "NHWC", 4))) {
    g->nhwc = value.p[1] == 'H';
    return XNN_OK;
  }
  return xnn_error(XNN_ERROR_INVALID_MODEL, "metadata 'layout' must be NCHW or NHWC");
}

static xnn_status read_model(span payload, xnn_graph* g) {
  reader rd = {g, NULL, XNN_FILE_ELEMENTS(payload.n)};
  xnn_wire w = {payload.p, payload.p + payload.n};
  xnn_wire_field f;
  int r;
  char name[MAX_NAME];
  /* Tensor names first: every other part refers to them by index. */
  while ((r = xnn_wire_next(&w, &f, "Model")) > 0)
    if (f.number == 2) {
      XNN_CHECK(copy_string(&f, "Model.tensors", name));
      if (xnn_graph_add_tensor(g, name, XNN_TENSOR_DEAD) < 0) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    }
  if (r < 0) return XNN_ERROR_PARSE;
  rd.written = calloc((size_t)g->num_tensors + 1, 1);
  if (!rd.written) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  xnn_status st = XNN_OK;
  w.p = payload.p;
  while (st == XNN_OK && xnn_wire_next(&w, &f, "Model") > 0)
    if (f.number == 3) {
      st = wire_type(&f, XNN_WIRE_LEN, "Model", "inputs");
      if (st == XNN_OK) st = read_input(&rd, (span){f.data, f.size});
    }
  w.p = payload.p;
  while (st == XNN_OK && xnn_wire_next(&w, &f, "Model") > 0)
    if (f.number == 5) {
      st = wire_type(&f, XNN_WIRE_LEN, "Model", "nodes");
      if (st == XNN_OK) st = read_node(&rd, (span){f.data, f.size}, g->num_nodes);
    }
  w.p = payload.p;
  while (st == XNN_OK && xnn_wire_next(&w, &f, "Model") > 0)
    if (f.number == 6) {
      st = wire_type(&f, XNN_WIRE_LEN, "Model", "metadata");
      if (st == XNN_OK) st = read_meta((span){f.data, f.size}, g);
    }
  list outs = {0};
  w.p = payload.p;
  while (st == XNN_OK && xnn_wire_next(&w, &f, "Model") > 0)
    if (f.number == 4) st = each_int(&f, "Model.outputs", push_int, &outs);
  if (st == XNN_OK && g->num_inputs == 0) st = xnn_error(XNN_ERROR_INVALID_MODEL, "the model declares no input");
  if (st == XNN_OK && g->num_nodes == 0) st = xnn_error(XNN_ERROR_INVALID_MODEL, "the model has no nodes");
  if (st == XNN_OK && outs.count == 0) st = xnn_error(XNN_ERROR_INVALID_MODEL, "the model declares no output");
  for (int32_t t = 0; st == XNN_OK && t < g->num_tensors; t++)
    if (!rd.written[t]) st = xnn_error(XNN_ERROR_INVALID_MODEL, "tensor %d ('%s') is never written", t, g->tensors[t].name);
  if (st == XNN_OK) {
    g->outputs = calloc(outs.count + 1, sizeof(int32_t));
    if (!g->outputs) st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  for (size_t i = 0; st == XNN_OK && i < outs.count; i++) {
    st = check_tensor(&rd, outs.ints[i], "graph output");
    if (st == XNN_OK && g->tensors[outs.ints[i]].producer < 0)
      st = xnn_error(XNN_ERROR_INVALID_MODEL, "graph output '%s' is a graph input", g->tensors[outs.ints[i]].name);
    for (size_t j = 0; st == XNN_OK && j < i; j++)
      if (outs.ints[j] == outs.ints[i])
        st = xnn_error(XNN_ERROR_INVALID_MODEL, "graph output '%s' is listed twice", g->tensors[outs.ints[i]].name);
    if (st == XNN_OK) g->outputs[g->num_outputs++] = (int32_t)outs.ints[i];
  }
  list_free(&outs);
  free(rd.written);
  return st;
}

xnn_status xnn_read_xnn(const void* data, size_t size, xnn_graph* g) {
  memset(g, 0, sizeof(*g));
  span payload;
  XNN_CHECK(read_header(data, size, &payload));
  const xnn_status st = read_model(payload, g);
  if (st != XNN_OK) xnn_graph_free(g);
  return st;
}

xnn_status xnn_model_load_memory(const void* data, size_t size, xnn_model** model) {
  if (!data || !model) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "xnn_model_load_memory: NULL argument");
  *model = NULL;
  xnn_graph g;
  XNN_CHECK(xnn_read_xnn(data, size, &g));
  return xnn_model_create(&g, model);
}

xnn_status xnn_model_load(const char* path, xnn_model** model) {
  if (!path || !model) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "xnn_model_load: NULL argument");
  *model = NULL;
  char* data = NULL;
  size_t size = 0;
  XNN_CHECK(xnn_read_file(path, &data, &size));
  const xnn_status st = xnn_model_load_memory(data, size, model);
  if (st != XNN_OK) xnn_error_prefix("'%s': ", path);
  free(data);
  return st;
}
