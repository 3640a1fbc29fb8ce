/* Eltwise over two or more inputs of one shape: PROD, SUM (with per-input coefficients) or MAX. */
#include <math.h>

#include "ops/ops.h"

enum { CHUNK = 16384 };

static xnn_status eltwise_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* a = &t[n->inputs[0]].shape;
  char b1[128], b2[128];
  for (int32_t i = 1; i < n->num_inputs; i++) {
    const xnn_shape* b = &t[n->inputs[i]].shape;
    int same = a->ndim == b->ndim;
    for (int32_t d = 0; same && d < a->ndim; d++) same = a->dims[d] == b->dims[d];
    if (!same)
      return xnn_shape_error("input %d has shape %s, input 0 has %s", i, xnn_shape_str(b, b1, sizeof(b1)),
                             xnn_shape_str(a, b2, sizeof(b2)));
  }
  return xnn_same_shape_reshape(n, t, plan);
}

typedef struct eltwise_job {
  const xnn_node* n;
  const xnn_kernels* k;
  const xnn_tensor_rt* t;
  float* y;
  size_t count;
} eltwise_job;

static void eltwise_chunk(void* ctx, size_t c) {
  const eltwise_job* j = ctx;
  const xnn_node* n = j->n;
  const float* coeffs = n->p.eltwise.coeffs;
  const size_t start = c * CHUNK, len = XNN_MIN((size_t)CHUNK, j->count - start);
  float* y = j->y + start;
  const float* x0 = j->t[n->inputs[0]].data + start;
  const float c0 = coeffs ? coeffs[0] : 1.0f;
  const xnn_f32_act_params* act = &n->p.eltwise.act;
  switch (n->p.eltwise.op) {
    case XNN_ELTWISE_SUM:
      for (size_t p = 0; p < len; p++) y[p] = c0 * x0[p];
      for (int32_t i = 1; i < n->num_inputs; i++) {
        const float* x = j->t[n->inputs[i]].data + start;
        const float ci = coeffs ? coeffs[i] : 1.0f;
        for (size_t p = 0; p < len; p++) y[p] += ci * x[p];
      }
      break;
    case XNN_ELTWISE_PROD:
      for (size_t p = 0; p < len; p++) y[p] = x0[p];
      for (int32_t i = 1; i < n->num_inputs; i++) {
        const float* x = j->t[n->inputs[i]].data + start;
        for (size_t p = 0; p < len; p++) y[p] *= x[p];
      }
      break;
    default:
      for (size_t p = 0; p < len; p++) y[p] = x0[p];
      for (int32_t i = 1; i < n->num_inputs; i++) {
        const float* x = j->t[n->inputs[i]].data + start;
        for (size_t p = 0; p < len; p++) y[p] = x[p] > y[p] ? x[p] : y[p];
      }
  }
  if (!xnn_f32_act_is_identity(act)) j->k->vact(len, y, y, act);
}

static void eltwise_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  eltwise_job j = {n, ctx->kernels, ctx->tensors, ctx->tensors[n->outputs[0]].data,
                   (size_t)xnn_shape_numel(&ctx->tensors[n->outputs[0]].shape)};
  xnn_parallelize(ctx->pool, eltwise_chunk, &j, (j.count + CHUNK - 1) / CHUNK);
}

const xnn_op_def xnn_op_eltwise = {.reshape = eltwise_reshape, .run = eltwise_run};
