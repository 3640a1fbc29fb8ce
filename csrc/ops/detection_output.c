/* DetectionOutput (SSD), as Caffe's layer computes it. Inputs: loc [N, priors * L * 4] (L = 1 with
 * share_location, else num_classes), conf [N, priors * num_classes], priors [1 or N, 2, priors * 4]
 * (boxes, then variances; the first item's are used for every image, as in Caffe). Per image: the boxes
 * are decoded from the priors, then for each class but the background the boxes scoring above
 * confidence_threshold are sorted by score, cut to top_k and thinned by greedy NMS (adaptive with
 * eta < 1); if more than keep_top_k boxes remain over all classes, the best keep_top_k are kept.
 *
 * Output [1, 1, K, 7]: rows (image, label, score, xmin, ymin, xmax, ymax), by image, then label, then
 * decreasing score. K depends on the data: the plan reserves the most rows there can be and run sets the
 * output's dim 2 to the rows written. When no image has a detection, K = N and row i is
 * (i, -1, -1, -1, -1, -1, -1), Caffe's placeholder. */
#include <math.h>

#include "ops/ops.h"

typedef struct det {
  float score;
  int32_t label, index;
} det;

static int64_t loc_classes(const xnn_detection_params* p) { return p->share_location ? 1 : p->num_classes; }

/* Candidates per class after top_k, and rows per image after keep_top_k. */
static void limits(const xnn_detection_params* p, int64_t priors, int64_t* per_class, int64_t* per_image) {
  const int has_bg = p->background_label_id >= 0 && p->background_label_id < p->num_classes;
  *per_class = p->top_k >= 0 ? XNN_MIN((int64_t)p->top_k, priors) : priors;
  *per_image = (p->num_classes - has_bg) * *per_class;
  if (p->keep_top_k >= 0) *per_image = XNN_MIN(*per_image, (int64_t)p->keep_top_k);
}

static xnn_status detection_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_detection_params* p = &n->p.detection;
  const xnn_shape *loc = &t[n->inputs[0]].shape, *conf = &t[n->inputs[1]].shape, *prior = &t[n->inputs[2]].shape;
  if (prior->ndim != 3 || prior->dims[1] != 2 || prior->dims[2] % 4 != 0) {
    char b[128];
    return xnn_shape_error("the priors (input 2) must be [1, 2, priors * 4], got %s", xnn_shape_str(prior, b, sizeof(b)));
  }
  const int64_t priors = prior->dims[2] / 4, items = loc->dims[0];
  if (conf->dims[0] != items)
    return xnn_shape_error("loc has %lld images and conf %lld", (long long)items, (long long)conf->dims[0]);
  const int64_t loc_size = xnn_shape_numel(loc) / items, conf_size = xnn_shape_numel(conf) / items;
  if (loc_size != priors * loc_classes(p) * 4)
    return xnn_shape_error("loc has %lld values per image; %lld priors need %lld (priors x %lld location classes x 4)",
                           (long long)loc_size, (long long)priors, (long long)(priors * loc_classes(p) * 4),
                           (long long)loc_classes(p));
  if (conf_size != priors * p->num_classes)
    return xnn_shape_error("conf has %lld values per image; %lld priors need %lld (priors x num_classes %d)",
                           (long long)conf_size, (long long)priors, (long long)(priors * p->num_classes),
                           p->num_classes);
  int64_t per_class, per_image;
  limits(p, priors, &per_class, &per_image);
  xnn_shape* out = &t[n->outputs[0]].shape;
  out->ndim = 4;
  out->dims[0] = out->dims[1] = 1;
  out->dims[2] = XNN_MAX(xnn_mul_sat(items, per_image), items);
  out->dims[3] = 7;
  /* One image at a time: its decoded boxes, one class's candidates, the detections kept over all classes. */
  plan->workspace_bytes = (size_t)(priors * loc_classes(p) * 4) * sizeof(float) +
                          (size_t)(priors + (p->num_classes * per_class)) * sizeof(det);
  plan->macs = xnn_mul_sat(items, conf_size);
  return XNN_OK;
}

static void decode(const xnn_detection_params* p, const float* prior, const float* var, const float* loc, float* box) {
  const float v[4] = {p->variance_encoded_in_target ? 1.0f : var[0], p->variance_encoded_in_target ? 1.0f : var[1],
                      p->variance_encoded_in_target ? 1.0f : var[2], p->variance_encoded_in_target ? 1.0f : var[3]};
  const float pw = prior[2] - prior[0], ph = prior[3] - prior[1];
  switch (p->code_type) {
    case XNN_CODE_CORNER:
      for (int k = 0; k < 4; k++) box[k] = prior[k] + v[k] * loc[k];
      break;
    case XNN_CODE_CENTER_SIZE: {
      const float cx = v[0] * loc[0] * pw + (prior[0] + prior[2]) / 2.0f;
      const float cy = v[1] * loc[1] * ph + (prior[1] + prior[3]) / 2.0f;
      const float w = expf(v[2] * loc[2]) * pw, h = expf(v[3] * loc[3]) * ph;
      box[0] = cx - w / 2.0f;
      box[1] = cy - h / 2.0f;
      box[2] = cx + w / 2.0f;
      box[3] = cy + h / 2.0f;
      break;
    }
    default: /* XNN_CODE_CORNER_SIZE */
      for (int k = 0; k < 4; k++) box[k] = prior[k] + v[k] * loc[k] * (k % 2 ? ph : pw);
      break;
  }
}

