/* Binary elementwise ops with NumPy broadcasting (ONNX Add, Sub, Mul, Div, Max, Min, Pow, PRelu). The
 * second operand is input 1, or a constant weight of any shape (left of the input when const_first).
 * Dimensions are right-aligned; adjacent dimensions that broadcast alike are merged at run time so that
 * the inner loop runs over the longest contiguous row. */
#include <math.h>

#include "ops/ops.h"

enum { ROWS_PER_TASK = 64 };

/* Shape work, once per plan or run: optimized for size (the library's budget), the rows for speed. */
#define COLD __attribute__((cold))

/* The two operands' shapes, left first. */
COLD static void operand_shapes(const xnn_node* n, const xnn_tensor_rt* t, const xnn_shape** a, const xnn_shape** b) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  const xnn_shape* other = n->num_inputs > 1 ? &t[n->inputs[1]].shape : &n->p.binary.cshape;
  const int swap = n->num_inputs == 1 && n->p.binary.const_first;
  *a = swap ? other : in;
  *b = swap ? in : other;
}

static int64_t dim_at(const xnn_shape* s, int32_t d, int32_t ndim) {
  const int32_t k = d - (ndim - s->ndim);
  return k < 0 ? 1 : s->dims[k];
}

COLD static xnn_status binary_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape *a, *b;
  operand_shapes(n, t, &a, &b);
  xnn_shape* out = &t[n->outputs[0]].shape;
  const int32_t ndim = XNN_MAX(a->ndim, b->ndim);
  char b1[128], b2[128];
  for (int32_t d = 0; d < ndim; d++) {
    const int64_t x = dim_at(a, d, ndim), y = dim_at(b, d, ndim);
    if (x != y && x != 1 && y != 1)
      return xnn_shape_error("operands %s and %s do not broadcast (axis %d)", xnn_shape_str(a, b1, sizeof(b1)),
                             xnn_shape_str(b, b2, sizeof(b2)), d);
  }
  xnn_shape s = {ndim, {0}};
  for (int32_t d = 0; d < ndim; d++) s.dims[d] = XNN_MAX(dim_at(a, d, ndim), dim_at(b, d, ndim));
  *out = s;
  plan->macs = xnn_shape_numel(out);
  plan->workspace_bytes = 0;
  return XNN_OK;
}

typedef struct binary_job {
  int32_t op, ndim; /* after merging; the last dimension is the row */
  int64_t dims[XNN_MAX_DIMS], sa[XNN_MAX_DIMS], sb[XNN_MAX_DIMS];
  const float *a, *b;
  float* y;
  size_t rows;
} binary_job;

static float apply(int32_t op, float x, float z) {
  switch (op) {
    case XNN_BINARY_SUB: return x - z;
    case XNN_BINARY_DIV: return x / z;
    case XNN_BINARY_MAX: return x > z ? x : z;
    case XNN_BINARY_MIN: return x < z ? x : z;
    case XNN_BINARY_POW: return powf(x, z);
    default: return x > 0.0f ? x : x * z; /* PRELU */
  }
}

/* Add and Mul (the common ones: biases, scales, residuals) get their own loops; the rest share one, to
 * keep the library small. */
static void binary_row(int32_t op, size_t len, const float* a, size_t sa, const float* b, size_t sb, float* y) {
  if (op == XNN_BINARY_ADD)
    for (size_t i = 0; i < len; i++) y[i] = a[i * sa] + b[i * sb];
  else if (op == XNN_BINARY_MUL)
    for (size_t i = 0; i < len; i++) y[i] = a[i * sa] * b[i * sb];
  else
    for (size_t i = 0; i < len; i++) y[i] = apply(op, a[i * sa], b[i * sb]);
}

static void binary_rows(void* ctx, size_t task) {
  const binary_job* j = ctx;
  const int32_t last = j->ndim - 1;
  const size_t len = (size_t)j->dims[last];
  const size_t end = XNN_MIN(j->rows, (task + 1) * ROWS_PER_TASK);
  for (size_t r = task * ROWS_PER_TASK; r < end; r++) {
    int64_t oa = 0, ob = 0;
    size_t rest = r;
    for (int32_t d = last - 1; d >= 0; d--) {
      const size_t i = rest % (size_t)j->dims[d];
      rest /= (size_t)j->dims[d];
      oa += (int64_t)i * j->sa[d];
      ob += (int64_t)i * j->sb[d];
    }
    binary_row(j->op, len, j->a + oa, (size_t)j->sa[last], j->b + ob, (size_t)j->sb[last], j->y + r * len);
  }
}

/* Strides of an operand broadcast to `out` (0 along broadcast dimensions). */
COLD static void broadcast_strides(const xnn_shape* s, const xnn_shape* out, int64_t* strides) {
  int64_t step = 1;
  for (int32_t d = out->ndim - 1; d >= 0; d--) {
    const int64_t dim = dim_at(s, d, out->ndim);
    strides[d] = dim == 1 ? 0 : step;
    step *= dim;
  }
}

COLD static void binary_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_shape *sa, *sb;
  operand_shapes(n, ctx->tensors, &sa, &sb);
  const xnn_tensor_rt* out = &ctx->tensors[n->outputs[0]];
  const float* in = ctx->tensors[n->inputs[0]].data;
  const float* other = n->num_inputs > 1 ? ctx->tensors[n->inputs[1]].data : n->weights[0];
  const int swap = n->num_inputs == 1 && n->p.binary.const_first;
  binary_job j = {n->p.binary.op, 0, {0}, {0}, {0}, swap ? other : in, swap ? in : other, out->data, 1};
  int64_t a[XNN_MAX_DIMS], b[XNN_MAX_DIMS];
  broadcast_strides(sa, &out->shape, a);
  broadcast_strides(sb, &out->shape, b);
  /* Merge dimension d into the previous one when both operands step through the pair contiguously. */
  for (int32_t d = 0; d < out->shape.ndim; d++) {
    const int64_t dim = out->shape.dims[d];
    if (dim == 1) continue;
    const int32_t p = j.ndim - 1;
    if (p >= 0 && j.sa[p] == a[d] * dim && j.sb[p] == b[d] * dim) {
      j.dims[p] *= dim;
      j.sa[p] = a[d];
      j.sb[p] = b[d];
    } else {
      j.dims[j.ndim] = dim;
      j.sa[j.ndim] = a[d];
      j.sb[j.ndim] = b[d];
      j.ndim++;
    }
  }
  if (j.ndim == 0) { /* a single element */
    j.dims[0] = 1;
    j.ndim = 1;
  }
  for (int32_t d = 0; d + 1 < j.ndim; d++) j.rows *= (size_t)j.dims[d];
  xnn_parallelize(ctx->pool, binary_rows, &j, (j.rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK);
}

const xnn_op_def xnn_op_binary = {.reshape = binary_reshape, .run = binary_run};
