/* Planner and runner: shapes for the session's input shapes, a static memory plan (one arena, tensors
 * placed by liveness; aliasing ops share their input's storage), the kernel table, and the run loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/model.h"
#include "ops/ops.h"

struct xnn_session {
  const xnn_model* model;
  xnn_threadpool* pool;
  const xnn_kernels* kernels;
  xnn_shape* input_shapes; /* requested shapes, one per graph input */
  xnn_tensor_rt* tensors;
  xnn_op_plan* plans;
  double* times_ms;
  /* paired[i]: node i runs with node i + 1 as one (xnn_op_def.run_pair), which is then skipped. */
  unsigned char* paired;
  int profiling;
  float* arena;
  size_t arena_bytes;    /* activations */
  size_t workspace_bytes;
};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

typedef struct slot {
  int32_t root;
  int32_t first, last; /* node indices; -1 = before the first node */
  size_t size, offset;
} slot;

static int by_size_desc(const void* a, const void* b) {
  const slot* x = a;
  const slot* y = b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  return x->root - y->root;
}

/* Places every storage root at the lowest offset that overlaps no root alive at the same time. */
static size_t place_slots(slot* slots, int32_t count) {
  qsort(slots, (size_t)count, sizeof(slot), by_size_desc);
  size_t total = 0;
  for (int32_t i = 0; i < count; i++) {
    size_t offset = 0;
    for (int moved = 1; moved;) {
      moved = 0;
      for (int32_t j = 0; j < i; j++) {
        const slot* o = &slots[j];
        if (o->last < slots[i].first || slots[i].last < o->first) continue;
        if (offset < o->offset + o->size && o->offset < offset + slots[i].size) {
          offset = o->offset + o->size;
          moved = 1;
        }
      }
    }
    slots[i].offset = offset;
    total = XNN_MAX(total, offset + slots[i].size);
  }
  return total;
}

/* Pairs: node i and the next, the only reader of its one output (not a net output), where the op can run
 * them as one. That output is then never stored. Decided as soon as both are reshaped, so that the node
 * after them knows how the pair split its output. */
static void pair(xnn_session* s, int32_t i) {
  const xnn_graph* g = &s->model->graph;
  const xnn_node* n = &g->nodes[i];
  const xnn_node* next = &g->nodes[i + 1];
  const xnn_op_def* def = xnn_op_get(n->op);
  if ((i > 0 && s->paired[i - 1]) || !def->pair_workspace || !def->run_pair || n->num_outputs != 1 ||
      next->num_inputs < 1 || next->inputs[0] != n->outputs[0] || s->plans[i].alias || s->plans[i + 1].alias)
    return;
  int readers = 0;
  for (int32_t k = 0; k < g->num_nodes; k++)
    for (int32_t j = 0; j < g->nodes[k].num_inputs; j++) readers += g->nodes[k].inputs[j] == n->outputs[0];
  for (int32_t k = 0; k < g->num_outputs; k++) readers += 2 * (g->outputs[k] == n->outputs[0]);
  if (readers != 1) return;
  const size_t bytes = def->pair_workspace(n, next, s->tensors, &s->plans[i]);
  if (!bytes) return;
  s->paired[i] = 1;
  s->workspace_bytes = XNN_MAX(s->workspace_bytes, align64(bytes));
}

