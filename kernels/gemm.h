/* f32 GEMM micro-kernel family: one MR x NR tile of C = act(A * B + bias), K in one call.
 *
 *  a     packed weights: `k` groups of MR floats, a[p*MR + i] = A[row i][p] (rows past `mr` are zero).
 *  b     activations: `k` rows of NR floats, `ldb` floats apart, b[p*ldb + j] = B[p][col j]: a packed
 *        panel (ldb = NR; cols past `nr` are zero) or, for a tile whose NR columns all exist, B itself
 *        (a pointwise convolution's input planes, ldb = pixels: read in place, never packed). Every
 *        kernel reads exactly NR floats of each of the k rows.
 *  c     output rows, `ldc` floats apart; only mr x nr values are written.
 *  bias  MR values (zero-padded), or NULL for none; used unless XNN_GEMM_ACCUMULATE (but for
 *        XNN_GEMM_ADD_BIAS).
 *  flags XNN_GEMM_ACCUMULATE: C += A*B (a later chunk of K); XNN_GEMM_LAST: apply `params` after;
 *        XNN_GEMM_ADD_BIAS, with ACCUMULATE and only in a config whose add_bias is set: C += bias + A*B (a
 *        residual sum whose output is stored over the residual); XNN_GEMM_STREAM_A, a hint: this call is the
 *        first to read its weight sliver (the block's first column tile), which comes from L3 or memory, so
 *        a tile that does not always prefetch the weights should do it here.
 *
 * In NCHW a convolution is A = weights [oc][cin*kh*kw], B = its im2col (the input itself for 1x1),
 * C = output [oc][oh*ow]: vectors run along output pixels, weights are broadcast. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernels/params.h"

enum { XNN_GEMM_ACCUMULATE = 1, XNN_GEMM_LAST = 2, XNN_GEMM_ADD_BIAS = 4, XNN_GEMM_STREAM_A = 8 };

typedef void (*xnn_f32_gemm_ukernel_fn)(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                        float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                        uint32_t flags);

/* One column (a classifier's single pixel): y[j*mr + i] = sum_p a[j*a_stride + p*mr + i] * x[p] for i < mr,
 * over `panels` (1 to XNN_GEMV_MAX_PANELS) packed weight panels a_stride floats apart (mr = the config's
 * MR). Memory bound: the weights are read once, and a caller passes panels far apart so that the kernel
 * reads them as that many streams (on Zen 3 four streams read 1.8x as fast from memory as one). */
typedef void (*xnn_f32_gemv_ukernel_fn)(size_t mr, size_t k, size_t panels, const float* a, size_t a_stride,
                                        const float* x, float* y);
enum { XNN_GEMV_MAX_PANELS = 4 };

/* Tail tiles: a block's last columns (fewer than NR) with the vectors along the output rows instead of
 * along the pixels. A 14x14 map's 196 columns leave a tail of 4 after six 32-wide tiles: a vector tile
 * fills 4 of its lanes there (the 8x8 AVX2 tile that took them ran as long as half a 32-wide tile, for
 * an eighth of its columns); a tail tile fills every lane of each multiply-add with one column of up to
 * 2*MR rows.
 *  a, a_stride  two consecutive packed weight panels (a and a + a_stride, the second read only when
 *               mr > MR): rows 0 to MR-1 and MR to 2*MR-1.
 *  b            k rows of B, ldb floats apart (a packed panel of width round_up(nr, 4), or B itself).
 *  c, bias, params, flags  as for the tiles (bias 2*MR values, or NULL). */
typedef void (*xnn_f32_gemm_tail_ukernel_fn)(size_t mr, size_t nr, size_t k, const float* a, size_t a_stride,
                                             const float* b, size_t ldb, float* c, size_t ldc, const float* bias,
                                             const xnn_f32_act_params* params, uint32_t flags);

/* Only x86's AVX-512 set has a tail tile: elsewhere the callers' tail code compiles away (it would cost
 * the AArch64 library a 16 KB step of its size budget for nothing). */
#if defined(__x86_64__) || defined(_M_X64)
#define XNN_GEMM_TAILS 1
#else
#define XNN_GEMM_TAILS 0
#endif

/* A tile shape of the family: the kernel and its panel width (all tiles of a config share MR). A NULL
 * kernel marks the config's tail tile (xnn_f32_gemm_config.tail), always a block's last. */
typedef struct xnn_f32_gemm_tile {
  xnn_f32_gemm_ukernel_fn ukernel;
  uint32_t nr;
  /* Floats between the K rows of its packed panel (0: nr). A panel whose rows are not whole 64-byte
   * lines apart has most of its vector loads cross a line: the 8x49 tile ran at 125 GFLOP/s on 49-float
   * rows and at 152 on 64-float ones (Ice Lake server, K = 1024). */
  uint32_t ld;
} xnn_f32_gemm_tile;

