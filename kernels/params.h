/* Parameters shared by kernel families. Filled once at plan time, read by every call. */
#pragma once
#include <math.h>

/* Activation epilogue: y = x > 0 ? x : slope * x, then clamped to [min, max].
 * Identity: slope 1, min -INF, max +INF. ReLU: slope 0. Leaky ReLU: slope a. ReLU6: slope 0, max 6. */
typedef struct xnn_f32_act_params {
  float slope, min, max;
} xnn_f32_act_params;

static inline xnn_f32_act_params xnn_f32_act_identity(void) {
  xnn_f32_act_params p = {1.0f, -INFINITY, INFINITY};
  return p;
}

static inline int xnn_f32_act_is_identity(const xnn_f32_act_params* p) {
  return p->slope == 1.0f && p->min == -INFINITY && p->max == INFINITY;
}

/* The same activation in the form the kernels run fastest: a ReLU (slope 0) becomes slope 1 with its
 * lower clamp raised to 0 (max(x, 0) clamped to [min, max] is x clamped to [max(min, 0), max]), so the
 * epilogues skip the leaky part, which they do for slope 1. */
static inline xnn_f32_act_params xnn_f32_act_simplify(xnn_f32_act_params p) {
  if (p.slope == 0.0f) {
    p.slope = 1.0f;
    p.min = p.min > 0.0f ? p.min : 0.0f;
  }
  return p;
}

static inline float xnn_f32_act_apply(float x, const xnn_f32_act_params* p) {
  float y = x > 0.0f ? x : x * p->slope + 0.0f; /* + 0 turns ReLU's -0 into +0, as Caffe gives */
  y = y < p->min ? p->min : y;
  return y > p->max ? p->max : y;
}