static xnn_status plan(xnn_session* s) {
  const xnn_graph* g = &s->model->graph;
  xnn_status st = XNN_OK;
  char buf[160];
  for (int32_t i = 0; i < g->num_inputs; i++) {
    s->tensors[g->inputs[i]].shape = s->input_shapes[i];
    if (xnn_shape_numel_checked(&s->input_shapes[i]) < 0)
      return xnn_error(XNN_ERROR_SHAPE, "input '%s': shape %s is too large (at most %lld elements, dims up to %lld)",
                       g->tensors[g->inputs[i]].name, xnn_shape_str(&s->input_shapes[i], buf, sizeof(buf)),
                       (long long)XNN_MAX_ELEMENTS, (long long)XNN_MAX_DIM);
  }
  s->workspace_bytes = 0;
  memset(s->paired, 0, (size_t)g->num_nodes);
  for (int32_t i = 0; i < g->num_nodes; i++) {
    const xnn_node* n = &g->nodes[i];
    const int32_t producer = n->num_inputs > 0 ? g->tensors[n->inputs[0]].producer : XNN_TENSOR_INPUT;
    s->plans[i].num_threads = (size_t)xnn_threadpool_size(s->pool);
    s->plans[i].kernels = s->kernels;
    s->plans[i].alias = 0;
    s->plans[i].output_by_channels = 0;
    s->plans[i].input_shared = 0;
    /* The second node of a pair splits its rows, whatever it does alone. */
    s->plans[i].input_by_channels =
        producer >= 0 && s->plans[producer].output_by_channels && !(producer > 0 && s->paired[producer - 1]);
    st = xnn_op_get(n->op)->reshape(n, s->tensors, &s->plans[i]);
    if (st != XNN_OK) {
      xnn_error_prefix("layer '%s' (%s): ", n->name, n->type);
      return st;
    }
    for (int32_t o = 0; o < n->num_outputs; o++) {
      const xnn_shape* sh = &s->tensors[n->outputs[o]].shape;
      if (xnn_shape_numel_checked(sh) < 0)
        return xnn_error(XNN_ERROR_SHAPE, "layer '%s' (%s): the output shape %s is empty or too large", n->name,
                         n->type, xnn_shape_str(sh, buf, sizeof(buf)));
    }
    s->workspace_bytes = XNN_MAX(s->workspace_bytes, align64(s->plans[i].workspace_bytes));
    if (i > 0) pair(s, i - 1);
  }

  /* Storage: every tensor lives in its parent's storage at a float offset (itself at 0 for a root).
   * Aliasing ops (Dropout, Split, Reshape, Flatten) give their outputs their input's storage; a Concat
   * whose inputs can be written in place gives each input a slice of its output, so the producers write
   * there and the Concat copies nothing. */
  const int32_t nt = g->num_tensors;
  /* All per-tensor scratch of the planner in one zeroed block, 8-byte fields first. */
  const size_t n = (size_t)nt;
  char* scratch = xnn_alloc(n * (2 * sizeof(int64_t) + sizeof(size_t) + sizeof(slot) + 3 * sizeof(int32_t)));
  if (!scratch) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory planning the session");
  int64_t* offset = (int64_t*)scratch;
  int64_t* root_offset = offset + n;
  size_t* offset_of_root = (size_t*)(root_offset + n);
  slot* slots = (slot*)(offset_of_root + n);
  int32_t* parent = (int32_t*)(slots + n);
  int32_t* root = parent + n;
  int32_t* slot_of = root + n;
  for (int32_t t = 0; t < nt; t++) parent[t] = t, offset[t] = 0, slot_of[t] = -1;
  for (int32_t i = 0; i < g->num_nodes; i++) {
    const xnn_node* n = &g->nodes[i];
    if (xnn_op_get(n->op)->run == NULL || s->plans[i].alias)
      for (int32_t o = 0; o < n->num_outputs; o++) parent[n->outputs[o]] = n->inputs[0];
  }
  for (int32_t i = 0; i < g->num_nodes; i++) {
    const xnn_node* n = &g->nodes[i];
    if (n->op != XNN_OP_CONCAT) continue;
    const xnn_shape* os = &s->tensors[n->outputs[0]].shape;
    const int32_t axis = xnn_axis(n->p.axis.axis, os->ndim);
    if (axis < 0 || xnn_dims_product(os, 0, axis) != 1) continue; /* slices must be contiguous */
    int ok = 1;
    for (int32_t j = 0; j < n->num_inputs && ok; j++) {
      const int32_t t = n->inputs[j];
      /* Only a tensor that owns its storage, written by an op (not the caller), once in this Concat. */
      ok = parent[t] == t && g->tensors[t].producer >= 0;
      for (int32_t u = 0; u < nt && ok; u++) ok = u == t || parent[u] != t;
      for (int32_t k = 0; k < j && ok; k++) ok = n->inputs[k] != t;
    }
    if (!ok) continue;
    int64_t at = 0;
    for (int32_t j = 0; j < n->num_inputs; j++) {
      parent[n->inputs[j]] = n->outputs[0];
      offset[n->inputs[j]] = at;
      at += xnn_shape_numel(&s->tensors[n->inputs[j]].shape);
    }
  }
  for (int32_t t = 0; t < nt; t++) {
    int32_t r = t;
    int64_t off = 0;
    while (parent[r] != r) {
      off += offset[r];
      r = parent[r];
    }
    root[t] = r;
    root_offset[t] = off;
  }
  int32_t count = 0;
  for (int32_t t = 0; t < nt; t++) {
    if (root[t] != t || g->tensors[t].producer == XNN_TENSOR_DEAD) continue;
    slot* sl = &slots[count];
    sl->root = t;
    sl->first = g->tensors[t].producer;
    sl->last = sl->first;
    const int32_t p = g->tensors[t].producer;
    sl->size = p >= 0 && s->paired[p] ? 0 : align64((size_t)xnn_shape_numel(&s->tensors[t].shape) * sizeof(float));
    slot_of[t] = count++;
  }
  for (int32_t t = 0; t < nt; t++) {
    /* A storage shared by several producers (Concat slices) is live from the first of them. */
    if (g->tensors[t].producer < 0) continue;
    slot* sl = &slots[slot_of[root[t]]];
    sl->first = XNN_MIN(sl->first, g->tensors[t].producer);
  }
  for (int32_t i = 0; i < g->num_nodes; i++) {
    const xnn_node* n = &g->nodes[i];
    for (int32_t j = 0; j < n->num_inputs; j++) {
      slot* sl = &slots[slot_of[root[n->inputs[j]]]];
      sl->last = XNN_MAX(sl->last, i + s->paired[i]); /* a pair reads its first node's inputs to its end */
    }
  }
  /* An input that every thread of a node read stays out of the next node's reach: written over there, its
   * lines still in both cores' caches, each store waits for the other core's copy to go. Zen 4, two
   * threads: 200 KB of such lines took 22 us to write against 1.7 for lines only the writing core held and
   * 3.4 for lines only the other held; MobileNet v1's 14x14 depthwise layers, writing over the input of the
   * pointwise layer before them (split by rows), 0.032 -> 0.021 ms. */
  for (int32_t i = 0; i + 1 < g->num_nodes; i++) {
    const xnn_node* n = &g->nodes[i];
    if (s->plans[i].input_shared && n->num_inputs > 0) {
      slot* sl = &slots[slot_of[root[n->inputs[0]]]];
      sl->last = XNN_MAX(sl->last, i + 1 + s->paired[i]);
    }
  }
  for (int32_t i = 0; i < g->num_outputs; i++) slots[slot_of[root[g->outputs[i]]]].last = g->num_nodes;
  for (int32_t i = 0; i < g->num_inputs; i++) slots[slot_of[root[g->inputs[i]]]].first = -1;
  /* In place: an elementwise op (or a convolution's fused residual sum) whose input storage is read by
   * nobody after it writes its output there (not the caller's input, not a net output: those stay
   * live). The output then needs no storage of its own: one stream less to memory. */
  for (int32_t i = 0; i < g->num_nodes; i++) {
    const xnn_node* n = &g->nodes[i];
    const int k = xnn_op_in_place_input(n);
    if (k < 0 || k >= n->num_inputs || n->num_outputs != 1) continue;
    const int32_t t = n->inputs[k], u = n->outputs[0];
    slot* in = &slots[slot_of[root[t]]];
    if (root[u] != u || in->first < 0 || in->last != i) continue;
    int shared = 0;
    for (int32_t j = 0; j < n->num_inputs; j++) shared |= j != k && root[n->inputs[j]] == root[t];
    if (shared) continue;
    slot* out = &slots[slot_of[u]];
    in->last = out->last;
    out->size = 0;
    const int32_t r = root[t];
    const int64_t off = root_offset[t];
    for (int32_t x = 0; x < nt; x++)
      if (root[x] == u) root[x] = r, root_offset[x] += off;
  }
  s->arena_bytes = place_slots(slots, count);

  xnn_free_aligned(s->arena);
  s->arena = xnn_alloc_aligned(s->arena_bytes + s->workspace_bytes);
  if (!s->arena) st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory: the arena needs %zu bytes",
                                s->arena_bytes + s->workspace_bytes);
  if (st == XNN_OK) {
    for (int32_t i = 0; i < count; i++) offset_of_root[slots[i].root] = slots[i].offset;
    for (int32_t t = 0; t < nt; t++)
      s->tensors[t].data = g->tensors[t].producer == XNN_TENSOR_DEAD
                               ? NULL
                               : (float*)((char*)s->arena + offset_of_root[root[t]]) + root_offset[t];
  }
  free(scratch);
  return st;
}

