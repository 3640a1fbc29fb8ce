/* Winograd F(4x4, 3x3) transforms with AVX-512F, 16 tiles at a time (one tile per lane). The matrices
 * are the family's (points 0, 1, -1, 1/2, -2, infinity; see kernels/ref/f32_wino43_ref.c).
 *
 * Input: each patch row is read as 64+ contiguous floats and split into the six column phases
 * x = 4t + c (c = 0..5) with two-source permutes; then B^T is applied along rows and along columns.
 * Output: A^T is applied along columns and rows, and the four column vectors of each output row are
 * interleaved back into 64 contiguous floats with in-lane unpacks and 128-bit block shuffles; on maps of at
 * most 8 tiles a row the 16 lanes hold several tile rows, each cut out of those 64 floats. */
#include <immintrin.h>

#include "kernels/winograd.h"

static inline __mmask16 lanes(size_t n) { return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1); }

/* r = B^T applied to (d0..d5). */
#define BT6(d0, d1, d2, d3, d4, d5, r)                                                                        \
  do {                                                                                                        \
    const __m512 h = _mm512_set1_ps(0.5f), t15 = _mm512_set1_ps(1.5f), two = _mm512_set1_ps(2.0f),          \
                 t25 = _mm512_set1_ps(2.5f);                                                                  \
    r[0] = _mm512_add_ps(_mm512_fmadd_ps(t15, _mm512_sub_ps(d3, d1), _mm512_add_ps(d0, d4)),                 \
                         _mm512_mul_ps(two, _mm512_sub_ps(_mm512_setzero_ps(), d2)));                         \
    r[1] = _mm512_add_ps(_mm512_fmadd_ps(h, d2, _mm512_sub_ps(d4, d1)), _mm512_mul_ps(t25, d3));             \
    r[2] = _mm512_add_ps(_mm512_fmadd_ps(h, d3, _mm512_add_ps(d4, d1)), _mm512_mul_ps(t25, _mm512_sub_ps(_mm512_setzero_ps(), d2))); \
    r[3] = _mm512_fmadd_ps(two, _mm512_sub_ps(d3, d1), _mm512_sub_ps(d4, d2));                               \
    r[4] = _mm512_fmadd_ps(h, _mm512_sub_ps(d1, d3), _mm512_sub_ps(d4, d2));                                 \
    r[5] = _mm512_add_ps(_mm512_fmadd_ps(t15, _mm512_sub_ps(d4, d2), _mm512_add_ps(d1, d5)),                 \
                         _mm512_mul_ps(two, _mm512_sub_ps(_mm512_setzero_ps(), d3)));                         \
  } while (0)

/* The input transform of 16 lanes of tiles. For patch row r, LOADS sets v0, v1 (the 32 floats whose column
 * phases go to lanes 0-7), v2, v3 (lanes 8-15) and v4 (the next 16, which phases 4 and 5 of lane 15 read);
 * STORE(e, v) stores operand e. */
#define WINO43_INPUT_BODY(LOADS, STORE)                                                                     \
  do {                                                                                                        \
    const __m512i ph0 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);              \
    const __m512i ph1 = _mm512_add_epi32(ph0, _mm512_set1_epi32(1));                                        \
    const __m512i ph2 = _mm512_add_epi32(ph0, _mm512_set1_epi32(2));                                        \
    const __m512i ph3 = _mm512_add_epi32(ph0, _mm512_set1_epi32(3));                                        \
    const __m512i shift0 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);        \
    const __m512i shift1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);        \
    __m512 t[6][6]; /* t = (rows of d) B: t[r][j] */                                                         \
    for (int r = 0; r < 6; r++) {                                                                             \
      __m512 v0, v1, v2, v3, v4;                                                                              \
      LOADS;                                                                                                  \
      const __m512 p0 = PHASE(ph0), p1 = PHASE(ph1), p2 = PHASE(ph2), p3 = PHASE(ph3);                        \
      const __m512 p4 = _mm512_permutex2var_ps(p0, shift0, v4);                                               \
      const __m512 p5 = _mm512_permutex2var_ps(p1, shift1, v4);                                               \
      BT6(p0, p1, p2, p3, p4, p5, t[r]);                                                                      \
    }                                                                                                         \
    for (int j = 0; j < 6; j++) {                                                                             \
      __m512 v[6];                                                                                            \
      BT6(t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j], v);                                           \
      for (int i = 0; i < 6; i++) {                                                                           \
        STORE(6 * i + j, v[i]);                                                                               \
      }                                                                                                       \
    }                                                                                                         \
  } while (0)
