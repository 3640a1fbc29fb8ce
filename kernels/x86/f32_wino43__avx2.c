/* Winograd F(4x4, 3x3) transforms with AVX2+FMA, 8 tiles at a time (one tile per lane). The matrices
 * are the family's (points 0, 1, -1, 1/2, -2, infinity; see kernels/ref/f32_wino43_ref.c).
 * Input: the 4 floats of each tile's patch row are transposed into column phases (4x4 transposes of
 * 128-bit loads); phases 4 and 5 are phases 0 and 1 rotated by one lane with the next tile's value. Maps of
 * 4 tiles a row (13x13 to 16x16) take two tile rows a call.
 * Output: the 4 column vectors of an output row are transposed back into tile-major groups of 4. */
#include <immintrin.h>
#include <string.h>

#include "kernels/winograd.h"

static inline void bt6(__m256 d0, __m256 d1, __m256 d2, __m256 d3, __m256 d4, __m256 d5, __m256 r[6]) {
  const __m256 h = _mm256_set1_ps(0.5f), t15 = _mm256_set1_ps(1.5f), two = _mm256_set1_ps(2.0f),
               t25 = _mm256_set1_ps(2.5f), zero = _mm256_setzero_ps();
  r[0] = _mm256_add_ps(_mm256_fmadd_ps(t15, _mm256_sub_ps(d3, d1), _mm256_add_ps(d0, d4)),
                       _mm256_mul_ps(two, _mm256_sub_ps(zero, d2)));
  r[1] = _mm256_add_ps(_mm256_fmadd_ps(h, d2, _mm256_sub_ps(d4, d1)), _mm256_mul_ps(t25, d3));
  r[2] = _mm256_add_ps(_mm256_fmadd_ps(h, d3, _mm256_add_ps(d4, d1)), _mm256_mul_ps(t25, _mm256_sub_ps(zero, d2)));
  r[3] = _mm256_fmadd_ps(two, _mm256_sub_ps(d3, d1), _mm256_sub_ps(d4, d2));
  r[4] = _mm256_fmadd_ps(h, _mm256_sub_ps(d1, d3), _mm256_sub_ps(d4, d2));
  r[5] = _mm256_add_ps(_mm256_fmadd_ps(t15, _mm256_sub_ps(d4, d2), _mm256_add_ps(d1, d5)),
                       _mm256_mul_ps(two, _mm256_sub_ps(zero, d3)));
}

static inline void at6(__m256 m0, __m256 m1, __m256 m2, __m256 m3, __m256 m4, __m256 m5, __m256 r[4]) {
  const __m256 a = _mm256_add_ps(m1, m2), b = _mm256_sub_ps(m1, m2);
  r[0] = _mm256_add_ps(_mm256_add_ps(m0, a), _mm256_add_ps(m3, m4));
  r[1] = _mm256_fmadd_ps(_mm256_set1_ps(0.5f), m3, _mm256_fmadd_ps(_mm256_set1_ps(-2.0f), m4, b));
  r[2] = _mm256_fmadd_ps(_mm256_set1_ps(0.25f), m3, _mm256_fmadd_ps(_mm256_set1_ps(4.0f), m4, a));
  r[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(0.125f), m3, _mm256_fmadd_ps(_mm256_set1_ps(-8.0f), m4, b)),
                       m5);
}

/* Column phases x = 4t + c, c = 0..5, of 4 tiles from each of two patch rows (reads a[0..18) and b[0..18)):
 * a's in lanes 0-3, b's in 4-7. One row's 8 tiles are a = row, b = row + 16. */
