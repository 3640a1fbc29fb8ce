/* LSTM (time-major, docs/FORMAT.md): the input projection of all T steps is one fully connected product
 * over the thread pool (the static input's projection once more, per item); then, step by step, the
 * recurrent product of all items' previous h (the same kernel on R, over the pool) and, per item, the
 * fused cell kernel. Directions run one after the other. */
#include <string.h>

#include "ops/ops.h"

enum { TILE_N = 64 };

/* The optional inputs' positions. */
typedef struct lstm_inputs {
  int32_t cont, stat, lens, h0, c0; /* -1: absent */
} lstm_inputs;

static lstm_inputs inputs_of(const xnn_lstm_params* p) {
  lstm_inputs in = {-1, -1, -1, -1, -1};
  int32_t i = 1;
  if (p->has_cont) in.cont = i++;
  if (p->has_static) in.stat = i++;
  if (p->has_seq_lens) in.lens = i++;
  if (p->has_initial) in.h0 = i++, in.c0 = i++;
  return in;
}

static int64_t num_directions(const xnn_lstm_params* p) { return p->direction == XNN_LSTM_BIDIRECTIONAL ? 2 : 1; }

static int dims_are(const xnn_shape* s, int32_t ndim, const int64_t* dims) {
  if (s->ndim != ndim) return 0;
  for (int32_t i = 0; i < ndim; i++)
    if (s->dims[i] != dims[i]) return 0;
  return 1;
}

static xnn_status lstm_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_lstm_params* p = &n->p.lstm;
  const xnn_shape* x = &t[n->inputs[0]].shape;
  const lstm_inputs in = inputs_of(p);
  char buf[128];
  if (x->ndim < 2) return xnn_shape_error("input %s must be [T, N, ...]", xnn_shape_str(x, buf, sizeof(buf)));
  const int64_t steps = x->dims[0], batch = x->dims[1], h = p->hidden_size, d = num_directions(p);
  if (xnn_dims_product(x, 2, x->ndim) != p->input_size)
    return xnn_shape_error("input %s gives %lld features per step, the weights expect %lld",
                           xnn_shape_str(x, buf, sizeof(buf)), (long long)xnn_dims_product(x, 2, x->ndim),
                           (long long)p->input_size);
  if (in.cont >= 0) {
    const xnn_shape* s = &t[n->inputs[in.cont]].shape;
    if (s->ndim < 2 || s->dims[0] != steps || s->dims[1] != batch || xnn_dims_product(s, 2, s->ndim) != 1)
      return xnn_shape_error("cont %s must be [T, N] = [%lld, %lld]", xnn_shape_str(s, buf, sizeof(buf)),
                             (long long)steps, (long long)batch);
  }
  if (in.stat >= 0) {
    const xnn_shape* s = &t[n->inputs[in.stat]].shape;
    if (s->ndim < 1 || s->dims[0] != batch || xnn_dims_product(s, 1, s->ndim) != p->static_size)
      return xnn_shape_error("static input %s must be [N = %lld, %lld]", xnn_shape_str(s, buf, sizeof(buf)),
                             (long long)batch, (long long)p->static_size);
  }
  if (in.lens >= 0) {
    const xnn_shape* s = &t[n->inputs[in.lens]].shape;
    if (!dims_are(s, 1, &batch))
      return xnn_shape_error("sequence_lens %s must be [N = %lld]", xnn_shape_str(s, buf, sizeof(buf)),
                             (long long)batch);
  }
  const int64_t state[3] = {d, batch, h};
  for (int32_t i = in.h0; i >= 0 && i <= in.c0; i++) {
    const xnn_shape* s = &t[n->inputs[i]].shape;
    if (!dims_are(s, 3, state))
      return xnn_shape_error("initial_%s %s must be [D, N, H] = [%lld, %lld, %lld]", i == in.h0 ? "h" : "c",
                             xnn_shape_str(s, buf, sizeof(buf)), (long long)d, (long long)batch, (long long)h);
  }
  xnn_shape* y = &t[n->outputs[0]].shape;
  y->ndim = 4;
  y->dims[0] = steps, y->dims[1] = d, y->dims[2] = batch, y->dims[3] = h;
  for (int32_t o = 1; o < n->num_outputs; o++) {
    xnn_shape* s = &t[n->outputs[o]].shape;
    s->ndim = 3;
    s->dims[0] = d, s->dims[1] = batch, s->dims[2] = h;
  }
  const int64_t items = xnn_mul_sat(steps, batch);
  plan->macs = xnn_mul_sat(xnn_mul_sat(d * 4 * h, items), p->input_size + h);
  if (in.stat >= 0) plan->macs += xnn_mul_sat(d * 4 * h * batch, p->static_size);
  /* Per direction: the input projection [T*N][4H], the static one [N][4H], one step's gates [N][4H], the
   * previous h scaled by cont [N][H], and the states h and c [N][H]. */
  const int64_t floats = (items + (in.stat >= 0 ? batch : 0) + batch) * 4 * h + 3 * batch * h;
  plan->workspace_bytes = (size_t)floats * sizeof(float);
  return XNN_OK;
}

