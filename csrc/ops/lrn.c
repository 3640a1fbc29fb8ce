/* Local response normalization with Caffe's semantics:
 * ACROSS_CHANNELS: y = x * (k + alpha/size * sum of x^2 over `size` channels centred on c)^-beta;
 * WITHIN_CHANNEL:  y = x * (1 + alpha/size^2 * sum of x^2 over a size x size window)^-beta (Caffe builds it
 * from average pooling with zero padding and a power layer with shift 1, so k is not used). */
#include <math.h>
#include <string.h>

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
} lrn_job;

/* base^-beta. AlexNet, CaffeNet and GoogLeNet use beta 0.75: base^-0.75 = 1 / sqrt(base * sqrt(base)),
 * two square roots and a division that vectorize, where powf per element cost 5 ms of GoogLeNet. */
static inline float inv_pow(float base, float beta) {
  if (beta == 0.75f) return 1.0f / sqrtf(base * sqrtf(base));
  if (beta == 0.5f) return 1.0f / sqrtf(base);
  if (beta == 1.0f) return 1.0f / base;
  return powf(base, -beta);
}

enum { LRN_CHUNK = 256 };

static void lrn_across(void* ctx, size_t i) {
  const lrn_job* j = ctx;
  const size_t b = i / j->c, c = i % j->c, hw = j->h * j->w;
  const ptrdiff_t pre = (j->p->size - 1) / 2;
  const ptrdiff_t c0 = XNN_MAX((ptrdiff_t)c - pre, 0), c1 = XNN_MIN((ptrdiff_t)c - pre + j->p->size, (ptrdiff_t)j->c);
  const float* xb = j->x + b * j->c * hw;
  const float* xc = xb + c * hw;
  float* y = j->y + i * hw;
  const float alpha = j->p->alpha / (float)j->p->size, k = j->p->k, beta = j->p->beta;
  float s[LRN_CHUNK];
  for (size_t p0 = 0; p0 < hw; p0 += LRN_CHUNK) {
    const size_t n = XNN_MIN((size_t)LRN_CHUNK, hw - p0);
    for (size_t q = 0; q < n; q++) s[q] = 0.0f;
    for (ptrdiff_t ch = c0; ch < c1; ch++) {
      const float* xq = xb + (size_t)ch * hw + p0;
      for (size_t q = 0; q < n; q++) s[q] += xq[q] * xq[q];
    }
    for (size_t q = 0; q < n; q++) y[p0 + q] = xc[p0 + q] * inv_pow(k + alpha * s[q], beta);
  }
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
      y[oy * w + ox] = x[oy * w + ox] * inv_pow(1.0f + alpha * s, j->p->beta);
    }
  }
}

static void lrn_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_shape* s = &in->shape;
  lrn_job j = {&n->p.lrn, in->data, ctx->tensors[n->outputs[0]].data, (size_t)s->dims[1], (size_t)s->dims[2],
               (size_t)s->dims[3]};
  xnn_parallelize(ctx->pool, n->p.lrn.region == XNN_LRN_ACROSS_CHANNELS ? lrn_across : lrn_within, &j,
                  (size_t)(s->dims[0] * s->dims[1]));
}

const xnn_op_def xnn_op_lrn = {.reshape = lrn_reshape, .run = lrn_run};