static float box_size(const float* b) { return b[2] < b[0] || b[3] < b[1] ? 0.0f : (b[2] - b[0]) * (b[3] - b[1]); }

static float overlap(const float* a, const float* b) {
  if (b[0] > a[2] || b[2] < a[0] || b[1] > a[3] || b[3] < a[1]) return 0.0f;
  const float w = XNN_MIN(a[2], b[2]) - XNN_MAX(a[0], b[0]), h = XNN_MIN(a[3], b[3]) - XNN_MAX(a[1], b[1]);
  if (!(w > 0 && h > 0)) return 0.0f;
  const float inter = w * h;
  return inter / (box_size(a) + box_size(b) - inter);
}

/* Total orders (ties broken by label, then prior index), so the result never depends on the sort. */
static int by_score(const det* a, const det* b) {
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  if (a->label != b->label) return a->label < b->label ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

static int by_label(const det* a, const det* b) {
  if (a->label != b->label) return a->label < b->label ? -1 : 1;
  return by_score(a, b);
}

/* Heapsort: in place and allocation-free (qsort may allocate). */
static void sift(det* d, size_t root, size_t n, int (*cmp)(const det*, const det*)) {
  for (size_t child; (child = 2 * root + 1) < n; root = child) {
    if (child + 1 < n && cmp(&d[child], &d[child + 1]) < 0) child++;
    if (cmp(&d[root], &d[child]) >= 0) return;
    const det t = d[root];
    d[root] = d[child];
    d[child] = t;
  }
}

static void sort_dets(det* d, size_t n, int (*cmp)(const det*, const det*)) {
  for (size_t i = n / 2; i-- > 0;) sift(d, i, n, cmp);
  for (size_t end = n; end-- > 1;) {
    const det t = d[0];
    d[0] = d[end];
    d[end] = t;
    sift(d, 0, end, cmp);
  }
}

static void detection_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_detection_params* p = &n->p.detection;
  const xnn_tensor_rt *loc_t = &ctx->tensors[n->inputs[0]], *conf_t = &ctx->tensors[n->inputs[1]];
  const xnn_tensor_rt* prior_t = &ctx->tensors[n->inputs[2]];
  xnn_tensor_rt* out = &ctx->tensors[n->outputs[0]];
  const int64_t priors = prior_t->shape.dims[2] / 4, items = loc_t->shape.dims[0], lc = loc_classes(p);
  int64_t per_class, per_image;
  limits(p, priors, &per_class, &per_image);
  float* boxes = ctx->workspace;
  det* cand = (det*)(boxes + priors * lc * 4);
  det* kept = cand + priors;
  float* row = out->data;
  int64_t rows = 0;
  for (int64_t i = 0; i < items; i++) {
    const float* loc = loc_t->data + i * priors * lc * 4;
    const float* conf = conf_t->data + i * priors * p->num_classes;
    for (int64_t b = 0; b < priors * lc; b++)
      decode(p, prior_t->data + b / lc * 4, prior_t->data + priors * 4 + b / lc * 4, loc + b * 4, boxes + b * 4);
    size_t nk = 0;
    for (int32_t c = 0; c < p->num_classes; c++) {
      if (c == p->background_label_id) continue;
      size_t nc = 0;
      for (int64_t k = 0; k < priors; k++) {
        const float s = conf[k * p->num_classes + c];
        if (s > p->confidence_threshold) cand[nc++] = (det){s, c, (int32_t)k};
      }
      sort_dets(cand, nc, by_score);
      nc = XNN_MIN(nc, (size_t)per_class);
      const float* cls_boxes = boxes + (p->share_location ? 0 : c * 4);
      const size_t first = nk;
      float threshold = p->nms_threshold;
      for (size_t k = 0; k < nc; k++) {
        const float* box = cls_boxes + (int64_t)cand[k].index * lc * 4;
        int keep = 1;
        for (size_t m = first; m < nk && keep; m++) keep = overlap(box, cls_boxes + (int64_t)kept[m].index * lc * 4) <= threshold;
        if (!keep) continue;
        kept[nk++] = cand[k];
        if (p->eta < 1.0f && threshold > 0.5f) threshold *= p->eta;
      }
    }
    if ((int64_t)nk > per_image) {
      sort_dets(kept, nk, by_score);
      nk = (size_t)per_image;
    }
    sort_dets(kept, nk, by_label);
    for (size_t k = 0; k < nk; k++, row += 7) {
      const float* box = boxes + ((int64_t)kept[k].index * lc + (p->share_location ? 0 : kept[k].label)) * 4;
      row[0] = (float)i;
      row[1] = (float)kept[k].label;
      row[2] = kept[k].score;
      for (int m = 0; m < 4; m++) row[3 + m] = box[m];
    }
    rows += (int64_t)nk;
  }
  if (rows == 0) {
    for (int64_t i = 0; i < items; i++, row += 7) {
      row[0] = (float)i;
      for (int m = 1; m < 7; m++) row[m] = -1.0f;
    }
    rows = items;
  }
  out->shape.dims[2] = rows;
}

const xnn_op_def xnn_op_detection_output = {.reshape = detection_reshape, .run = detection_run};