typedef struct proj_job {
  const xnn_kernels* k;
  size_t batch, n, k_size;
  const float *x, *w, *bias;
  float* y;
} proj_job;

static void proj_tile(void* ctx, size_t tile) {
  const proj_job* j = ctx;
  const size_t o0 = tile * TILE_N, cnt = XNN_MIN((size_t)TILE_N, j->n - o0);
  const xnn_f32_act_params id = xnn_f32_act_identity();
  j->k->fc(j->batch, cnt, j->k_size, j->x, j->w + o0 * j->k_size, j->bias ? j->bias + o0 : NULL, j->y + o0, j->n, &id);
}

/* y[b][0..n) = x[b] W^T + bias over the pool, in tiles of output columns. */
static void project(const xnn_run_ctx* ctx, size_t batch, size_t n, size_t k, const float* x, const float* w,
                    const float* bias, float* y) {
  proj_job j = {ctx->kernels, batch, n, k, x, w, bias, y};
  xnn_parallelize(ctx->pool, proj_tile, &j, (n + TILE_N - 1) / TILE_N);
}

static void lstm_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_lstm_params* p = &n->p.lstm;
  const lstm_inputs in = inputs_of(p);
  const xnn_tensor_rt* x = &ctx->tensors[n->inputs[0]];
  const size_t steps = (size_t)x->shape.dims[0], batch = (size_t)x->shape.dims[1], h = (size_t)p->hidden_size;
  const size_t g4 = 4 * h, isz = (size_t)p->input_size, ssz = (size_t)p->static_size;
  const size_t dirs = (size_t)num_directions(p);
  const float* cont = in.cont >= 0 ? ctx->tensors[n->inputs[in.cont]].data : NULL;
  const float* lens = in.lens >= 0 ? ctx->tensors[n->inputs[in.lens]].data : NULL;
  float* y = ctx->tensors[n->outputs[0]].data;
  float* proj = ctx->workspace;
  float* proj_static = proj + steps * batch * g4;
  float* gates = proj_static + (in.stat >= 0 ? batch * g4 : 0);
  float* hx = gates + batch * g4;
  float* hs = hx + batch * h;
  float* cs = hs + batch * h;
  const xnn_f32_lstm_params cp = {p->clip > 0.0f ? -p->clip : -INFINITY, p->clip > 0.0f ? p->clip : INFINITY};
  for (size_t d = 0; d < dirs; d++) {
    const int reverse = p->direction == XNN_LSTM_REVERSE || d == 1;
    const float* b = n->weights[2] + d * g4;
    if (in.stat >= 0) {
      project(ctx, batch, g4, ssz, ctx->tensors[n->inputs[in.stat]].data, n->weights[3] + d * g4 * ssz, b,
              proj_static);
      b = NULL; /* already in the static projection */
    }
    project(ctx, steps * batch, g4, isz, x->data, n->weights[0] + d * g4 * isz, b, proj);
    if (in.h0 >= 0) {
      memcpy(hs, ctx->tensors[n->inputs[in.h0]].data + d * batch * h, batch * h * sizeof(float));
      memcpy(cs, ctx->tensors[n->inputs[in.c0]].data + d * batch * h, batch * h * sizeof(float));
    } else {
      memset(hs, 0, 2 * batch * h * sizeof(float));
    }
    for (size_t s = 0; s < steps; s++) {
      const size_t t = reverse ? steps - 1 - s : s;
      /* The recurrent product of every item at once, so each tile of R serves them all; cont scales the
       * previous h on the way in (the previous c below, of the items that run this step). */
      const float* hin = hs;
      if (cont) {
        for (size_t i = 0; i < batch; i++)
          for (size_t j = 0; j < h; j++) hx[i * h + j] = cont[t * batch + i] * hs[i * h + j];
        hin = hx;
      }
      project(ctx, batch, g4, h, hin, n->weights[1] + d * g4 * h, NULL, gates);
      for (size_t i = 0; i < batch; i++) {
        float* out = y + ((t * dirs + d) * batch + i) * h;
        /* Lengths are clamped to [0, T]; a step at or past an item's length leaves its state alone. */
        if (lens && !((float)t < lens[i])) {
          memset(out, 0, h * sizeof(float));
          continue;
        }
        float* g = gates + i * g4;
        const float* xg = proj + (t * batch + i) * g4;
        for (size_t j = 0; j < g4; j++) g[j] += xg[j];
        if (in.stat >= 0)
          for (size_t j = 0; j < g4; j++) g[j] += proj_static[i * g4 + j];
        float *hi = hs + i * h, *ci = cs + i * h;
        if (cont)
          for (size_t j = 0; j < h; j++) ci[j] *= cont[t * batch + i];
        ctx->kernels->lstm_cell(h, g, ci, hi, &cp);
        memcpy(out, hi, h * sizeof(float));
      }
    }
    for (int32_t o = 1; o < n->num_outputs; o++)
      memcpy(ctx->tensors[n->outputs[o]].data + d * batch * h, o == 1 ? hs : cs, batch * h * sizeof(float));
  }
}

const xnn_op_def xnn_op_lstm = {.reshape = lstm_reshape, .run = lstm_run};
