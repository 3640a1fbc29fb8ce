/* Depthwise 3x3, padding 1, strides 1 and 2, on the unpadded plane with AVX-512F: 16 outputs per vector,
 * four output rows per pass, which share input rows. A row's window starts at the tile's first output column
 * (stride 1: one vector, stride 2: two, split into even and odd columns by permutes), so the only masked
 * loads are those at the plane's right edge; the left tap column comes from one broadcast of the element
 * before the window, and stride 1's right tap column from one broadcast after it, shifted in by valignd.
 * On Zen 5 a 64-byte load that crosses a cache line issues once a cycle against two for a broadcast, and the
 * window that started one column left (so two or three such loads per row) was a third slower. Lanes outside
 * the plane load as zero and never fault; a row above or below the plane reads as zero, so borders need no
 * branches of their own. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/dwconv.h"
#include "kernels/x86/act.h"

/* Lanes i < 16 with x0 + i < width (x0 >= 0). */
static inline __mmask16 inside(size_t x0, size_t width) {
  return (__mmask16)(width - x0 >= 16 ? 0xffffu : (1u << (width - x0)) - 1);
}

static inline __m512 align_ps(__m512 hi, __m512 lo, int n) {
  const __m512i h = _mm512_castps_si512(hi), l = _mm512_castps_si512(lo);
  return _mm512_castsi512_ps(n == 1 ? _mm512_alignr_epi32(h, l, 1) : _mm512_alignr_epi32(h, l, 15));
}

static const float zero = 0.0f;

/* Row y's window from column x0: `ok` rows inside the plane, `p` the window (or the plane's start). */
#define ROW(r, yy)                                                    \
  const ptrdiff_t r##y = (yy);                                        \
  const int r##ok = r##y >= 0 && r##y < (ptrdiff_t)ih;                \
  const float* r##p = in + (r##ok ? (size_t)r##y * iw : 0) + x0;      \
  const __m512 r##l = _mm512_set1_ps(*(r##ok && left ? r##p - 1 : &zero))

/* Stride 1: taps kx = 0, 1, 2 are columns x0 - 1 + i, x0 + i, x0 + 1 + i. */
#define S1TAPS(r)                                                                       \
  const __m512 r##1 = _mm512_maskz_loadu_ps(r##ok ? ma : 0, r##p);                      \
  const __m512 r##n = _mm512_set1_ps(*(r##ok && right ? r##p + 16 : &zero));           \
  const __m512 r##0 = align_ps(r##1, r##l, 15), r##2 = align_ps(r##n, r##1, 1)

/* Stride 2: taps kx = 0, 1, 2 are columns x0 - 1 + 2i, x0 + 2i, x0 + 1 + 2i. */
#define S2TAPS(r)                                                                       \
  const __m512 r##a = _mm512_maskz_loadu_ps(r##ok ? ma : 0, r##p);                      \
  const __m512 r##b = _mm512_maskz_loadu_ps(r##ok ? mb : 0, r##p + 16);                 \
  const __m512 r##1 = _mm512_permutex2var_ps(r##a, even, r##b);                         \
  const __m512 r##2 = _mm512_permutex2var_ps(r##a, odd, r##b);                          \
  const __m512 r##0 = align_ps(r##2, r##l, 15)

