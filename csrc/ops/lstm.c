/* LSTM (time-major, docs/FORMAT.md): the input projection of all T steps is one packed GEMM over the
 * thread pool (the static input's projection once more, per item); then, step by step, the recurrent
 * product of all items' previous h (the same GEMM on R) and, per item, the fused cell kernel. Directions
 * run one after the other. W, R and W_static are packed once at load into the GEMM's row panels (B with
 * W); products come out transposed, [4H][columns], and each item's gates are gathered for the cell.
 * Pruned W or R may run sparse instead (chosen at load, ops/sparse.h): the SpMM family gives the same
 * transposed products. */
#include <string.h>

#include "ops/ops.h"
#include "ops/sparse.h"

/* The GEMM's blocking: K in chunks of KC, columns in blocks of NC (a packed block of at most KC x NC
 * floats, 128 KB, stays in L2 while every row panel runs over it). */
enum { KC = 256, NC = 128, MAX_TILES = NC / 4 + 32 };

static size_t div_up(size_t x, size_t q) { return (x + q - 1) / q; }

/* A block's packed width is at most its full panels and one more (narrow tails are narrower). */
static size_t gemm_scratch_floats(const xnn_f32_gemm_config* g) { return KC * (NC + g->nr); }

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
  const int64_t tn[2] = {steps, batch}, state[3] = {d, batch, h};
  if (in.cont >= 0) XNN_CHECK(xnn_shape_expect(XNN_ERROR_SHAPE, "cont", &t[n->inputs[in.cont]].shape, 2, tn));
  if (in.lens >= 0) XNN_CHECK(xnn_shape_expect(XNN_ERROR_SHAPE, "sequence_lens", &t[n->inputs[in.lens]].shape, 1,
      &batch));
  if (in.h0 >= 0) {
    XNN_CHECK(xnn_shape_expect(XNN_ERROR_SHAPE, "initial_h", &t[n->inputs[in.h0]].shape, 3, state));
    XNN_CHECK(xnn_shape_expect(XNN_ERROR_SHAPE, "initial_c", &t[n->inputs[in.c0]].shape, 3, state));
  }
  if (in.stat >= 0) {
    const xnn_shape* s = &t[n->inputs[in.stat]].shape;
    if (s->dims[0] != batch || xnn_dims_product(s, 1, s->ndim) != p->static_size)
      return xnn_shape_error("static input %s must be [N = %lld, %lld]", xnn_shape_str(s, buf, sizeof(buf)),
                             (long long)batch, (long long)p->static_size);
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
  /* A sparse product's input, transposed: [I][T*N] or [H][N], which its kernels index with 31 bits. */
  const int64_t xt = XNN_MAX(p->sparse & 1 ? xnn_mul_sat(items, p->input_size) : 0, p->sparse & 2 ? batch * h : 0);
  if (xt >= INT32_MAX)
    return xnn_shape_error("input %s is too long for the sparse weights (%lld values transposed, 2^31 at most)",
                           xnn_shape_str(x, buf, sizeof(buf)), (long long)xt);
  /* The GEMM's packed columns per thread; per direction, the input projection [4H][T*N], the static one
   * [4H][N], one step's recurrent products [4H][N], one item's gates [4H], the previous h scaled by cont
   * [N][H], the states h and c [N][H], and that transposed input. */
  const int64_t floats = (items + (in.stat >= 0 ? batch : 0) + batch + 1) * 4 * h + 3 * batch * h + xt;
  plan->workspace_bytes = ((size_t)floats + plan->num_threads * gemm_scratch_floats(&plan->kernels->gemm)) * sizeof(float);
  return XNN_OK;
}

/* C[m][cols] (ldc apart) = A X^T (+ bias), A packed at load, X row-major [cols][k]. */
typedef struct gemm_job {
  const xnn_f32_gemm_config* g;
  const float *a, *bias, *x;
  float* c;
  size_t m, k, cols, ldc, col_blocks, mc;
  float* scratch; /* KC x packed NC floats per thread */
} gemm_job;