#define PHASE(idx) \
  _mm512_shuffle_f32x4(_mm512_permutex2var_ps(v0, idx, v1), _mm512_permutex2var_ps(v2, idx, v3), 0x44)

void xnn_f32_wino43_input__avx512(const float* in, size_t in_stride, size_t tiles, float* out,
                                  size_t out_stride) {
  const __mmask16 m = lanes(tiles);
#define LOADS                                                                                      \
  const float* row = in + (size_t)r * in_stride;                                                   \
  v0 = _mm512_loadu_ps(row), v1 = _mm512_loadu_ps(row + 16), v2 = _mm512_loadu_ps(row + 32);     \
  v3 = _mm512_loadu_ps(row + 48), v4 = _mm512_loadu_ps(row + 64)
#define STORE(e, v) _mm512_mask_storeu_ps(out + (size_t)(e) * out_stride, m, v)
  WINO43_INPUT_BODY(LOADS, STORE);
#undef LOADS
#undef STORE
}

/* Two rows of at most 7 tiles each (a map of up to 28 columns): row 0's tiles in lanes 0-6 from `in0`, row
 * 1's in lanes 8-14 from `in1`, each row's patch read as its own 32 floats (lane 7 and those past `tiles`
 * in each half compute nothing anyone reads), stored as one run of 2 x tiles: half the calls, where one row
 * a call left at least 9 of 16 lanes idle. */
void xnn_f32_wino43_input_rows2__avx512(const float* in0, const float* in1, size_t in_stride, size_t tiles,
                                        float* out, size_t out_stride) {
  const __mmask16 rows = (__mmask16)(lanes(tiles) | lanes(tiles) << 8), both = lanes(2 * tiles);
#define LOADS                                                                                      \
  const float *ra = in0 + (size_t)r * in_stride, *rb = in1 + (size_t)r * in_stride;               \
  v0 = _mm512_loadu_ps(ra), v1 = _mm512_loadu_ps(ra + 16), v2 = _mm512_loadu_ps(rb);              \
  v3 = _mm512_loadu_ps(rb + 16), v4 = _mm512_setzero_ps()
#define STORE(e, v) _mm512_mask_storeu_ps(out + (size_t)(e) * out_stride, both, _mm512_maskz_compress_ps(rows, v))
  WINO43_INPUT_BODY(LOADS, STORE);
#undef LOADS
#undef STORE
}
#undef PHASE

/* r = A^T applied to (m0..m5). */
#define AT6(m0, m1, m2, m3, m4, m5, r)                                                         \
  do {                                                                                         \
    const __m512 a = _mm512_add_ps(m1, m2), b = _mm512_sub_ps(m1, m2);                         \
    r[0] = _mm512_add_ps(_mm512_add_ps(m0, a), _mm512_add_ps(m3, m4));                         \
    r[1] = _mm512_fmadd_ps(_mm512_set1_ps(0.5f), m3, _mm512_fmadd_ps(_mm512_set1_ps(-2.0f), m4, b)); \
    r[2] = _mm512_fmadd_ps(_mm512_set1_ps(0.25f), m3, _mm512_fmadd_ps(_mm512_set1_ps(4.0f), m4, a)); \
    r[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(0.125f), m3,                           \
                                         _mm512_fmadd_ps(_mm512_set1_ps(-8.0f), m4, b)), m5);  \
  } while (0)

/* act(A^T M A + bias) of the 16 lanes' tiles: for output row i (< 4) of every tile, the 4 columns of lane l
 * at floats 4l .. 4l + 3 of z[0..3] (64 floats; z[4] zero). */
typedef struct wino43_out {
  __m512 t[4][6]; /* A^T M: t[i][j] */
  __m512 vb, slope, lo, hi;
  int leaky;
} wino43_out;

static inline void out_columns(wino43_out* w, const float* m, size_t m_stride, float bias,
                               const xnn_f32_act_params* params) {
  for (int j = 0; j < 6; j++) {
    __m512 c[6];
    for (int r = 0; r < 6; r++) c[r] = _mm512_loadu_ps(m + (size_t)(6 * r + j) * m_stride);
    __m512 o[4];
    AT6(c[0], c[1], c[2], c[3], c[4], c[5], o);
    for (int i = 0; i < 4; i++) w->t[i][j] = o[i];
  }
  w->vb = _mm512_set1_ps(bias), w->slope = _mm512_set1_ps(params->slope);
  w->lo = _mm512_set1_ps(params->min), w->hi = _mm512_set1_ps(params->max);
  w->leaky = params->slope != 1.0f;
}