/* acc += row r's taps times weight row k. */
#define ACC(acc, r, k)                            \
  acc = _mm512_fmadd_ps(w[3 * k + 0], r##0, acc); \
  acc = _mm512_fmadd_ps(w[3 * k + 1], r##1, acc); \
  acc = _mm512_fmadd_ps(w[3 * k + 2], r##2, acc)

#define STORE4(o, stride, rows)                                                              \
  _mm512_mask_storeu_ps(o, mo, xnn_act_avx512_apply(&act, a0));                              \
  if (rows > 1) _mm512_mask_storeu_ps(o + stride, mo, xnn_act_avx512_apply(&act, a1));       \
  if (rows > 2) _mm512_mask_storeu_ps(o + 2 * stride, mo, xnn_act_avx512_apply(&act, a2));   \
  if (rows > 3) _mm512_mask_storeu_ps(o + 3 * stride, mo, xnn_act_avx512_apply(&act, a3))

/* Output rows oy..oy+3 (those from oend on not stored) of the 16 columns from x0, from six input rows; rows past
 * the plane read as zero. */
static inline void s1_block(size_t ih, size_t iw, const float* in, const __m512 w[9], __m512 vb,
                            const xnn_act_avx512* a, float* out, size_t oy, size_t oend, size_t x0) {
  const xnn_act_avx512 act = *a;
  const ptrdiff_t y = (ptrdiff_t)oy - 1;
  const size_t rows = oend - oy < 4 ? oend - oy : 4;
  const __mmask16 ma = inside(x0, iw), mo = ma;
  const int left = x0 > 0, right = x0 + 16 < iw;
  __m512 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
  { ROW(r0, y); S1TAPS(r0); ACC(a0, r0, 0); }
  { ROW(r1, y + 1); S1TAPS(r1); ACC(a0, r1, 1); ACC(a1, r1, 0); }
  { ROW(r2, y + 2); S1TAPS(r2); ACC(a0, r2, 2); ACC(a1, r2, 1); ACC(a2, r2, 0); }
  if (rows > 1) {
    { ROW(r3, y + 3); S1TAPS(r3); ACC(a1, r3, 2); ACC(a2, r3, 1); ACC(a3, r3, 0); }
    { ROW(r4, y + 4); S1TAPS(r4); ACC(a2, r4, 2); ACC(a3, r4, 1); }
    { ROW(r5, y + 5); S1TAPS(r5); ACC(a3, r5, 2); }
  }
  float* o = out + oy * iw + x0;
  STORE4(o, iw, rows);
}

/* Planes at most 7 wide (a 7x7 map: one row fills 7 of 16 lanes, and a channel took ~90 cycles) hold
 * two rows per vector, each in a half of 8 lanes whose last lane stays zero: row pair j is
 * V_j = (row 2j | row 2j + 1), the rows above and below are V_j aligned with its neighbours by 8 lanes,
 * and the left and right taps are shifts by one lane, the zero lane (or the vector's end) supplying the
 * padding. Rows come in with an expanding load of their contiguous values and go out compressed. */
static inline __mmask16 pair_lanes(size_t n, size_t rows) {
  const unsigned half = (1u << n) - 1;
  return (__mmask16)(rows > 1 ? half | half << 8 : half);
}

static inline __m512 load_pair(const float* in, size_t ih, size_t iw, size_t j) {
  if (2 * j >= ih) return _mm512_setzero_ps();
  const size_t rows = ih - 2 * j < 2 ? 1 : 2;
  const __m512 v = _mm512_maskz_loadu_ps((__mmask16)((1u << (rows * iw)) - 1), in + 2 * j * iw);
  return _mm512_maskz_expand_ps(pair_lanes(iw, rows), v);
}

/* Stores the rows of pair j that are in [oy0, oy1). */
static inline void store_pair(float* out, size_t oy0, size_t oy1, size_t ow, size_t j, __m512 v) {
  const size_t first = 2 * j < oy0 ? 1 : 0, rows = (oy1 - 2 * j < 2 ? 1 : 2) - first;
  const __m512 c = _mm512_maskz_compress_ps((__mmask16)(pair_lanes(ow, first + rows) & ~(first ? 0xffu : 0u)), v);
  _mm512_mask_storeu_ps(out + (2 * j + first) * ow, (__mmask16)((1u << (rows * ow)) - 1), c);
}

/* acc += the three taps of row vector x (left, centre, right) times weight row k. */
static inline __m512 pair_row(__m512 acc, __m512 x, const __m512 w[9], int k) {
  const __m512i xi = _mm512_castps_si512(x), zero = _mm512_setzero_si512();
  acc = _mm512_fmadd_ps(w[3 * k + 0], _mm512_castsi512_ps(_mm512_alignr_epi32(xi, zero, 15)), acc);
  acc = _mm512_fmadd_ps(w[3 * k + 1], x, acc);
  return _mm512_fmadd_ps(w[3 * k + 2], _mm512_castsi512_ps(_mm512_alignr_epi32(zero, xi, 1)), acc);
}

static void s1_pairs(size_t ih, size_t iw, const float* in, const __m512 w[9], __m512 vb,
                     const xnn_act_avx512* act, float* out, size_t oy0, size_t oy1) {
  const size_t j0 = oy0 / 2, pairs = (oy1 + 1) / 2;
  __m512 prev = j0 ? load_pair(in, ih, iw, j0 - 1) : _mm512_setzero_ps(), cur = load_pair(in, ih, iw, j0);
  for (size_t j = j0; j < pairs; j++) {
    const __m512 next = load_pair(in, ih, iw, j + 1);
    const __m512i ci = _mm512_castps_si512(cur);
    const __m512 up = _mm512_castsi512_ps(_mm512_alignr_epi32(ci, _mm512_castps_si512(prev), 8));
    const __m512 down = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(next), ci, 8));
    /* The left and right taps of the three rows are summed before they are shifted (a shift is linear, and
     * the zero lanes stay zero), so two shifts per vector instead of six; three chains of three
     * multiply-adds, not one of nine: a 7x7 plane is only four such vectors. */
    const __m512 l = _mm512_fmadd_ps(w[6], down, _mm512_fmadd_ps(w[3], cur, _mm512_mul_ps(w[0], up)));
    const __m512 c = _mm512_fmadd_ps(w[7], down, _mm512_fmadd_ps(w[4], cur, _mm512_fmadd_ps(w[1], up, vb)));
    const __m512 r = _mm512_fmadd_ps(w[8], down, _mm512_fmadd_ps(w[5], cur, _mm512_mul_ps(w[2], up)));
    const __m512i zero = _mm512_setzero_si512();
    const __m512 acc = _mm512_add_ps(
        _mm512_add_ps(c, _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(l), zero, 15))),
        _mm512_castsi512_ps(_mm512_alignr_epi32(zero, _mm512_castps_si512(r), 1)));
    store_pair(out, oy0, oy1, iw, j, xnn_act_avx512_apply(act, acc));
    prev = cur, cur = next;
  }
}