xnn_status xnn_session_create(const xnn_model* model, int32_t num_threads, xnn_session** out) {
  if (!model || !out) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "xnn_session_create: NULL argument");
  *out = NULL;
  const xnn_graph* g = &model->graph;
  xnn_session* s = xnn_alloc(sizeof(*s));
  if (!s) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  s->model = model;
  s->kernels = model->kernels;
  s->input_shapes = xnn_alloc((size_t)g->num_inputs * sizeof(xnn_shape));
  s->tensors = xnn_alloc((size_t)g->num_tensors * sizeof(xnn_tensor_rt));
  s->plans = xnn_alloc((size_t)g->num_nodes * sizeof(xnn_op_plan));
  s->times_ms = xnn_alloc((size_t)g->num_nodes * sizeof(double));
  s->paired = xnn_alloc((size_t)g->num_nodes + 1);
  if (!s->input_shapes || !s->tensors || !s->plans || !s->times_ms || !s->paired) {
    xnn_session_free(s);
    return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  memcpy(s->input_shapes, g->input_shapes, (size_t)g->num_inputs * sizeof(xnn_shape));
  xnn_status st = xnn_session_set_num_threads(s, num_threads);
  if (st == XNN_OK) st = plan(s);
  if (st != XNN_OK) {
    xnn_session_free(s);
    return st;
  }
  *out = s;
  return XNN_OK;
}

