#include <math.h>

#include "kernels/vunary.h"

void xnn_f32_vact__ref(size_t n, const float* x, float* y, const xnn_f32_act_params* params) {
  const float slope = params->slope, lo = params->min, hi = params->max;
  /* Branch-free (max/min instead of a sign test), so it vectorizes and random signs cost nothing. */
  for (size_t i = 0; i < n; i++) {
    const float pos = x[i] > 0.0f ? x[i] : 0.0f, neg = x[i] < 0.0f ? x[i] : 0.0f;
    float v = pos + neg * slope;
    v = v < lo ? lo : v;
    y[i] = v > hi ? hi : v;
  }
}

void xnn_f32_vsigmoid__ref(size_t n, const float* x, float* y, const xnn_f32_act_params* params) {
  (void)params;
  for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void xnn_f32_vtanh__ref(size_t n, const float* x, float* y, const xnn_f32_act_params* params) {
  (void)params;
  for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