static inline void out_row(const wino43_out* w, size_t i, __m512 z[5]) {
  const __m512 zero = _mm512_setzero_ps();
  __m512 y[4];
  AT6(w->t[i][0], w->t[i][1], w->t[i][2], w->t[i][3], w->t[i][4], w->t[i][5], y);
  for (int k = 0; k < 4; k++) {
    __m512 v = _mm512_add_ps(y[k], w->vb);
    if (w->leaky) v = _mm512_add_ps(_mm512_max_ps(v, zero), _mm512_mul_ps(_mm512_min_ps(v, zero), w->slope));
    y[k] = _mm512_min_ps(_mm512_max_ps(v, w->lo), w->hi);
  }
  /* Interleave: y[k] holds column k of 16 tiles; memory wants tile-major groups of 4 columns. */
  const __m512 ab_lo = _mm512_unpacklo_ps(y[0], y[1]), ab_hi = _mm512_unpackhi_ps(y[0], y[1]);
  const __m512 cd_lo = _mm512_unpacklo_ps(y[2], y[3]), cd_hi = _mm512_unpackhi_ps(y[2], y[3]);
  const __m512 x0 = _mm512_shuffle_ps(ab_lo, cd_lo, 0x44), x1 = _mm512_shuffle_ps(ab_lo, cd_lo, 0xee);
  const __m512 x2 = _mm512_shuffle_ps(ab_hi, cd_hi, 0x44), x3 = _mm512_shuffle_ps(ab_hi, cd_hi, 0xee);
  const __m512 y0 = _mm512_shuffle_f32x4(x0, x1, 0x44), y1 = _mm512_shuffle_f32x4(x2, x3, 0x44);
  const __m512 y2 = _mm512_shuffle_f32x4(x0, x1, 0xee), y3 = _mm512_shuffle_f32x4(x2, x3, 0xee);
  z[0] = _mm512_shuffle_f32x4(y0, y1, 0x88), z[1] = _mm512_shuffle_f32x4(y0, y1, 0xdd);
  z[2] = _mm512_shuffle_f32x4(y2, y3, 0x88), z[3] = _mm512_shuffle_f32x4(y2, y3, 0xdd);
  z[4] = zero;
}

void xnn_f32_wino43_output__avx512(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                   size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params) {
  wino43_out w;
  out_columns(&w, m, m_stride, bias, params);
  (void)tiles;
  for (size_t i = 0; i < rows; i++) {
    __m512 z[5];
    out_row(&w, i, z);
    float* o = out + i * out_stride;
    _mm512_mask_storeu_ps(o, lanes(cols), z[0]);
    if (cols > 16) _mm512_mask_storeu_ps(o + 16, lanes(cols - 16), z[1]);
    if (cols > 32) _mm512_mask_storeu_ps(o + 32, lanes(cols - 32), z[2]);
    if (cols > 48) _mm512_mask_storeu_ps(o + 48, lanes(cols - 48), z[3]);
  }
}

/* Tile row q's output row i is the run of 4 * tiles_x floats at 4 * q * tiles_x of the interleaved row: one
 * register where a tile row is 16 floats (4 tiles), else two-source permutes of the two it straddles. */
void xnn_f32_wino43_output_rows__avx512(const float* m, size_t m_stride, size_t tiles_x, size_t tile_rows,
                                        float bias, float* out, size_t out_stride, size_t rows, size_t cols,
                                        const xnn_f32_act_params* params) {
  wino43_out w;
  out_columns(&w, m, m_stride, bias, params);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (size_t i = 0; i < 4; i++) {
    __m512 z[5];
    out_row(&w, i, z);
    for (size_t q = 0; q < tile_rows && (q + 1 < tile_rows || i < rows); q++) {
      float* o = out + (4 * q + i) * out_stride;
      for (size_t c0 = 0; c0 < cols; c0 += 16) {
        const size_t f = 4 * q * tiles_x + c0, a = f / 16, sh = f % 16;
        const __m512 v =
            sh ? _mm512_permutex2var_ps(z[a], _mm512_add_epi32(iota, _mm512_set1_epi32((int)sh)), z[a + 1]) : z[a];
        _mm512_mask_storeu_ps(o + c0, lanes(cols - c0), v);
      }
    }
  }
}