static inline void phases(const float* a, const float* b, __m256 p[6]) {
  __m128 g0 = _mm_loadu_ps(a), g1 = _mm_loadu_ps(a + 4), g2 = _mm_loadu_ps(a + 8), g3 = _mm_loadu_ps(a + 12);
  __m128 g4 = _mm_loadu_ps(b), g5 = _mm_loadu_ps(b + 4), g6 = _mm_loadu_ps(b + 8), g7 = _mm_loadu_ps(b + 12);
  _MM_TRANSPOSE4_PS(g0, g1, g2, g3);
  _MM_TRANSPOSE4_PS(g4, g5, g6, g7);
  p[0] = _mm256_set_m128(g4, g0);
  p[1] = _mm256_set_m128(g5, g1);
  p[2] = _mm256_set_m128(g6, g2);
  p[3] = _mm256_set_m128(g7, g3);
  /* Phases 4 and 5 are phases 0 and 1 of the next tile: one lane on within each half, the fourth tile's
   * from the value after the half's 16. */
  const __m256 n4 = _mm256_set_m128(_mm_set1_ps(b[16]), _mm_set1_ps(a[16]));
  const __m256 n5 = _mm256_set_m128(_mm_set1_ps(b[17]), _mm_set1_ps(a[17]));
  p[4] = _mm256_blend_ps(_mm256_permute_ps(p[0], 0x39), n4, 0x88);
  p[5] = _mm256_blend_ps(_mm256_permute_ps(p[1], 0x39), n5, 0x88);
}

/* The input transform of 8 lanes, lanes 0-3 from the patch at a and 4-7 from the one at b; the first n
 * lanes stored. */
static inline void input8(const float* a, const float* b, size_t in_stride, size_t n, float* out,
                          size_t out_stride) {
  __m256 t[6][6];
  for (int r = 0; r < 6; r++) {
    __m256 p[6];
    phases(a + (size_t)r * in_stride, b + (size_t)r * in_stride, p);
    bt6(p[0], p[1], p[2], p[3], p[4], p[5], t[r]);
  }
  for (int j = 0; j < 6; j++) {
    __m256 v[6];
    bt6(t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j], v);
    for (int i = 0; i < 6; i++) {
      float* o = out + (size_t)(6 * i + j) * out_stride;
      if (n == 8) {
        _mm256_storeu_ps(o, v[i]);
      } else {
        float lanes[8];
        _mm256_storeu_ps(lanes, v[i]);
        memcpy(o, lanes, n * sizeof(float));
      }
    }
  }
}

void xnn_f32_wino43_input__avx2(const float* in, size_t in_stride, size_t tiles, float* out, size_t out_stride) {
  for (size_t t0 = 0; t0 < tiles; t0 += 8)
    input8(in + 4 * t0, in + 4 * t0 + 16, in_stride, tiles - t0 < 8 ? tiles - t0 : 8, out + t0, out_stride);
}

/* Two rows of 4 tiles (13x13 to 16x16 maps) fill the 8 lanes, where one row a call filled half of them;
 * other widths take a call per row. */
void xnn_f32_wino43_input_rows2__avx2(const float* in0, const float* in1, size_t in_stride, size_t tiles,
                                      float* out, size_t out_stride) {
  if (tiles == 4) {
    input8(in0, in1, in_stride, 8, out, out_stride);
  } else {
    xnn_f32_wino43_input__avx2(in0, in_stride, tiles, out, out_stride);
    xnn_f32_wino43_input__avx2(in1, in_stride, tiles, out + tiles, out_stride);
  }
}

/* A^T M of 8 lanes of tiles from lane t0 of the run, and the bias and activation for out_row. */
typedef struct wino43_out {
  __m256 t[4][6]; /* A^T M: t[i][j] */
  __m256 vb, slope, lo, hi;
  int leaky; /* a fused ReLU arrives as slope 1 with min 0 */
} wino43_out;

static inline void out_columns(wino43_out* w, const float* m, size_t m_stride, size_t t0, float bias,
                               const xnn_f32_act_params* params) {
  for (int j = 0; j < 6; j++) {
    __m256 c[6], o[4];
    for (int r = 0; r < 6; r++) c[r] = _mm256_loadu_ps(m + (size_t)(6 * r + j) * m_stride + t0);
    at6(c[0], c[1], c[2], c[3], c[4], c[5], o);
    for (int i = 0; i < 4; i++) w->t[i][j] = o[i];
  }
  w->vb = _mm256_set1_ps(bias), w->slope = _mm256_set1_ps(params->slope);
  w->lo = _mm256_set1_ps(params->min), w->hi = _mm256_set1_ps(params->max);
  w->leaky = params->slope != 1.0f;
}