static inline size_t xnn_f32_gemm_tile_ld(xnn_f32_gemm_tile t) { return t.ld ? t.ld : t.nr; }

enum { XNN_GEMM_MAX_NARROW = 3 };

typedef struct xnn_f32_gemm_config {
  xnn_f32_gemm_ukernel_fn ukernel;
  uint32_t mr, nr;
  /* Narrower tiles for the last columns, widest first (nr 0: none); the narrowest may be a one-column
   * tile (a GEMV over the weight panel). Small maps (7x7, 13x13, 14x14) and Winograd tile counts leave
   * 15-50% of a full panel empty; with these a 7x7 map's 49 columns cost 32 + 16 + 1. */
  xnn_f32_gemm_tile narrow[XNN_GEMM_MAX_NARROW];
  xnn_f32_gemv_ukernel_fn gemv;
  /* A pointwise convolution on a map of at least this many pixels reads B in place whatever M
   * (ops/convolution.c: reads_in_place), where packing it costs more than the tiles' strided reads. */
  uint32_t in_place_pixels;
  /* The tail tile for a block's last tail_nr or fewer columns (NULL: the narrow tiles take them). */
  xnn_f32_gemm_tail_ukernel_fn tail;
  uint32_t tail_nr;
  /* A tile wider than NR for a block's last wide.nr columns exactly (NULL: none): a 7x7 map's 49 pixels in
   * one tile instead of NR + a tail (xnn_f32_gemm_panel). */
  xnn_f32_gemm_tile wide;
  /* Every tile of the config (and its tail) honours XNN_GEMM_ADD_BIAS. */
  uint32_t add_bias;
  /* A pointwise convolution reads its input in place only if its rows are a multiple of this many
   * floats apart (0: any), i.e. whole cache lines. */
  uint32_t in_place_align;
} xnn_f32_gemm_config;

/* Cost of one panel of a tile in column-equivalents of the vector tiles: a vector tile costs its width
 * whatever it holds; the one-column tile does one MR-wide FMA per K step where the 8-wide tile does 8
 * broadcast FMAs, so it counts 2. */
static inline uint32_t xnn_f32_gemm_tile_cost(uint32_t nr) { return nr == 1 ? 2 : nr; }

/* Packed column blocks: a block of `cols` columns is cut into panels left to right, full NR panels
 * first, then the tail as the cheapest sequence of tiles (ties: fewer panels), or the wide tile where it
 * takes the last columns whole; a panel starting at column s sits at s * k floats of the block and holds
 * k groups of its row stride (xnn_f32_gemm_tile_ld). This returns the first panel for `cols` remaining
 * columns. */
xnn_f32_gemm_tile xnn_f32_gemm_panel(const xnn_f32_gemm_config* g, size_t cols);

/* A block's panels left to right (xnn_f32_gemm_panel in turn, each starting where the previous ended):
 * computed once per block, not per call in the kernel loops. Fills tiles (at most cols / NR + NR of
 * them) and returns their count. */
size_t xnn_f32_gemm_panels(const xnn_f32_gemm_config* g, size_t cols, xnn_f32_gemm_tile* tiles);

/* A block's tail kernel (NULL: its tiles end without one) and, in *start, the column where it starts. */
static inline xnn_f32_gemm_tail_ukernel_fn xnn_f32_gemm_block_tail(const xnn_f32_gemm_config* g,
                                                                   const xnn_f32_gemm_tile* tiles, size_t ntiles,
                                                                   size_t* start) {
  *start = 0;
  for (size_t i = 0; i + 1 < ntiles; i++) *start += tiles[i].nr;
  return XNN_GEMM_TAILS && ntiles && !tiles[ntiles - 1].ukernel ? g->tail : NULL;
}

/* The tail tile runs on pairs of row panels, once the second is reached (its rows' C is then ready: a
 * caller may set C up one row panel at a time) or the panels end: after row panel m of those from m0,
 * MR apart, before m_end, this returns the pair's first row, or SIZE_MAX where panel m opens a pair. */
static inline size_t xnn_f32_gemm_tail_rows(size_t m, size_t m0, size_t m_end, size_t mr) {
  const size_t second = (m - m0) / mr % 2;
  return second || m + mr >= m_end ? m - second * mr : SIZE_MAX;
}

/* The one-column tiles' product: the GEMV family reads x contiguous, so a column of B read in place
 * (ldb > 1) is gathered first, a chunk at a time. */
void xnn_f32_gemm_1col_sums(xnn_f32_gemv_ukernel_fn gemv, size_t mr, size_t k, const float* a, const float* b,
                            size_t ldb, float* acc);

