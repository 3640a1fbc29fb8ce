/* The micro-kernel table: one entry per kernel family, filled once per plan from the CPU's features.
 * Operators call kernels only through this table, never by name. */
#pragma once
#include "core/common.h"
#include "kernels/dwconv.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"
#include "kernels/vunary.h"

typedef struct xnn_kernels {
  const char* isa;
  xnn_f32_gemm_fn gemm;
  xnn_f32_fc_fn fc;
  xnn_f32_dwconv_fn dwconv;
  xnn_f32_pool_fn maxpool, avgpool;
  xnn_f32_vunary_fn vact, vsigmoid, vtanh;
} xnn_kernels;

/* The best kernels for this CPU. The XNN_ISA environment variable ("ref", ...) caps the level, so that
 * every path can be tested on one machine. */
XNN_INTERNAL const xnn_kernels* xnn_kernels_select(void);