/* Output row i of the 8 tiles, act(A^T M A + bias): g[k] holds tile k's 4 columns. */
static inline void out_row(const wino43_out* w, size_t i, __m128 g[8]) {
  const __m256 zero = _mm256_setzero_ps();
  __m256 y[4];
  at6(w->t[i][0], w->t[i][1], w->t[i][2], w->t[i][3], w->t[i][4], w->t[i][5], y);
  for (int k = 0; k < 4; k++) {
    __m256 v = _mm256_add_ps(y[k], w->vb);
    if (w->leaky) v = _mm256_fmadd_ps(_mm256_min_ps(v, zero), w->slope, _mm256_max_ps(v, zero));
    y[k] = _mm256_min_ps(_mm256_max_ps(v, w->lo), w->hi);
  }
  /* y[k] holds column k of 8 tiles: transpose each 4-tile half into tile-major groups of 4. */
  g[0] = _mm256_castps256_ps128(y[0]), g[1] = _mm256_castps256_ps128(y[1]);
  g[2] = _mm256_castps256_ps128(y[2]), g[3] = _mm256_castps256_ps128(y[3]);
  g[4] = _mm256_extractf128_ps(y[0], 1), g[5] = _mm256_extractf128_ps(y[1], 1);
  g[6] = _mm256_extractf128_ps(y[2], 1), g[7] = _mm256_extractf128_ps(y[3], 1);
  _MM_TRANSPOSE4_PS(g[0], g[1], g[2], g[3]);
  _MM_TRANSPOSE4_PS(g[4], g[5], g[6], g[7]);
}

void xnn_f32_wino43_output__avx2(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                 size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params) {
  for (size_t t0 = 0; t0 < tiles; t0 += 8) {
    const size_t col0 = 4 * t0;
    if (col0 >= cols) break;
    wino43_out w;
    out_columns(&w, m, m_stride, t0, bias, params);
    const size_t ncols = cols - col0 < 32 ? cols - col0 : 32;
    for (size_t i = 0; i < rows; i++) {
      __m128 g[8];
      out_row(&w, i, g);
      float buf[32];
      float* o = ncols == 32 ? out + i * out_stride + col0 : buf;
      for (int k = 0; k < 8; k++) _mm_storeu_ps(o + 4 * k, g[k]);
      if (ncols < 32) memcpy(out + i * out_stride + col0, buf, ncols * sizeof(float));
    }
  }
}

/* Whole tile rows (kernels/winograd.h): lane k of a pass of 8 is tile t0 + k of the run, which is tile
 * (t0 + k) % tiles_x of tile row (t0 + k) / tiles_x; each lane's 4 columns are stored where they belong. A
 * 14x14 map's 16 tiles take 2 passes of 8 lanes where one tile row a call filled half of them. */
void xnn_f32_wino43_output_rows__avx2(const float* m, size_t m_stride, size_t tiles_x, size_t tile_rows, float bias,
                                      float* out, size_t out_stride, size_t rows, size_t cols,
                                      const xnn_f32_act_params* params) {
  const size_t total = tiles_x * tile_rows;
  for (size_t t0 = 0; t0 < total; t0 += 8) {
    wino43_out w;
    out_columns(&w, m, m_stride, t0, bias, params);
    for (size_t i = 0; i < 4; i++) {
      __m128 g[8];
      out_row(&w, i, g);
      for (size_t k = 0; k < 8 && t0 + k < total; k++) {
        const size_t q = (t0 + k) / tiles_x, c0 = 4 * ((t0 + k) % tiles_x);
        if ((q + 1 == tile_rows && i >= rows) || c0 >= cols) continue;
        float* o = out + (4 * q + i) * out_stride + c0;
        if (cols - c0 >= 4) {
          _mm_storeu_ps(o, g[k]);
        } else {
          const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32((int)(cols - c0)), _mm_setr_epi32(0, 1, 2, 3));
          _mm_maskstore_ps(o, mask, g[k]);
        }
      }
    }
  }
}