/* Stride 2 on planes at most 14 wide (at most 7 output columns: a 14x14 -> 7x7 layer) in the same two-row
 * layout for the output: output rows 2j and 2j + 1 read input rows 4j - 1 .. 4j + 1 and 4j + 1 .. 4j + 3,
 * and each tap is one two-source permute of the two input rows it needs (lane x: column 2x - 1 + kx of
 * the first, lane 8 + x: of the second; the left tap's lanes 0 and 8, column -1, zeroed). */
static inline __m512 load_row(const float* in, size_t ih, size_t iw, ptrdiff_t y) {
  return y >= 0 && y < (ptrdiff_t)ih ? _mm512_maskz_loadu_ps((__mmask16)((1u << iw) - 1), in + (size_t)y * iw)
                                     : _mm512_setzero_ps();
}

static void s2_pairs(size_t ih, size_t iw, const float* in, const __m512 w[9], __m512 vb,
                     const xnn_act_avx512* act, float* out, size_t oy0, size_t oy1) {
  const __m512i left = _mm512_setr_epi32(0, 1, 3, 5, 7, 9, 11, 13, 0, 17, 19, 21, 23, 25, 27, 29);
  const __m512i centre = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i right = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const size_t ow = (iw - 1) / 2 + 1;
  __m512 r0 = load_row(in, ih, iw, 4 * (ptrdiff_t)(oy0 / 2) - 1);
  for (size_t j = oy0 / 2; 2 * j < oy1; j++) {
    const ptrdiff_t y = 4 * (ptrdiff_t)j;
    const __m512 r1 = load_row(in, ih, iw, y), r2 = load_row(in, ih, iw, y + 1);
    const __m512 r3 = load_row(in, ih, iw, y + 2), r4 = load_row(in, ih, iw, y + 3);
    /* Rows (r0, r2), (r1, r3), (r2, r4) for ky = 0, 1, 2. */
    const __m512 a[3] = {r0, r1, r2}, b[3] = {r2, r3, r4};
    __m512 acc[3];
    for (int k = 0; k < 3; k++) { /* one chain per kernel row, as in s1_pairs */
      acc[k] = _mm512_mul_ps(w[3 * k + 0], _mm512_maskz_permutex2var_ps(0xfefe, a[k], left, b[k]));
      acc[k] = _mm512_fmadd_ps(w[3 * k + 1], _mm512_permutex2var_ps(a[k], centre, b[k]), acc[k]);
      acc[k] = _mm512_fmadd_ps(w[3 * k + 2], _mm512_permutex2var_ps(a[k], right, b[k]), acc[k]);
    }
    const __m512 sum = _mm512_add_ps(_mm512_add_ps(vb, acc[0]), _mm512_add_ps(acc[1], acc[2]));
    store_pair(out, oy0, oy1, ow, j, xnn_act_avx512_apply(act, sum));
    r0 = r4;
  }
}

/* Stride 1 walks a small plane (28x28 and under) a column of tiles at a time, so each tile's masks are set
 * once, and a larger one a band of rows at a time, its rows written in order: MobileNet v1 in one process,
 * each order was 9-12% slower than the other on the 112x112 and 56x56 planes, 3-20% on the small ones. */
#define XNN_DW_BAND_PLANE_FLOATS 2048

