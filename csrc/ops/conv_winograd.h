/* The Winograd F(4x4, 3x3) path of Convolution (3x3, stride 1, dilation 1, one group). */
#pragma once
#include "ops/ops.h"

/* Whether the path is worth it for this layer with this output size. */
XNN_INTERNAL int xnn_conv_winograd_fits(const xnn_conv_params* c, const xnn_kernels* k, int64_t oh, int64_t ow);
XNN_INTERNAL xnn_status xnn_conv_winograd_pack(xnn_node* n, const xnn_kernels* k);
/* Scratch for all threads: the padded input (its size follows from the output size) and per-thread blocks. */
XNN_INTERNAL size_t xnn_conv_winograd_workspace(const xnn_conv_params* c, const xnn_kernels* k, size_t threads,
                                                size_t oh, size_t ow);
XNN_INTERNAL void xnn_conv_winograd_run(const xnn_node* n, const xnn_run_ctx* ctx);
