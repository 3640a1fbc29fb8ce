/* Entry points for the kernel testers (tests/test_kernels.py through the Python module): each runs one
 * kernel family of the named kernel set on caller-provided buffers. Internal, not part of the C API. */
#pragma once
#include "core/common.h"
#include "kernels/params.h"

/* C[m][n] = act(A[m][k] B[k][n] + bias) through the set's GEMM micro-kernel: A packed as at load,
 * B packed in the panels of xnn_f32_gemm_panel (full and narrow tiles), K cut in chunks of kc (exercising
 * XNN_GEMM_ACCUMULATE); with in_place, the tiles whose columns all exist read B itself (ldb = n), as a
 * pointwise convolution reads its input, and only a partial last tile is packed. With a residual
 * (m x n), C starts as it and the first chunk adds the bias (XNN_GEMM_ADD_BIAS): C = act(R + bias + A B).
 * Returns 0 if the set does not exist on this CPU (or, with a residual, has no add_bias tiles). */
XNN_INTERNAL int xnn_testing_gemm(const char* isa, size_t m, size_t n, size_t k, size_t kc, int in_place,
                                  const float* a, const float* b, const float* bias, const float* residual,
                                  const xnn_f32_act_params* act, float* c);
/* y[m] = A[m][k] x[k] through the set's GEMV over packed panels (A packed as the GEMM's weights). */
XNN_INTERNAL int xnn_testing_gemv(const char* isa, size_t m, size_t k, const float* a, const float* x, float* y);
/* The set's fully connected kernel: y[b][n] = act(x[b][k] W[n][k]^T + bias). */
XNN_INTERNAL int xnn_testing_fc(const char* isa, size_t batch, size_t n, size_t k, const float* x, const float* w,
                                const float* bias, const xnn_f32_act_params* act, float* y);
/* The set's GEMM tile shapes, full tile first ("8x32 8x16 8x8"). */
XNN_INTERNAL const char* xnn_testing_gemm_tiles(const char* isa);
/* The set's 3x3 depthwise kernel (stride 1 or 2) on a padded plane with XNN_DWCONV_EXTRA slack. */
XNN_INTERNAL int xnn_testing_dwconv3x3(const char* isa, size_t stride, size_t oh, size_t ow, const float* in,
                                       size_t in_stride, const float* w, float bias, const xnn_f32_act_params* act,
                                       float* out);
/* The set's unpadded pad-1 3x3 depthwise kernel (stride 1 or 2), output rows [oy0, oy1); 0 if the set has none. */
XNN_INTERNAL int xnn_testing_dwconv3x3p1(const char* isa, size_t stride, size_t ih, size_t iw, const float* in,
                                         const float* w, float bias, const xnn_f32_act_params* act, float* out,
                                         size_t oy0, size_t oy1);
/* The set's direct stride-2 convolution of few channels (kernels/conv_chw.h) over a whole image, every
 * panel of 8 output channels and every 32-pixel tile of each output row, from weights [oc][cin][kh][kw];
 * 0 if the set has none, -1 out of memory. geometry: cin, ih, iw, kh, kw, pad_top, pad_left; the output
 * is [oc][oh][ow] with oh = (ih + 2 pad_top - kh) / 2 + 1 and ow likewise. */
XNN_INTERNAL int xnn_testing_conv_chw_s2(const char* isa, const size_t geometry[7], size_t oc, const float* in,
                                         const float* w, const float* bias, const xnn_f32_act_params* act,
                                         float* out);
/* The set's general depthwise kernel (any geometry, unpadded input). */
XNN_INTERNAL int xnn_testing_dwconv(const char* isa, const size_t geometry[12], const float* in, const float* w,
                                    float bias, const xnn_f32_act_params* act, float* out);
/* Space-separated names of the optional kernel families the set has ("dwconv3x3 maxpool_padded wino43"). */
XNN_INTERNAL const char* xnn_testing_families(const char* isa);
/* y (n floats) = x + c by the set's vaddc; in place (y first holds x) when in_place. */
XNN_INTERNAL int xnn_testing_vaddc(const char* isa, size_t n, const float* x, float c, float* y, int in_place);
/* y (n floats) by the set's LRN kernel over `taps` rows of n floats, `stride` apart (kernels/lrn.h). */
XNN_INTERNAL int xnn_testing_lrn(const char* isa, size_t n, size_t taps, const float* rows, size_t stride,
                                 const float* x, float k, float alpha, float beta, float* y);
/* xnn_pad_plane (ops/ops.h): the runtime's zero padding of one plane. */
XNN_INTERNAL void xnn_testing_pad_plane(float* dst, size_t rows, size_t stride, const float* src, size_t ih, size_t iw,
                                        size_t top, size_t left);
XNN_INTERNAL int xnn_testing_maxpool(const char* isa, size_t oh, size_t ow, size_t kh, size_t kw, size_t stride,
                                     const float* in, size_t in_stride, float* out);
XNN_INTERNAL int xnn_testing_winograd(const char* isa, size_t tile, size_t tiles, const float* in, size_t in_stride,
                                      float* v, const float* m, float bias, const xnn_f32_act_params* act, float* out,
                                      size_t out_stride, size_t rows, size_t cols);
/* The two-tile-row input transform (F(4x4, 3x3)) of `tiles` tiles from each of in0 and in1 into v (36 rows of
 * 16); 0 if the set has none. */
XNN_INTERNAL int xnn_testing_winograd_rows2(const char* isa, size_t tiles, const float* in0, const float* in1,
                                            size_t in_stride, float* v);
/* The output transform of whole tile rows (xnn_f32_wino43_output_rows_fn), M 16 floats a row; 0 if the set has
 * none. */
XNN_INTERNAL int xnn_testing_winograd_output_rows(const char* isa, size_t tiles_x, size_t tile_rows, const float* m,
                                                  float bias, const xnn_f32_act_params* act, float* out,
                                                  size_t out_stride, size_t rows, size_t cols);
XNN_INTERNAL int xnn_testing_im2col_panel(const char* isa, size_t kc, size_t len, const float* src,
                                          const size_t* offsets, size_t stride, float* dst, size_t dst_stride);
/* The set's SpMM kernel (variant 0), its wide one (1) or its blocked one (2; channels a multiple of its
 * block); 0 if it has none) on W (channels x k, dense with zeros, compressed here as at load): out
 * (channels rows, out_stride apart) = act(W in[:, :pixels] + bias + residual); in has k rows in_stride
 * apart; bias and residual may be NULL. Returns -1 when out of memory. */
XNN_INTERNAL int xnn_testing_spmm(const char* isa, int variant, size_t pixels, size_t channels, size_t k,
                                  const float* in, size_t in_stride, const float* w, const float* bias,
                                  const float* residual, const xnn_f32_act_params* act, float* out,
                                  size_t out_stride);
/* The set's LSTM cell on one item: gates [4h] (i, f, o, g), c [h] updated in place, h_out [h]. */
XNN_INTERNAL int xnn_testing_lstm_cell(const char* isa, size_t h, const float* gates, float* c, float* h_out,
                                       float clip_min, float clip_max);