static void gemm_task(void* ctx, size_t thread, size_t index) {
  const gemm_job* j = ctx;
  const xnn_f32_gemm_config* g = j->g;
  const size_t c0 = index % j->col_blocks * NC, cols = XNN_MIN((size_t)NC, j->cols - c0);
  const size_t r0 = index / j->col_blocks * j->mc, r1 = XNN_MIN(r0 + j->mc, j->m);
  float* b = j->scratch + thread * gemm_scratch_floats(g);
  xnn_f32_gemm_tile tiles[MAX_TILES];
  const size_t nt = xnn_f32_gemm_panels(g, cols, tiles);
  size_t tail_start;
  const xnn_f32_gemm_tail_ukernel_fn tail = xnn_f32_gemm_block_tail(g, tiles, nt, &tail_start);
  const xnn_f32_act_params id = xnn_f32_act_identity();
  for (size_t k0 = 0; k0 < j->k; k0 += KC) {
    const size_t kc = XNN_MIN((size_t)KC, j->k - k0);
    /* X's rows c0.. as the kernels' column panels: the one at block column s holds kc groups of its row
     * stride. */
    for (size_t i = 0, s = 0; i < nt; s += tiles[i++].nr) {
      const size_t ld = xnn_f32_gemm_tile_ld(tiles[i]);
      for (size_t q = 0; q < ld; q++) {
        const float* src = j->x + (c0 + s + q) * j->k + k0;
        for (size_t p = 0; p < kc; p++) b[s * kc + p * ld + q] = s + q < cols ? src[p] : 0.0f;
      }
    }
    const uint32_t flags = (k0 ? XNN_GEMM_ACCUMULATE : 0) | (k0 + kc == j->k ? XNN_GEMM_LAST : 0);
    for (size_t r = r0; r < r1; r += g->mr) {
      for (size_t i = 0, s = 0; i < nt - (tail != NULL); s += tiles[i++].nr)
        tiles[i].ukernel(XNN_MIN(g->mr, j->m - r), XNN_MIN(tiles[i].nr, cols - s), kc, j->a + r * j->k + k0 * g->mr,
                         b + s * kc, xnn_f32_gemm_tile_ld(tiles[i]), j->c + r * j->ldc + c0 + s, j->ldc,
                         j->bias ? j->bias + r : NULL, &id, flags);
      const size_t tr = tail ? xnn_f32_gemm_tail_rows(r, r0, r1, g->mr) : SIZE_MAX;
      if (tr != SIZE_MAX)
        tail(XNN_MIN(2 * g->mr, r1 - tr), cols - tail_start, kc, j->a + tr * j->k + k0 * g->mr, g->mr * j->k,
             b + tail_start * kc, tiles[nt - 1].nr, j->c + tr * j->ldc + c0 + tail_start, j->ldc,
             j->bias ? j->bias + tr : NULL, &id, flags);
    }
  }
}

/* Row blocks as well as column blocks when there are few columns, so that every thread has work. */
static void gemm(const xnn_run_ctx* ctx, size_t m, size_t k, size_t cols, const float* a, const float* bias,
                 const float* x, float* c, size_t ldc) {
  const xnn_f32_gemm_config* g = &ctx->kernels->gemm;
  const size_t col_blocks = div_up(cols, NC), panels = div_up(m, g->mr);
  const size_t want = div_up(4 * (size_t)xnn_threadpool_size(ctx->pool), col_blocks);
  const size_t row_blocks = XNN_MAX((size_t)1, XNN_MIN(want, panels / 4));
  gemm_job j = {g, a, bias, x, c, m, k, cols, ldc, col_blocks, div_up(panels, row_blocks) * g->mr, ctx->workspace};
  xnn_parallelize_thread(ctx->pool, gemm_task, &j, col_blocks * div_up(panels, j.mc / g->mr));
}

/* A sparse product: the SpMM family reads channels x pixels, so X is transposed into xt, [k][cols]. */
typedef struct spmm_job {
  const xnn_node* n;
  xnn_f32_spmm_ukernel_fn kernel;
  xnn_sparse_split split;
  const float* xt;
  float* c;
  size_t slot, m, c0, count, cols;
} spmm_job;

static void spmm_task(void* ctx, size_t index) {
  const spmm_job* j = ctx;
  const xnn_sparse_split* s = &j->split;
  const size_t p0 = index % s->pixel_blocks * s->pixel_block, o = index / s->pixel_blocks * s->channel_block;
  const xnn_sparse_block b = {j->c0 + o, XNN_MIN(s->channel_block, j->count - o), XNN_MIN(s->pixel_block, j->cols - p0),
                              j->xt + p0, j->cols, j->c + o * j->cols + p0, j->cols, NULL};
  const xnn_f32_act_params id = xnn_f32_act_identity();
  xnn_sparse_run(j->n, (int)j->slot, j->m, 1, j->kernel, &b, &id);
}

