/* Direct stride-2 convolution, two output rows in tiles of 8 output channels x 48 pixels, AVX-512F.
 *
 * The two rows are one run of lanes: row oy from lane 0, row oy + 1 from lane RB, the first multiple of 16
 * past row oy's last pixel plus the kernel's reach. The lanes between row oy's last vector and RB hold only
 * that reach in the split rows below and are not computed: a tile's three vectors load from their own
 * offsets, so a tile may go on from row oy into row oy + 1 past them. A row of 111 or 112 pixels alone is 7
 * vectors, 48 + 48 + 16 (the 16-pixel tile does 8 broadcasts per 8 FMAs) or 48 + 32 + 32; a pair is 14
 * vectors, 48 x 4 + 32 (computing the 15th vector of lanes between them took 7% more: SqueezeNet 1.0's
 * 7x7 layer 3.43 -> 3.20 ms alone on Zen 4, ResNet-50's 2.27 -> 2.13). The run is done in chunks of up to
 * 96 computed lanes. Each chunk first splits every input row it reads (cin x kh of them per output row)
 * into its even and odd columns, E[j] = P[2j] and O[j] = P[2j + 1] of the row P padded by pad_left (masked
 * loads: zero outside the image, nothing read outside it), two permutes per 16 values. A tile's tap
 * kx = 2s is then E from its first lane + s, kx = 2s + 1 is O from there: plain loads, no shuffles.
 * Splitting the rows inside each tile instead (4 permutes and 2 valignd per input row, redone by every
 * 8-channel panel and tile) held MobileNet's 3x3 first layer to 72% of the FMA peak.
 *
 * Registers: 24 accumulators (channel o, lanes 0-15, 16-31 and 32-47), the tap's three B vectors, one
 * broadcast weight: 11 loads per 24 FMAs. Ice Lake server, one thread, hot caches: the 8 x 32 tile one row
 * at a time before it (10 loads per 16 FMAs) ran SqueezeNet 1.0's and ResNet-50's 7x7 layers at 95-120
 * GFLOP/s, 8 x 48 tiles one row at a time at 105-140 (a 97-pixel row's 1-pixel tail cost a third as much
 * as its other 96 pixels), in pairs at 113-148; in the networks those layers took 0.81-0.83x the time of
 * the 8 x 32 tiles'. 3x3 kernels (K = 27) keep 8 x 32 tiles and rows alone: with 8 x 48 tiles MobileNet's
 * first layer ran 13-19% slower. A 16-channel x 16-pixel tile (a broadcast per FMA) ran 17% slower on Zen 5. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/conv_chw.h"
#include "kernels/x86/act.h"

/* Vectors per chunk, and the split rows' length: a chunk's last tile reads up to E[95 + 3] (kw <= 7). A chunk
 * splits cin x kh rows, each holding, lane by lane, the input row of the output row its lanes belong to. */
enum { CHUNK_VECTORS = 6, SPLIT = (CHUNK_VECTORS + 2) * 16, MAX_ROWS = 4 * 7 };

/* The first n lanes (all for n >= 16, none for n <= 0). */
static inline __mmask16 lanes(ptrdiff_t n) { return (__mmask16)(n >= 16 ? 0xffffu : n <= 0 ? 0 : (1u << n) - 1); }

/* Lanes l < 16 with 0 <= x + l < width. */
static inline __mmask16 inside(ptrdiff_t x, size_t width) {
  const ptrdiff_t lo = x < 0 ? -x : 0, hi = (ptrdiff_t)width - x;
  if (hi <= 0 || lo >= 16) return 0;
  const uint32_t upper = hi >= 16 ? 0xffffu : (1u << hi) - 1;
  return (__mmask16)(upper & ~((1u << lo) - 1));
}

/* E[0, 16) and O[0, 16) of an input row from P[x] (P[c] = row[c - pad_left]), zeros for a row outside
 * the image (NULL). */
static inline void split_16(const float* row, size_t iw, ptrdiff_t x, float* e, float* o) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  if (!row) {
    _mm512_store_ps(e, _mm512_setzero_ps());
    _mm512_store_ps(o, _mm512_setzero_ps());
    return;
  }
  const __m512 lo = _mm512_maskz_loadu_ps(inside(x, iw), row + x);
  const __m512 hi = _mm512_maskz_loadu_ps(inside(x + 16, iw), row + x + 16);
  _mm512_store_ps(e, _mm512_permutex2var_ps(lo, even, hi));
  _mm512_store_ps(o, _mm512_permutex2var_ps(lo, odd, hi));
}

#define FMA_TAP(o)                                          \
  {                                                         \
    const __m512 wv = _mm512_set1_ps(a[kx * 8 + o]);        \
    c##o##0 = _mm512_fmadd_ps(wv, b0, c##o##0);             \
    if (nv > 1) c##o##1 = _mm512_fmadd_ps(wv, b1, c##o##1); \
    if (nv > 2) c##o##2 = _mm512_fmadd_ps(wv, b2, c##o##2); \
  }

/* Where a tile's vectors go: vector v's first lane at dst[v], its lanes < mask[v]; its split values start
 * at[v] floats after vector 0's (16 v, or more where the tile goes on into the second row). */