void xnn_f32_dwconv3x3p1s1__avx512(size_t ih, size_t iw, const float* in, const float* wt, float bias, float* out,
                                   size_t oy0, size_t oy1, const xnn_f32_act_params* params) {
  __m512 w[9];
  for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(wt[i]);
  const __m512 vb = _mm512_set1_ps(bias);
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  if (oy0 >= oy1) return;
  if (iw <= 7) {
    s1_pairs(ih, iw, in, w, vb, &act, out, oy0, oy1);
  } else if (ih * iw <= XNN_DW_BAND_PLANE_FLOATS) {
    for (size_t x0 = 0; x0 < iw; x0 += 16)
      for (size_t oy = oy0; oy < oy1; oy += 4) s1_block(ih, iw, in, w, vb, &act, out, oy, oy1, x0);
  } else {
    for (size_t oy = oy0; oy < oy1; oy += 4)
      for (size_t x0 = 0; x0 < iw; x0 += 16) s1_block(ih, iw, in, w, vb, &act, out, oy, oy1, x0);
  }
}

/* Output rows oy..oy+3 of the 16 columns from ox (input rows 2oy-1 .. 2oy+7, columns 2ox-1 .. 2ox+31). */
#define S2_BLOCK4                                                                                       \
  const ptrdiff_t y = 2 * (ptrdiff_t)oy - 1;                                                            \
  __m512 a0 = vb, a1 = vb, a2 = vb, a3 = vb;                                                            \
  { ROW(r0, y); S2TAPS(r0); ACC(a0, r0, 0); }                                                          \
  { ROW(r1, y + 1); S2TAPS(r1); ACC(a0, r1, 1); }                                                      \
  { ROW(r2, y + 2); S2TAPS(r2); ACC(a0, r2, 2); ACC(a1, r2, 0); }                                      \
  { ROW(r3, y + 3); S2TAPS(r3); ACC(a1, r3, 1); }                                                      \
  { ROW(r4, y + 4); S2TAPS(r4); ACC(a1, r4, 2); ACC(a2, r4, 0); }                                      \
  { ROW(r5, y + 5); S2TAPS(r5); ACC(a2, r5, 1); }                                                      \
  { ROW(r6, y + 6); S2TAPS(r6); ACC(a2, r6, 2); ACC(a3, r6, 0); }                                      \
  { ROW(r7, y + 7); S2TAPS(r7); ACC(a3, r7, 1); }                                                      \
  { ROW(r8, y + 8); S2TAPS(r8); ACC(a3, r8, 2); }                                                      \
  float* o = out + oy * ow + ox;                                                                        \
  STORE4(o, ow, 4)

/* The masks of the tile from output column ox. */
#define S2_TILE                                                                                         \
  const size_t x0 = 2 * ox;                                                                             \
  const __mmask16 ma = inside(x0, iw), mb = x0 + 16 < iw ? inside(x0 + 16, iw) : 0, mo = inside(ox, ow); \
  const int left = ox > 0

void xnn_f32_dwconv3x3p1s2__avx512(size_t ih, size_t iw, const float* in, const float* wt, float bias, float* out,
                                   size_t oy0, size_t oy1, const xnn_f32_act_params* params) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  __m512 w[9];
  for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(wt[i]);
  const __m512 vb = _mm512_set1_ps(bias);
  const xnn_act_avx512 act = xnn_act_avx512_init(params);
  if (oy0 >= oy1) return;
  if (iw <= 14) {
    s2_pairs(ih, iw, in, w, vb, &act, out, oy0, oy1);
    return;
  }
  const size_t ow = (iw - 1) / 2 + 1, oh4 = oy0 + (oy1 - oy0) / 4 * 4;
  /* Tiles outside, rows inside for any plane: each tile's masks are set once (rows outside were slower here
   * even on 112x112). Four-row blocks, then a separate one-row loop for the last rows: a four-row body with
   * conditions inside was 5-10% slower. */
  for (size_t ox = 0; ox < ow; ox += 16) {
    S2_TILE;
    for (size_t oy = oy0; oy < oh4; oy += 4) { S2_BLOCK4; }
    for (size_t oy = oh4; oy < oy1; oy++) {
      const ptrdiff_t y = 2 * (ptrdiff_t)oy - 1;
      __m512 a0 = vb;
      { ROW(r0, y); S2TAPS(r0); ACC(a0, r0, 0); }
      { ROW(r1, y + 1); S2TAPS(r1); ACC(a0, r1, 1); }
      { ROW(r2, y + 2); S2TAPS(r2); ACC(a0, r2, 2); }
      _mm512_mask_storeu_ps(out + oy * ow + ox, mo, xnn_act_avx512_apply(&act, a0));
    }
  }
}
