/* f32 elementwise unary family over n contiguous floats (in place allowed: y == x). */
#pragma once
#include <stddef.h>

#include "kernels/params.h"

typedef void (*xnn_f32_vunary_fn)(size_t n, const float* x, float* y, const xnn_f32_act_params* params);

void xnn_f32_vact__ref(size_t n, const float* x, float* y, const xnn_f32_act_params* params);
void xnn_f32_vsigmoid__ref(size_t n, const float* x, float* y, const xnn_f32_act_params* params);
void xnn_f32_vtanh__ref(size_t n, const float* x, float* y, const xnn_f32_act_params* params);