typedef struct tile_out {
  float* dst[3];
  __mmask16 mask[3];
  size_t at[3];
} tile_out;

/* The body for one kernel width, so that the tap loop unrolls, and nv vectors of lanes. e and o are the
 * split rows (ci, ky) in order, from the tile's first lane; rows outside the image for both output rows
 * are skipped (`live`). */
static inline __attribute__((always_inline)) void conv_tile(const size_t kw, const int nv, size_t rows,
                                                            const uint8_t* live, const float* e, const float* o,
                                                            size_t oc, const float* a, const float* bias,
                                                            const tile_out* to, size_t out_stride,
                                                            const xnn_f32_act_params* params) {
  __m512 c00 = _mm512_set1_ps(bias[0]), c01 = c00, c02 = c00, c10 = _mm512_set1_ps(bias[1]), c11 = c10, c12 = c10;
  __m512 c20 = _mm512_set1_ps(bias[2]), c21 = c20, c22 = c20, c30 = _mm512_set1_ps(bias[3]), c31 = c30, c32 = c30;
  __m512 c40 = _mm512_set1_ps(bias[4]), c41 = c40, c42 = c40, c50 = _mm512_set1_ps(bias[5]), c51 = c50, c52 = c50;
  __m512 c60 = _mm512_set1_ps(bias[6]), c61 = c60, c62 = c60, c70 = _mm512_set1_ps(bias[7]), c71 = c70, c72 = c70;
  for (size_t r = 0; r < rows; r++, a += kw * 8, e += SPLIT, o += SPLIT) {
    if (!live[r]) continue; /* a zero row adds nothing */
    for (size_t kx = 0; kx < kw; kx++) {
      const float* src = (kx % 2 ? o : e) + kx / 2;
      const __m512 b0 = _mm512_loadu_ps(src);
      const __m512 b1 = nv > 1 ? _mm512_loadu_ps(src + to->at[1]) : b0;
      const __m512 b2 = nv > 2 ? _mm512_loadu_ps(src + to->at[2]) : b0;
      FMA_TAP(0) FMA_TAP(1) FMA_TAP(2) FMA_TAP(3) FMA_TAP(4) FMA_TAP(5) FMA_TAP(6) FMA_TAP(7)
    }
  }
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
#define STORE(o)                                                                                               \
  if (o < oc) {                                                                                                \
    _mm512_mask_storeu_ps(to->dst[0] + o * out_stride, to->mask[0], xnn_act_avx512_apply(&act, c##o##0));    \
    if (nv > 1)                                                                                                \
      _mm512_mask_storeu_ps(to->dst[1] + o * out_stride, to->mask[1], xnn_act_avx512_apply(&act, c##o##1));  \
    if (nv > 2)                                                                                                \
      _mm512_mask_storeu_ps(to->dst[2] + o * out_stride, to->mask[2], xnn_act_avx512_apply(&act, c##o##2));  \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
#undef STORE
}

/* Vectors of the tile that starts where `left` vectors of the run remain, at most `widest`: threes, but the
 * last four as two and two; or twos. */
static inline size_t tile_vectors(size_t left, size_t widest) {
  return widest == 2 || left == 4 ? (left < 2 ? left : 2) : left < 3 ? left : 3;
}

/* The chunk's tiles for every 8-channel panel, for one kernel width: a panel's weights stay in L1. A tile's
 * split values start tiles[i].out.at[0] floats into the chunk's split rows. */
#define CHUNK_TILES(kw)                                                                                   \
  for (size_t m0 = 0; m0 < m; m0 += 8) {                                                                 \
    const size_t oc = m - m0 < 8 ? m - m0 : 8;                                                           \
    for (size_t i = 0; i < ntiles; i++) {                                                                \
      const float* ap = a + m0 * k;                                                                      \
      tile_out to = tiles[i].out;                                                                        \
      const size_t s0 = to.at[0];                                                                        \
      to.at[1] -= s0, to.at[2] -= s0;                                                                    \
      for (size_t q = 0; q < 3; q++) to.dst[q] += m0 * out_stride;                                       \
      if (tiles[i].n == 3)                                                                               \
        conv_tile(kw, 3, rows, live, e + s0, o + s0, oc, ap, bias + m0, &to, out_stride, params);        \
      else if (tiles[i].n == 2)                                                                          \
        conv_tile(kw, 2, rows, live, e + s0, o + s0, oc, ap, bias + m0, &to, out_stride, params);        \
      else                                                                                               \
        conv_tile(kw, 1, rows, live, e + s0, o + s0, oc, ap, bias + m0, &to, out_stride, params);        \
    }                                                                                                    \
  }

/* The first lane of vector i of a run: row oy's n1 vectors from lane 0, then row oy + 1's from lane rb. */
static inline size_t lane_of(size_t i, size_t n1, size_t rb) { return i < n1 ? 16 * i : rb + 16 * (i - n1); }

/* One run of lanes: output row oy, and oy + 1 from lane rb (SIZE_MAX: none). The lanes from row oy's last
 * vector to rb hold its taps' reach in the split rows but are not computed. */
static void run_lanes(const xnn_conv_chw_geometry* g, size_t m, size_t oy, size_t rb, const float* in,
                      const float* a, const float* bias, float* out, size_t out_stride,
                      const xnn_f32_act_params* params) {
  float e[MAX_ROWS * SPLIT] __attribute__((aligned(64))), o[MAX_ROWS * SPLIT] __attribute__((aligned(64)));
  uint8_t live[MAX_ROWS];
  const size_t rows = g->cin * g->kh, k = rows * g->kw, ow = g->ow, widest = g->kw == 3 ? 2 : 3;
  const int pair = rb != SIZE_MAX;
  const size_t n1 = (ow + 15) / 16, total = pair ? 2 * n1 : n1;
  for (size_t v0 = 0, v; v0 < total; v0 += v) {
    /* Whole tiles, up to CHUNK_VECTORS of them. */
    struct {
      size_t n;
      tile_out out;
    } tiles[CHUNK_VECTORS];
    size_t ntiles = 0;
    const size_t first = lane_of(v0, n1, rb);
    for (v = 0; v < total - v0 && v + tile_vectors(total - v0 - v, widest) <= CHUNK_VECTORS; ntiles++) {
      tiles[ntiles].n = tile_vectors(total - v0 - v, widest);
      for (size_t q = 0; q < 3; q++) {
        const size_t i = v0 + v + q < total ? v0 + v + q : total - 1, lane = lane_of(i, n1, rb);
        const int second = lane >= rb; /* a vector is all in one row: rb is a multiple of 16 */
        const size_t x = second ? lane - rb : lane;
        tiles[ntiles].out.dst[q] = out + (second ? ow : 0) + x;
        tiles[ntiles].out.mask[q] = q < tiles[ntiles].n ? lanes((ptrdiff_t)ow - (ptrdiff_t)x) : 0;
        tiles[ntiles].out.at[q] = lane - first;
      }
      v += tiles[ntiles].n;
    }
    /* The chunk's split rows: the lanes its tiles read, and one vector more for the taps' reach. */
    const size_t span = lane_of(v0 + v - 1, n1, rb) + 16 - first;
    for (size_t ci = 0, r = 0; ci < g->cin; ci++)
      for (size_t ky = 0; ky < g->kh; ky++, r++) {
        const float* src[2];
        for (size_t p = 0; p < 2; p++) {
          const ptrdiff_t y = 2 * (ptrdiff_t)(oy + p) - (ptrdiff_t)g->pad_top + (ptrdiff_t)ky;
          src[p] = (p == 0 || pair) && y >= 0 && y < (ptrdiff_t)g->ih ? in + (ci * g->ih + (size_t)y) * g->iw : NULL;
        }
        live[r] = src[0] || src[1];
        if (!live[r]) continue;
        for (size_t j = 0; j <= span; j += 16) {
          const size_t lane = first + j;
          const int second = lane >= rb;
          const ptrdiff_t x = 2 * (ptrdiff_t)(second ? lane - rb : lane) - (ptrdiff_t)g->pad_left;
          split_16(src[second], g->iw, x, e + r * SPLIT + j, o + r * SPLIT + j);
        }
      }
    switch (g->kw) {
      case 3: CHUNK_TILES(3) break;
      case 5: CHUNK_TILES(5) break;
      case 7: CHUNK_TILES(7) break;
      default: return; /* excluded by the header's contract */
    }
  }
}
#undef CHUNK_TILES

void xnn_f32_conv_chw_s2_8x48__avx512(const xnn_conv_chw_geometry* g, size_t m, size_t oy, const float* in,
                                      const float* a, const float* bias, float* out, size_t out_stride,
                                      const xnn_f32_act_params* params) {
  /* The next pair's four new input rows of each channel: in a network the image is no longer in cache, and
   * loads missing it one row at a time made ResNet-50's 7x7 layer 17% slower than alone. */
  for (size_t ci = 0; ci < g->cin; ci++)
    for (size_t r = 1; r <= 4; r++) {
      const size_t y = 2 * (oy + 1) + g->kh - 1 + r;
      if (y < g->pad_top || y - g->pad_top >= g->ih) continue;
      const char* row = (const char*)(in + (ci * g->ih + y - g->pad_top) * g->iw);
      for (size_t b = 0; b < g->iw * sizeof(float); b += 64) _mm_prefetch(row + b, _MM_HINT_T0);
    }
  if (g->cin * g->kh > MAX_ROWS) return; /* excluded by the header's contract */
  /* 3x3: each row alone, in 32-pixel tiles (see the top). */
  if (oy + 1 < g->oh && g->kw > 3) {
    run_lanes(g, m, oy, (g->ow + (g->kw - 1) / 2 + 15) / 16 * 16, in, a, bias, out, out_stride, params);
  } else {
    run_lanes(g, m, oy, SIZE_MAX, in, a, bias, out, out_stride, params);
    if (oy + 1 < g->oh) run_lanes(g, m, oy + 1, SIZE_MAX, in, a, bias, out + g->ow, out_stride, params);
  }
}
