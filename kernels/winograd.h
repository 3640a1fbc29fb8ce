/* f32 Winograd F(4x4, 3x3) family: a 3x3 stride-1 convolution as 36 GEMMs over transformed tiles.
 * Per 4x4 output tile, the 6x6 input patch d becomes V = B^T d B, the 3x3 filter g becomes U = G g G^T,
 * and the tile is Y = A^T (sum over input channels of U .* V) A. Element e = 6*i + j of the 6x6 grid.
 * The matrices (interpolation points 0, 1, -1, 1/2, -2, infinity) are in kernels/ref/f32_wino43_ref.c;
 * every implementation of the family uses exactly those. */
#pragma once
#include <stddef.h>

#include "kernels/params.h"

#define XNN_WINO43_TILES 16 /* tiles per transform call, at most */
/* Floats an input transform may read past the last patch column of a row (it reads 80 floats from the
 * first tile's patch, whatever the tile count). */
#define XNN_WINO43_EXTRA 80

/* Input transform of `tiles` (<= XNN_WINO43_TILES) consecutive tiles of one channel. `in` is the top-left
 * of the first tile's 6x6 patch in a zero-padded plane (`in_stride` floats per row); tile t's patch
 * starts 4t columns to the right. V_e of tile t goes to out[e * out_stride + t]. */
typedef void (*xnn_f32_wino43_input_fn)(const float* in, size_t in_stride, size_t tiles, float* out,
                                        size_t out_stride);

/* Output transform of `tiles` consecutive tiles of one output channel: M_e of tile t is read at
 * m[e * m_stride + t]; act(A^T M A + bias) is written to the first `rows` (<= 4) rows and `cols`
 * (<= 4 * tiles) columns at `out`, `out_stride` floats per row. */
typedef void (*xnn_f32_wino43_output_fn)(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                         size_t out_stride, size_t rows, size_t cols,
                                         const xnn_f32_act_params* params);

void xnn_f32_wino43_input__ref(const float* in, size_t in_stride, size_t tiles, float* out, size_t out_stride);
void xnn_f32_wino43_output__ref(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params);
void xnn_f32_wino43_input__neon(const float* in, size_t in_stride, size_t tiles, float* out, size_t out_stride);
void xnn_f32_wino43_output__neon(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                 size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params);
void xnn_f32_wino43_input__avx2(const float* in, size_t in_stride, size_t tiles, float* out, size_t out_stride);
void xnn_f32_wino43_output__avx2(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                 size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params);
void xnn_f32_wino43_input__avx512(const float* in, size_t in_stride, size_t tiles, float* out,
                                  size_t out_stride);
void xnn_f32_wino43_output__avx512(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                   size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params);

/* The input transform of two tile rows at once, for maps whose tile rows hold at most 7 tiles (28 columns or
 * fewer): `tiles` tiles from the patch at `in0` and as many from the patch at `in1` (each read as
 * xnn_f32_wino43_input_fn reads its patch), V_e of row 0's tile t to out[e * out_stride + t] and of row 1's
 * to out[e * out_stride + tiles + t]. */
typedef void (*xnn_f32_wino43_input_rows2_fn)(const float* in0, const float* in1, size_t in_stride, size_t tiles,
                                              float* out, size_t out_stride);
void xnn_f32_wino43_input_rows2__avx2(const float* in0, const float* in1, size_t in_stride, size_t tiles,
                                      float* out, size_t out_stride);
void xnn_f32_wino43_input_rows2__avx512(const float* in0, const float* in1, size_t in_stride, size_t tiles,
                                        float* out, size_t out_stride);

/* The output transform of whole tile rows of a map at most 8 tiles wide, as many a call as fill 16 lanes
 * (`tile_rows` * `tiles_x` <= 16): tile t of the run is tile t % tiles_x of tile row t / tiles_x, M_e read
 * at m[e * m_stride + t] as for xnn_f32_wino43_output_fn; tile row q's outputs go to out + 4 * q * out_stride,
 * `cols` (<= 4 * tiles_x) columns of 4 rows, `rows` (<= 4) of the last tile row's. */
typedef void (*xnn_f32_wino43_output_rows_fn)(const float* m, size_t m_stride, size_t tiles_x, size_t tile_rows,
                                              float bias, float* out, size_t out_stride, size_t rows, size_t cols,
                                              const xnn_f32_act_params* params);
void xnn_f32_wino43_output_rows__avx2(const float* m, size_t m_stride, size_t tiles_x, size_t tile_rows, float bias,
                                      float* out, size_t out_stride, size_t rows, size_t cols,
                                      const xnn_f32_act_params* params);
void xnn_f32_wino43_output_rows__avx512(const float* m, size_t m_stride, size_t tiles_x, size_t tile_rows,
                                        float bias, float* out, size_t out_stride, size_t rows, size_t cols,
                                        const xnn_f32_act_params* params);

/* U = G g G^T of one 3x3 filter (9 floats, row-major) into 36 floats. */
void xnn_f32_wino43_filter(const float* g, float* u);

/* F(2x2, 3x3): the same scheme for maps too small for 4x4 tiles to fill the GEMM's panels (7x7 to 12x12;
 * ops/conv_winograd.c chooses), with 16 operands per 4x4 input patch and 2x2 output tiles. Points 0, 1, -1, infinity:
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 * A^T = [1 1 1 0; 0 1 -1 -1]. Element e = 4*i + j of the 4x4 grid. The signatures are those of F(4x4, 3x3)
 * (tile t's patch starts 2t columns right; `rows` <= 2, `cols` <= 2 * tiles); an input transform reads at
 * most XNN_WINO43_EXTRA floats past the last patch column of a row, like the F(4x4, 3x3) ones. */
typedef xnn_f32_wino43_input_fn xnn_f32_wino23_input_fn;
typedef xnn_f32_wino43_output_fn xnn_f32_wino23_output_fn;

void xnn_f32_wino23_input__ref(const float* in, size_t in_stride, size_t tiles, float* out, size_t out_stride);
void xnn_f32_wino23_output__ref(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params);
void xnn_f32_wino23_input__avx512(const float* in, size_t in_stride, size_t tiles, float* out,
                                  size_t out_stride);
void xnn_f32_wino23_output__avx512(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                   size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params);

/* U = G g G^T of one 3x3 filter into 16 floats. */
void xnn_f32_wino23_filter(const float* g, float* u);