void xnn_session_free(xnn_session* s) {
  if (!s) return;
  xnn_threadpool_destroy(s->pool);
  xnn_free_aligned(s->arena);
  free(s->input_shapes);
  free(s->tensors);
  free(s->plans);
  free(s->times_ms);
  free(s->paired);
  free(s);
}

xnn_status xnn_session_set_num_threads(xnn_session* s, int32_t num_threads) {
  if (!s) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "xnn_session_set_num_threads: NULL session");
  if (num_threads <= 0) num_threads = xnn_num_cores();
  if (num_threads > 256) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "num_threads %d is more than 256", num_threads);
  if (s->pool && xnn_threadpool_size(s->pool) == num_threads) return XNN_OK;
  xnn_threadpool* p = xnn_threadpool_create(num_threads);
  if (!p) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory creating %d threads", num_threads);
  xnn_threadpool* old = s->pool;
  s->pool = p;
  /* Per-thread scratch depends on the thread count: plan again (not needed before the first plan). */
  if (s->arena) {
    xnn_status st = plan(s);
    if (st != XNN_OK) {
      s->pool = old;
      xnn_threadpool_destroy(p);
      if (plan(s) != XNN_OK) {
        xnn_free_aligned(s->arena);
        s->arena = NULL;
      }
      return st;
    }
  }
  xnn_threadpool_destroy(old);
  return XNN_OK;
}

int32_t xnn_session_num_threads(const xnn_session* s) { return s ? xnn_threadpool_size(s->pool) : 0; }

static xnn_status check_input_index(const xnn_session* s, int32_t index) {
  if (!s) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "NULL session");
  if (index < 0 || index >= s->model->graph.num_inputs)
    return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "input index %d out of range (the model has %d)", index,
                     s->model->graph.num_inputs);
  return XNN_OK;
}

static xnn_status check_shape(const xnn_session* s, int32_t index, const xnn_shape* shape) {
  if (!shape || shape->ndim < 1 || shape->ndim > XNN_MAX_DIMS)
    return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "input shape must have 1 to %d dims", XNN_MAX_DIMS);
  char buf[160];
  if (xnn_shape_numel_checked(shape) < 0)
    return xnn_error(XNN_ERROR_SHAPE, "input '%s': shape %s is empty or too large (at most %lld elements)",
                     s->model->graph.tensors[s->model->graph.inputs[index]].name,
                     xnn_shape_str(shape, buf, sizeof(buf)), (long long)XNN_MAX_ELEMENTS);
  return XNN_OK;
}

