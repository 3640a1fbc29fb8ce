/* The micro-kernel table: one entry per kernel family, chosen once per model from the CPU's features.
 * Operators call kernels only through this table, never by name. */
#pragma once
#include "core/common.h"
#include "kernels/conv_chw.h"
#include "kernels/dwconv.h"
#include "kernels/gemm.h"
#include "kernels/im2col.h"
#include "kernels/lrn.h"
#include "kernels/lstm.h"
#include "kernels/pool.h"
#include "kernels/spmm.h"
#include "kernels/vaddc.h"
#include "kernels/vunary.h"
#include "kernels/winograd.h"

typedef struct xnn_kernels {
  const char* isa;
  xnn_f32_gemm_config gemm;
  xnn_f32_im2col_panel_fn im2col_panel;
  xnn_f32_conv_chw_s2_fn conv_chw_s2; /* optional: NULL takes the GEMM */
  xnn_f32_fc_fn fc;
  xnn_f32_spmm_config spmm;
  xnn_f32_dwconv_fn dwconv;
  xnn_f32_dwconv3x3_fn dwconv3x3s1, dwconv3x3s2;
  xnn_f32_dwconv3x3p1_fn dwconv3x3p1s1, dwconv3x3p1s2; /* optional: NULL uses the padded ones */
  /* A pointwise layer before a stride-2 depthwise one runs with it band by band (ops/convolution.c, pw_dw):
   * only where it was measured faster. */
  uint8_t pw_dw_pairs;
  xnn_f32_pool_fn maxpool, avgpool;
  xnn_f32_maxpool_padded_fn maxpool_padded;
  xnn_f32_vunary_fn vact, vsigmoid, vtanh;
  xnn_f32_vaddc_fn vaddc;
  xnn_f32_lrn_fn lrn;
  xnn_f32_wino43_input_fn wino43_input;
  xnn_f32_wino43_input_rows2_fn wino43_input_rows2; /* optional: two tile rows a call (ops/conv_winograd.c) */
  xnn_f32_wino43_output_fn wino43_output;
  xnn_f32_wino43_output_rows_fn wino43_output_rows; /* optional: whole tile rows of small maps a call */
  /* optional: F(2x2, 3x3) for the small maps whose 4x4 tiles are too few (ops/conv_winograd.c) */
  xnn_f32_wino23_input_fn wino23_input;
  xnn_f32_wino23_output_fn wino23_output;
  /* Fewest F(4x4, 3x3) tiles for that transform where F(2x2, 3x3) also fits (0: half a column panel,
   * at most 16): below it the GEMM's columns would run on narrow tiles only. */
  uint32_t wino43_min_tiles;
  /* Most bytes of F(2x2, 3x3) transformed weights (16 per 9 of the layer's): where F(4x4, 3x3) has too few
   * tiles, the maps are small and each of them serves few columns, read from memory on every run. */
  uint32_t wino23_max_weight_bytes;
  xnn_f32_lstm_cell_fn lstm_cell;
} xnn_kernels;

/* The best kernels for this CPU. The XNN_ISA environment variable ("ref", "avx2", "avx512") caps the
 * level, so that every path can be tested on one machine. */
XNN_INTERNAL const xnn_kernels* xnn_kernels_select(void);
/* The table for an ISA by name, or NULL if unknown or not supported by this CPU. */
XNN_INTERNAL const xnn_kernels* xnn_kernels_for_isa(const char* isa);
