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

static inline float xnn_f32_act_apply(float x, const xnn_f32_act_params* p) {
  float y = x > 0.0f ? x : x * p->slope + 0.0f; /* + 0 turns ReLU's -0 into +0, as Caffe gives */
  y = y < p->min ? p->min : y;
  return y > p->max ? p->max : y;
}