/* Plans with new input shapes; on failure the session keeps its previous shapes and plan. */
static xnn_status replan(xnn_session* s, const xnn_shape* shapes) {
  const int32_t n = s->model->graph.num_inputs;
  xnn_shape* old = malloc((size_t)n * sizeof(xnn_shape));
  if (!old) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  memcpy(old, s->input_shapes, (size_t)n * sizeof(xnn_shape));
  memcpy(s->input_shapes, shapes, (size_t)n * sizeof(xnn_shape));
  xnn_status st = plan(s);
  if (st != XNN_OK) {
    char saved[1024];
    snprintf(saved, sizeof(saved), "%s", xnn_last_error());
    memcpy(s->input_shapes, old, (size_t)n * sizeof(xnn_shape));
    if (plan(s) != XNN_OK) {
      xnn_free_aligned(s->arena);
      s->arena = NULL;
    }
    st = xnn_error(st, "%s", saved);
  }
  free(old);
  return st;
}

xnn_status xnn_session_reshape_input(xnn_session* s, int32_t index, const xnn_shape* shape) {
  XNN_CHECK(check_input_index(s, index));
  XNN_CHECK(check_shape(s, index, shape));
  const int32_t n = s->model->graph.num_inputs;
  xnn_shape* shapes = malloc((size_t)n * sizeof(xnn_shape));
  if (!shapes) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  memcpy(shapes, s->input_shapes, (size_t)n * sizeof(xnn_shape));
  shapes[index] = *shape;
  xnn_status st = replan(s, shapes);
  free(shapes);
  return st;
}

xnn_status xnn_session_reshape(xnn_session* s, const xnn_shape* shapes) {
  if (!s || !shapes) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "xnn_session_reshape: NULL argument");
  for (int32_t i = 0; i < s->model->graph.num_inputs; i++) XNN_CHECK(check_shape(s, i, &shapes[i]));
  return replan(s, shapes);
}

xnn_status xnn_session_input_shape(const xnn_session* s, int32_t index, xnn_shape* shape) {
  XNN_CHECK(check_input_index(s, index));
  *shape = s->input_shapes[index];
  return XNN_OK;
}

/* An image-shaped (4-D) input of 64 KB or more is copied by the threads, each a band of rows of every plane:
 * a first convolution splits its output rows between the threads, so each then reads the band its own core
 * wrote, and each writes over lines its core read in the previous run. One thread's copy had to take every
 * line the other core had read from it: MobileNet v2's 224x224 image at two threads on Zen 4, 0.071 ms
 * (0.130 in phases where a line takes 330 ns between the vCPUs) against 0.065 at one thread; the threads'
 * copy 0.043 (0.075). */
typedef struct input_copy {
  float* dst;
  const float* src;
  size_t planes, rows, width, bands;
} input_copy;

static void copy_band(void* ctx, size_t i) {
  const input_copy* c = ctx;
  const size_t band = i / c->planes, plane = i % c->planes;
  const size_t r0 = band * c->rows / c->bands, r1 = (band + 1) * c->rows / c->bands;
  const size_t at = (plane * c->rows + r0) * c->width;
  memcpy(c->dst + at, c->src + at, (r1 - r0) * c->width * sizeof(float));
}

xnn_status xnn_session_set_input(xnn_session* s, int32_t index, const float* data, size_t count) {
  XNN_CHECK(check_input_index(s, index));
  const xnn_tensor_rt* t = &s->tensors[s->model->graph.inputs[index]];
  const size_t want = (size_t)xnn_shape_numel(&t->shape);
  if (!data || count != want) {
    char buf[128];
    return xnn_error(XNN_ERROR_SHAPE, "input '%s' has shape %s (%zu values), got %zu values",
                     s->model->graph.tensors[s->model->graph.inputs[index]].name,
                     xnn_shape_str(&t->shape, buf, sizeof(buf)), want, data ? count : 0);
  }
  if (!s->arena) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "the session has no memory plan");
  const size_t threads = (size_t)xnn_threadpool_size(s->pool);
  if (threads > 1 && t->shape.ndim == 4 && t->shape.dims[2] > 1 && count >= ((size_t)64 << 10) / sizeof(float)) {
    const xnn_shape* d = &t->shape;
    input_copy c = {t->data, data, (size_t)(d->dims[0] * d->dims[1]), (size_t)d->dims[2], (size_t)d->dims[3],
                    XNN_MIN(threads, (size_t)d->dims[2])};
    xnn_parallelize(s->pool, copy_band, &c, c.bands * c.planes);
  } else {
    memcpy(t->data, data, count * sizeof(float));
  }
  return XNN_OK;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