/* The one-column tiles' epilogue on MR GEMV sums. */
static inline void xnn_f32_gemm_1col_store(size_t mr, const float* acc, float* c, size_t ldc, const float* bias,
                                           const xnn_f32_act_params* params, uint32_t flags) {
  for (size_t i = 0; i < mr; i++) {
    float v = acc[i] + (flags & XNN_GEMM_ACCUMULATE ? c[i * ldc] : bias ? bias[i] : 0.0f);
    c[i * ldc] = flags & XNN_GEMM_LAST ? xnn_f32_act_apply(v, params) : v;
  }
}

/* Floats of a packed block of `cols` columns per unit of k (its padded width: a panel with a wider row
 * stride than its columns is always the block's last). */
size_t xnn_f32_gemm_packed_width(const xnn_f32_gemm_config* g, size_t cols);

/* The widest packed block of at most `cols` columns (for sizing buffers: a 49-column block on the 8x49
 * tile is 64 floats wide, a 50-column one 52). A block is narrower than its columns plus its last tile's
 * row stride, so only counts within the widest row stride of `cols` can beat `cols` itself: the operators
 * size their scratch with this on every run, and trying every count up to 512 (a cost search per count)
 * took 8% of a 55x55 128 -> 32 layer's time. */
size_t xnn_f32_gemm_packed_width_max(const xnn_f32_gemm_config* g, size_t cols);

void xnn_f32_gemm_ukernel_4x8__ref(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                   float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                   uint32_t flags);
void xnn_f32_gemm_ukernel_4x16__ref(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags);
void xnn_f32_gemm_ukernel_6x16__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                     float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                     uint32_t flags);
void xnn_f32_gemm_ukernel_6x17__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                     float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                     uint32_t flags);
void xnn_f32_gemm_ukernel_6x8__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags);
void xnn_f32_gemm_tail_ukernel_16x24__avx512(size_t mr, size_t nr, size_t k, const float* a, size_t a_stride,
                                             const float* b, size_t ldb, float* c, size_t ldc, const float* bias,
                                             const xnn_f32_act_params* params, uint32_t flags);
void xnn_f32_gemm_ukernel_8x16__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags);
/* One-column tiles: the set's GEMV plus the tile epilogue (bias or accumulate, activation, store). */
void xnn_f32_gemm_ukernel_4x1__ref(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                   float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                   uint32_t flags);
void xnn_f32_gemm_ukernel_6x1__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags);
void xnn_f32_gemm_ukernel_8x1__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags);
void xnn_f32_gemm_ukernel_8x1__neon(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags);
void xnn_f32_gemm_ukernel_8x12__neon_asm(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                         float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                         uint32_t flags);
void xnn_f32_gemm_ukernel_8x4__neon_asm(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                        float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                        uint32_t flags);
void xnn_f32_gemm_ukernel_8x48__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags);
void xnn_f32_gemm_ukernel_8x49__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags);
void xnn_f32_gemm_ukernel_8x32__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags);

/* Packs rows [0, m) of A (row-major, lda floats apart) into ceil(m/mr) panels of k*mr floats, and the
 * bias (NULL for zeros) into ceil(m/mr)*mr floats. */
void xnn_pack_f32_gemm_a(size_t m, size_t k, size_t mr, const float* a, size_t lda, const float* bias,
                         float* packed_a, float* packed_bias);

void xnn_f32_gemv_ukernel__ref(size_t mr, size_t k, size_t panels, const float* a, size_t a_stride,
                               const float* x, float* y);
void xnn_f32_gemv_ukernel__avx2(size_t mr, size_t k, size_t panels, const float* a, size_t a_stride,
                                const float* x, float* y);
void xnn_f32_gemv_ukernel__avx512(size_t mr, size_t k, size_t panels, const float* a, size_t a_stride,
                                  const float* x, float* y);
void xnn_f32_gemv_ukernel__neon(size_t mr, size_t k, size_t panels, const float* a, size_t a_stride,
                                const float* x, float* y);

/* f32 fully connected family: y[b][o] = act(sum_k x[b][k] * w[o][k] + bias[o]) for b < batch, o < n. */
typedef void (*xnn_f32_fc_fn)(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias,
                              float* y, size_t ldy, const xnn_f32_act_params* params);

void xnn_f32_fc__ref(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                     size_t ldy, const xnn_f32_act_params* params);
void xnn_f32_fc__avx2(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                      size_t ldy, const xnn_f32_act_params* params);
void xnn_f32_fc__avx512(size_t batch, size_t n, size_t k, const float* x, const float* w, const float* bias, float* y,
                        size_t ldy, const xnn_f32_act_params* params);
