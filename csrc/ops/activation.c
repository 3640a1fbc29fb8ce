/* ReLU (with negative_slope), Sigmoid and TanH: one elementwise kernel each, over chunks. */
#include "ops/ops.h"

enum { CHUNK = 16384 };


typedef struct act_job {
  xnn_f32_vunary_fn fn;
  const xnn_f32_act_params* params;
  const float* x;
  float* y;
  size_t n;
} act_job;

static void act_chunk(void* ctx, size_t i) {
  const act_job* j = ctx;
  const size_t start = i * CHUNK, n = XNN_MIN((size_t)CHUNK, j->n - start);
  j->fn(n, j->x + start, j->y + start, j->params);
}

static void act_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_kernels* k = ctx->kernels;
  act_job j = {n->op == XNN_OP_RELU ? k->vact : n->op == XNN_OP_SIGMOID ? k->vsigmoid : k->vtanh, &n->p.act,
               in->data, ctx->tensors[n->outputs[0]].data, (size_t)xnn_shape_numel(&in->shape)};
  xnn_parallelize(ctx->pool, act_chunk, &j, (j.n + CHUNK - 1) / CHUNK);
}

const xnn_op_def xnn_op_activation = {.reshape = xnn_same_shape_reshape, .run = act_run};
