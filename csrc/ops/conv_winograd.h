/* The Winograd F(4x4, 3x3) and F(2x2, 3x3) paths of Convolution (3x3, stride 1, dilation 1). */
#pragma once
#include "ops/ops.h"

/* The output tile worth it for this layer with this output size: 4 (F(4x4, 3x3)), 2 (F(2x2, 3x3)), or 0
 * (neither); the chosen one goes to the layer's wino_tile before its weights are packed. */
XNN_INTERNAL int xnn_conv_winograd_fits(const xnn_conv_params* c, const xnn_kernels* k, int64_t oh, int64_t ow);
XNN_INTERNAL xnn_status xnn_conv_winograd_pack(xnn_node* n, const xnn_kernels* k);
/* Scratch for all threads: the padded input (its size follows from the output size) and per-thread blocks. */
XNN_INTERNAL size_t xnn_conv_winograd_workspace(const xnn_conv_params* c, const xnn_kernels* k, size_t threads,
                                                size_t oh, size_t ow);
XNN_INTERNAL void xnn_conv_winograd_run(const xnn_node* n, const xnn_run_ctx* ctx);
