/* Local response normalization with Caffe's semantics:
 * ACROSS_CHANNELS: y = x * (k + alpha/size * sum of x^2 over `size` channels centred on c)^-beta;
 * WITHIN_CHANNEL:  y = x * (1 + alpha/size^2 * sum of x^2 over a size x size window)^-beta (Caffe builds it
 * from average pooling with zero padding and a power layer with shift 1, so k is not used). */

#include "ops/ops.h"

static xnn_status lrn_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  char buf[128];
  if (in->ndim != 4) return xnn_shape_error("input must be 4-D NCHW, got %s", xnn_shape_str(in, buf, sizeof(buf)));
  XNN_CHECK(xnn_same_shape_reshape(n, t, plan));
  plan->macs = xnn_mul_sat(xnn_shape_numel(in), n->p.lrn.size);
  return XNN_OK;
}

typedef struct lrn_job {
  const xnn_lrn_params* p;
  const float* x;
  float* y;
  size_t c, h, w;
  xnn_f32_lrn_fn across;
} lrn_job;

/* One channel plane: the window's channels clipped to the image's. */
static void lrn_across(void* ctx, size_t i) {
  const lrn_job* j = ctx;
  const size_t b = i / j->c, c = i % j->c, hw = j->h * j->w;
  const ptrdiff_t pre = (j->p->size - 1) / 2;
  const ptrdiff_t c0 = XNN_MAX((ptrdiff_t)c - pre, 0), c1 = XNN_MIN((ptrdiff_t)c - pre + j->p->size, (ptrdiff_t)j->c);
  const float* xb = j->x + b * j->c * hw;
  j->across(hw, (size_t)(c1 - c0), xb + (size_t)c0 * hw, hw, xb + c * hw, j->p->k, j->p->alpha / (float)j->p->size,
            j->p->beta, j->y + i * hw);
}

static void lrn_within(void* ctx, size_t i) {
  const lrn_job* j = ctx;
  const ptrdiff_t h = (ptrdiff_t)j->h, w = (ptrdiff_t)j->w, pre = (j->p->size - 1) / 2;
  const float* x = j->x + i * j->h * j->w;
  float* y = j->y + i * j->h * j->w;
  const float alpha = j->p->alpha / (float)(j->p->size * j->p->size);
  for (ptrdiff_t oy = 0; oy < h; oy++) {
    for (ptrdiff_t ox = 0; ox < w; ox++) {
      float s = 0.0f;
      for (ptrdiff_t yy = XNN_MAX(oy - pre, 0); yy < XNN_MIN(oy - pre + j->p->size, h); yy++)
        for (ptrdiff_t xx = XNN_MAX(ox - pre, 0); xx < XNN_MIN(ox - pre + j->p->size, w); xx++)
          s += x[yy * w + xx] * x[yy * w + xx];
      y[oy * w + ox] = x[oy * w + ox] * xnn_f32_inv_pow(1.0f + alpha * s, j->p->beta);
    }
  }
}

static void lrn_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_shape* s = &in->shape;
  lrn_job j = {&n->p.lrn, in->data, ctx->tensors[n->outputs[0]].data, (size_t)s->dims[1], (size_t)s->dims[2],
               (size_t)s->dims[3], ctx->kernels->lrn};
  xnn_parallelize(ctx->pool, n->p.lrn.region == XNN_LRN_ACROSS_CHANNELS ? lrn_across : lrn_within, &j,
                  (size_t)(s->dims[0] * s->dims[1]));
}

const xnn_op_def xnn_op_lrn = {.reshape = lrn_reshape, .run = lrn_run};
