/* PriorBox (SSD): the default boxes of a feature map, as Caffe's layer makes them. Inputs: the feature map
 * and the image (only their heights and widths are read). Output [1, 2, H * W * priors * 4]: channel 0
 * holds each box as (xmin, ymin, xmax, ymax) relative to the image, channel 1 the four variances of
 * each box. Per cell, for each min_size: the square box of min_size, then (with max_size) the square of
 * sqrt(min_size * max_size), then one box per aspect ratio other than 1. */
#include <math.h>

#include "ops/ops.h"

/* 1, the given ratios, and with flip their inverses; a ratio within 1e-6 of one already listed is
 * skipped (with its inverse), as Caffe does. Returns the count. */
static int32_t aspect_ratios(const xnn_prior_box_params* p, float* out) {
  int32_t n = 0;
  out[n++] = 1.0f;
  for (int32_t i = 0; i < p->aspect_ratio.count; i++) {
    const float r = p->aspect_ratio.v[i];
    int32_t k = 0;
    while (k < n && fabsf(r - out[k]) >= 1e-6f) k++;
    if (k < n) continue;
    out[n++] = r;
    if (p->flip) out[n++] = 1.0f / r;
  }
  return n;
}

static xnn_status prior_box_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* feat = &t[n->inputs[0]].shape;
  const xnn_shape* img = &t[n->inputs[1]].shape;
  if (feat->ndim != 4 || img->ndim != 4)
    return xnn_shape_error("the feature map and the image must be 4-D (N, C, H, W), got %d-D and %d-D", feat->ndim,
                           img->ndim);
  const xnn_prior_box_params* p = &n->p.prior_box;
  float ratios[1 + 2 * XNN_MAX_PRIOR_SIZES];
  const int64_t priors = (int64_t)aspect_ratios(p, ratios) * p->min_size.count + p->max_size.count;
  xnn_shape* out = &t[n->outputs[0]].shape;
  out->ndim = 3;
  out->dims[0] = 1;
  out->dims[1] = 2;
  out->dims[2] = xnn_mul_sat(xnn_mul_sat(feat->dims[2], feat->dims[3]), priors * 4);
  plan->macs = 0;
  plan->workspace_bytes = 0;
  return XNN_OK;
}

static void prior_box_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_prior_box_params* p = &n->p.prior_box;
  const xnn_shape* feat = &ctx->tensors[n->inputs[0]].shape;
  const xnn_shape* img = &ctx->tensors[n->inputs[1]].shape;
  const xnn_tensor_rt* out = &ctx->tensors[n->outputs[0]];
  const int64_t fh = feat->dims[2], fw = feat->dims[3];
  const int use_given = p->img_h != 0 && p->img_w != 0;
  const double ih = use_given ? p->img_h : (double)img->dims[2], iw = use_given ? p->img_w : (double)img->dims[3];
  const int own_step = p->step_h != 0 && p->step_w != 0;
  const float step_h = own_step ? p->step_h : (float)ih / (float)fh;
  const float step_w = own_step ? p->step_w : (float)iw / (float)fw;
  float ratios[1 + 2 * XNN_MAX_PRIOR_SIZES];
  const int32_t nr = aspect_ratios(p, ratios);
  float* box = out->data;
  for (int64_t y = 0; y < fh; y++) {
    for (int64_t x = 0; x < fw; x++) {
      const float cx = ((float)x + p->offset) * step_w, cy = ((float)y + p->offset) * step_h;
      for (int32_t s = 0; s < p->min_size.count; s++) {
        const float min_size = p->min_size.v[s];
        for (int32_t r = -1; r < nr; r++) {
          float bw, bh;
          if (r < 0) {
            bw = bh = min_size;
          } else if (r == 0) { /* ratios[0] is 1: its box is the min_size one, this slot is max_size's */
            if (!p->max_size.count) continue;
            bw = bh = sqrtf(min_size * p->max_size.v[s]);
          } else {
            bw = min_size * sqrtf(ratios[r]);
            bh = min_size / sqrtf(ratios[r]);
          }
          box[0] = (float)((cx - bw / 2.0) / iw);
          box[1] = (float)((cy - bh / 2.0) / ih);
          box[2] = (float)((cx + bw / 2.0) / iw);
          box[3] = (float)((cy + bh / 2.0) / ih);
          box += 4;
        }
      }
    }
  }
  const int64_t count = out->shape.dims[2];
  if (p->clip)
    for (int64_t i = 0; i < count; i++) out->data[i] = XNN_MIN(XNN_MAX(out->data[i], 0.0f), 1.0f);
  for (int64_t i = 0; i < count; i++) out->data[count + i] = p->variance[i % 4];
}

const xnn_op_def xnn_op_prior_box = {.reshape = prior_box_reshape, .run = prior_box_run};