xnn_status xnn_session_run(xnn_session* s) {
  if (!s) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "xnn_session_run: NULL session");
  if (!s->arena) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "the session has no memory plan");
  const xnn_graph* g = &s->model->graph;
  xnn_run_ctx ctx = {s->tensors, (float*)((char*)s->arena + s->arena_bytes), s->pool, s->kernels, NULL};
  for (int32_t i = 0; i < g->num_nodes; i++) {
    const xnn_node* n = &g->nodes[i];
    ctx.plan = &s->plans[i];
    void (*run)(const xnn_node*, const xnn_run_ctx*) = xnn_op_get(n->op)->run;
    if (!run || s->plans[i].alias) continue;
    if (s->paired[i]) {
      /* The pair's time is the first node's; the second shows none. */
      const double t0 = s->profiling ? now_ms() : 0.0;
      xnn_op_get(n->op)->run_pair(n, &g->nodes[i + 1], &ctx);
      if (s->profiling) s->times_ms[i] = now_ms() - t0, s->times_ms[i + 1] = 0.0;
      i++;
      continue;
    }
    if (s->profiling) {
      const double t0 = now_ms();
      run(n, &ctx);
      s->times_ms[i] = now_ms() - t0;
    } else {
      run(n, &ctx);
    }
  }
  xnn_threadpool_rest(s->pool);
  return XNN_OK;
}

xnn_status xnn_session_output(const xnn_session* s, int32_t index, const float** data, xnn_shape* shape) {
  if (!s) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "NULL session");
  const xnn_graph* g = &s->model->graph;
  if (index < 0 || index >= g->num_outputs)
    return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "output index %d out of range (the model has %d)", index,
                     g->num_outputs);
  const xnn_tensor_rt* t = &s->tensors[g->outputs[index]];
  if (data) *data = t->data;
  if (shape) *shape = t->shape;
  return XNN_OK;
}

xnn_status xnn_session_layer_stats(const xnn_session* s, int32_t index, xnn_layer_stats* stats) {
  if (!s || !stats) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "NULL argument");
  const xnn_graph* g = &s->model->graph;
  if (index < 0 || index >= g->num_nodes)
    return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "layer index %d out of range (the model has %d)", index, g->num_nodes);
  const xnn_node* n = &g->nodes[index];
  stats->name = n->name;
  stats->type = n->type;
  stats->output_shape = s->tensors[n->outputs[0]].shape;
  stats->macs = s->plans[index].macs;
  stats->last_time_ms = s->times_ms[index];
  stats->with_previous = index > 0 && s->paired[index - 1];
  return XNN_OK;
}

xnn_status xnn_session_set_profiling(xnn_session* s, int32_t enabled) {
  if (!s) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "NULL session");
  s->profiling = enabled != 0;
  return XNN_OK;
}

size_t xnn_session_arena_bytes(const xnn_session* s) { return s ? s->arena_bytes : 0; }

xnn_status xnn_model_choose_and_pack(xnn_model* m) {
  xnn_session* s = NULL;
  XNN_CHECK(xnn_session_create(m, 1, &s));
  for (int32_t i = 0; i < m->graph.num_nodes; i++) {
    xnn_node* n = &m->graph.nodes[i];
    const xnn_op_def* def = xnn_op_get(n->op);
    if (def->choose) def->choose(n, s->tensors, m->kernels);
  }
  xnn_session_free(s);
  for (int32_t i = 0; i < m->graph.num_nodes; i++) {
    xnn_node* n = &m->graph.nodes[i];
    const xnn_op_def* def = xnn_op_get(n->op);
    if (def->pack) XNN_CHECK(def->pack(n, m->kernels));
  }
  /* Only where huge pages exist: gathering holds two copies of the weights for a moment. */
  if (xnn_huge_pages()) xnn_graph_gather_weights(&m->graph);
  return XNN_OK;
}