/* C[4H][cols] = direction d's rows of slot `slot` times X^T (+ the bias, with W), X row-major [cols][k];
 * sparse, both directions' rows are one matrix of 2 x 4H channels. */
static void product(const xnn_node* n, const xnn_run_ctx* ctx, int slot, size_t d, size_t k, const float* x,
                    size_t cols, float* c, float* xt) {
  const size_t g4 = 4 * (size_t)n->p.lstm.hidden_size, mr = ctx->kernels->gemm.mr, rows = div_up(g4, mr) * mr;
  if (!(n->p.lstm.sparse >> slot & 1)) {
    gemm(ctx, g4, k, cols, n->weights[slot] + d * rows * k, slot == 0 ? n->weights[2] + d * rows : NULL, x, c, cols);
    return;
  }
  for (size_t q = 0; q < cols; q++)
    for (size_t r = 0; r < k; r++) xt[r * cols + q] = x[q * k + r];
  size_t tile;
  const xnn_f32_spmm_ukernel_fn kernel = xnn_sparse_kernel(ctx->kernels, k, 1, &tile);
  spmm_job j = {n, kernel, xnn_sparse_split_work(cols, g4, 1, tile, 1, (size_t)xnn_threadpool_size(ctx->pool)),
                xt, c, (size_t)slot, (size_t)num_directions(&n->p.lstm) * g4, d * g4, g4, cols};
  xnn_parallelize(ctx->pool, spmm_task, &j, j.split.pixel_blocks * j.split.channel_blocks);
}

/* Rewrites slot `slot` ([D][4H][k]) as D packed GEMM operands, the biases (slot 2) with W (slot 0). */
static xnn_status pack_slot(xnn_node* n, int slot, size_t k, const xnn_kernels* ks) {
  const size_t mr = ks->gemm.mr, g4 = 4 * (size_t)n->p.lstm.hidden_size, rows = div_up(g4, mr) * mr;
  const size_t d = n->p.lstm.direction == XNN_LSTM_BIDIRECTIONAL ? 2 : 1;
  float* a = xnn_alloc_aligned(d * rows * k * sizeof(float));
  float* bias = xnn_alloc_aligned(d * rows * sizeof(float)); /* kept for slot 0 only */
  if (!a || !bias) {
    xnn_free_aligned(a);
    xnn_free_aligned(bias);
    return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory packing weights");
  }
  for (size_t i = 0; i < d; i++)
    xnn_pack_f32_gemm_a(g4, k, mr, n->weights[slot] + i * g4 * k, k, slot == 0 ? n->weights[2] + i * g4 : NULL,
                        a + i * rows * k, bias + i * rows);
  xnn_free_aligned(n->weights[slot]);
  n->weights[slot] = a;
  n->weight_size[slot] = (int64_t)(d * rows * k);
  if (slot != 0) {
    xnn_free_aligned(bias);
    return XNN_OK;
  }
  xnn_free_aligned(n->weights[2]);
  n->weights[2] = bias;
  n->weight_size[2] = (int64_t)(d * rows);
  return XNN_OK;
}

/* Whether W and R run sparse, one choice per matrix (both directions' rows together), for the model's
 * declared input shape. R's product runs once a step over the batch's few columns, as a fully connected
 * layer runs over its items. W's runs once over the sequence's T x N columns, against a GEMM of as many,
 * as a 1x1 convolution runs over its pixels; a single column (one step of one item) is a matrix-vector
 * product again, a fully connected layer's. */
static void lstm_choose(xnn_node* n, const xnn_tensor_rt* t, const xnn_kernels* ks) {
  xnn_lstm_params* p = &n->p.lstm;
  const xnn_shape* x = &t[n->inputs[0]].shape;
  const size_t m = (size_t)num_directions(p) * 4 * (size_t)p->hidden_size;
  const xnn_sparse_kind w_kind = xnn_dims_product(x, 0, XNN_MIN(x->ndim, 2)) > 1 ? XNN_SPARSE_POINTWISE : XNN_SPARSE_FC;
  /* W and R run one channel at a time (groups 0). */
  p->sparse = (xnn_sparse_choose(n->weights[0], m, (size_t)p->input_size, 0, w_kind, ks) > 0) |
              (xnn_sparse_choose(n->weights[1], m, (size_t)p->hidden_size, 0, XNN_SPARSE_FC_RECURRENT, ks) > 0) << 1;
}

static xnn_status lstm_pack(xnn_node* n, const xnn_kernels* ks) {
  const xnn_lstm_params* p = &n->p.lstm;
  const size_t m = (size_t)num_directions(p) * 4 * (size_t)p->hidden_size, i = (size_t)p->input_size;
  XNN_CHECK(p->sparse & 1 ? xnn_sparse_pack(n, 0, m, i, 1, 2, "input ") : pack_slot(n, 0, i, ks));
  XNN_CHECK(p->sparse & 2 ? xnn_sparse_pack(n, 1, m, (size_t)p->hidden_size, 1, -1, "recurrent ")
                          : pack_slot(n, 1, (size_t)p->hidden_size, ks));
  return p->has_static ? pack_slot(n, 3, (size_t)p->static_size, ks) : XNN_OK;
}

static void lstm_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_lstm_params* p = &n->p.lstm;
  const lstm_inputs in = inputs_of(p);
  const xnn_tensor_rt* x = &ctx->tensors[n->inputs[0]];
  const size_t steps = (size_t)x->shape.dims[0], batch = (size_t)x->shape.dims[1], h = (size_t)p->hidden_size;
  const size_t g4 = 4 * h, cols = steps * batch, isz = (size_t)p->input_size, ssz = (size_t)p->static_size;
  const size_t dirs = (size_t)num_directions(p);
  const float* cont = in.cont >= 0 ? ctx->tensors[n->inputs[in.cont]].data : NULL;
  const float* lens = in.lens >= 0 ? ctx->tensors[n->inputs[in.lens]].data : NULL;
  float* y = ctx->tensors[n->outputs[0]].data;
  float* proj = ctx->workspace + (size_t)xnn_threadpool_size(ctx->pool) * gemm_scratch_floats(&ctx->kernels->gemm);
  float* proj_static = proj + cols * g4;
  float* gates = proj_static + (in.stat >= 0 ? batch * g4 : 0);
  float* g = gates + batch * g4;
  float* hx = g + g4;
  float* hs = hx + batch * h;
  float* cs = hs + batch * h;
  float* xt = cs + batch * h;
  const xnn_f32_lstm_params cp = {p->clip > 0.0f ? -p->clip : -INFINITY, p->clip > 0.0f ? p->clip : INFINITY};
  for (size_t d = 0; d < dirs; d++) {
    const int reverse = p->direction == XNN_LSTM_REVERSE || d == 1;
    product(n, ctx, 0, d, isz, x->data, cols, proj, xt);
    if (in.stat >= 0) product(n, ctx, 3, d, ssz, ctx->tensors[n->inputs[in.stat]].data, batch, proj_static, xt);
    if (in.h0 >= 0) {
      memcpy(hs, ctx->tensors[n->inputs[in.h0]].data + d * batch * h, batch * h * sizeof(float));
      memcpy(cs, ctx->tensors[n->inputs[in.c0]].data + d * batch * h, batch * h * sizeof(float));
    } else {
      memset(hs, 0, 2 * batch * h * sizeof(float));
    }
    for (size_t s = 0; s < steps; s++) {
      const size_t t = reverse ? steps - 1 - s : s;
      /* The recurrent product of every item at once, so each panel of R serves them all; cont scales the
       * previous h on the way in (the previous c below, of the items that run this step). */
      const float* hin = hs;
      if (cont) {
        for (size_t i = 0; i < batch * h; i++) hx[i] = cont[t * batch + i / h] * hs[i];
        hin = hx;
      }
      product(n, ctx, 1, d, h, hin, batch, gates, xt);
      for (size_t i = 0; i < batch; i++) {
        float* out = y + ((t * dirs + d) * batch + i) * h;
        /* Lengths are clamped to [0, T]; a step at or past an item's length leaves its state alone. */
        if (lens && !((float)t < lens[i])) {
          memset(out, 0, h * sizeof(float));
          continue;
        }
        for (size_t r = 0; r < g4; r++)
          g[r] = gates[r * batch + i] + proj[r * cols + t * batch + i] + (in.stat >= 0 ? proj_static[r * batch + i] : 0.0f);
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

const xnn_op_def xnn_op_lstm = {.reshape = lstm_reshape, .run = lstm_run, .choose = lstm_choose, .pack = lstm_pack};
