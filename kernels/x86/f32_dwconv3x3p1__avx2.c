/* Depthwise 3x3, padding 1, strides 1 and 2, on the unpadded plane with AVX2+FMA: 8 outputs per vector.
 * A tile whose window lies inside the plane reads it with plain unaligned loads, tiles at its left or right
 * side with masked loads (lanes outside the plane read as zero and never fault).
 * Stride 1 goes one output row at a time: a row above or below the plane is replaced by a row of it with that
 * kernel row's weights zero. On Zen 3 a masked load costs about two plain ones, so a small plane (most of its
 * tiles at a side) is first copied with a zero border onto the stack (s1_small). Four rows per pass sharing
 * their input rows were slower: branchy, and an accumulator spilled.
 * Stride 2 takes four output rows per pass; rows above or below the plane are zero vectors. Two loads split
 * into even and odd columns with one in-lane shuffle each, and the accumulators stay in that shuffled order
 * (columns 0 1 4 5 | 2 3 6 7), so one cross-lane permute per output vector restores it.
 * Tails are stored in pieces (kernels/x86/store.h). */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/dwconv.h"
#include "kernels/x86/act.h"
#include "kernels/x86/store.h"

/* Row y of the plane from column x0 (r##ok: inside the plane), and its window of 8 columns from x0 + d. */
#define ROW(r, yy)                                        \
  const ptrdiff_t r##y = (yy);                            \
  const int r##ok = r##y >= 0 && r##y < (ptrdiff_t)ih;   \
  const float* r##p = in + (r##ok ? (size_t)r##y * iw : 0) + x0
#define LOAD(r, d, m) \
  (!r##ok ? _mm256_setzero_ps() : edge ? _mm256_maskload_ps(r##p + (d), m) : _mm256_loadu_ps(r##p + (d)))

/* acc += taps t0, t1, t2 times weight row k. */
#define ACC(acc, r, k)                             \
  acc = _mm256_fmadd_ps(w[3 * k + 0], r##0, acc);  \
  acc = _mm256_fmadd_ps(w[3 * k + 1], r##1, acc);  \
  acc = _mm256_fmadd_ps(w[3 * k + 2], r##2, acc)

/* The first n floats of src to dst with plain loads (the last vector overlapping the one before). */
static inline void copy_row(float* dst, const float* src, size_t n) {
  if (n >= 8) {
    size_t q = 0;
    for (; q + 8 <= n; q += 8) {
      __m256 v = _mm256_loadu_ps(src + q);
      __asm__("" : "+x"(v)); /* else GCC makes the loop a call to memcpy */
      _mm256_storeu_ps(dst + q, v);
    }
    if (q < n) _mm256_storeu_ps(dst + n - 8, _mm256_loadu_ps(src + n - 8));
    return;
  }
  if (n & 4) _mm_storeu_ps(dst, _mm_loadu_ps(src)), dst += 4, src += 4;
  /* movlps, not movsd: GCC's _mm_load_sd / _mm_store_sd dereference a double*, misaligned here (UBSan). */
  if (n & 2) _mm_storel_pi((__m64*)dst, _mm_loadl_pi(_mm_setzero_ps(), (const __m64*)src)), dst += 2, src += 2;
  if (n & 1) _mm_store_ss(dst, _mm_load_ss(src));
}

/* Small planes: rows oy0 - 1 .. oy1 into a zero-bordered copy on the stack, then nine plain loads a vector. */
enum { SMALL_FLOATS = 4096 };

/* Row stride of the copy: a tile from column x reads x .. x + 9 of the bordered row, the last tile up to
 * iw + 8. */
static inline size_t small_stride(size_t iw) { return (iw + 9 + 7) & ~(size_t)7; }

/* Scalar arguments only: with a ymm argument GCC let the caller's path back from the call skip its
 * vzeroupper, and the SSE code after it (the operator) stalled on the dirty upper halves: 3x the time. */
static void s1_small(size_t ih, size_t iw, const float* in, const float* wt, float bias,
                     const xnn_f32_act_params* params, float* out, size_t oy0, size_t oy1) {
  const __m256 vb = _mm256_set1_ps(bias);
  const xnn_act_avx2 a = xnn_act_avx2_init(params), *act = &a;
  float buf[SMALL_FLOATS] __attribute__((aligned(32)));
  const size_t S = small_stride(iw), rows = oy1 - oy0 + 2;
  __m256 zero = _mm256_setzero_ps();
  __asm__("" : "+x"(zero)); /* else GCC makes the zero rows calls to memset */
  for (size_t r = 0; r < rows; r++) {
    float* d = buf + r * S;
    const ptrdiff_t y = (ptrdiff_t)oy0 - 1 + (ptrdiff_t)r;
    if (y < 0 || y >= (ptrdiff_t)ih) {
      for (size_t q = 0; q < S; q += 8) _mm256_store_ps(d + q, zero);
      continue;
    }
    _mm256_store_ps(d, zero);
    copy_row(d + 1, in + (size_t)y * iw, iw);
    _mm256_storeu_ps(d + iw + 1, zero);
  }
  const __m256 w0 = _mm256_set1_ps(wt[0]), w1 = _mm256_set1_ps(wt[1]), w2 = _mm256_set1_ps(wt[2]);
  const __m256 w3 = _mm256_set1_ps(wt[3]), w4 = _mm256_set1_ps(wt[4]), w5 = _mm256_set1_ps(wt[5]);
  const __m256 w6 = _mm256_set1_ps(wt[6]), w7 = _mm256_set1_ps(wt[7]), w8 = _mm256_set1_ps(wt[8]);
  for (size_t oy = oy0; oy < oy1; oy++) {
    const float* r0 = buf + (oy - oy0) * S;
    const float *r1 = r0 + S, *r2 = r1 + S;
    float* o = out + oy * iw;
    for (size_t x = 0; x < iw; x += 8) {
      __m256 a = _mm256_fmadd_ps(w0, _mm256_loadu_ps(r0 + x), vb), b = _mm256_mul_ps(w1, _mm256_loadu_ps(r0 + x + 1));
      a = _mm256_fmadd_ps(w2, _mm256_loadu_ps(r0 + x + 2), a), b = _mm256_fmadd_ps(w3, _mm256_loadu_ps(r1 + x), b);
      a = _mm256_fmadd_ps(w4, _mm256_loadu_ps(r1 + x + 1), a), b = _mm256_fmadd_ps(w5, _mm256_loadu_ps(r1 + x + 2), b);
      a = _mm256_fmadd_ps(w6, _mm256_loadu_ps(r2 + x), a), b = _mm256_fmadd_ps(w7, _mm256_loadu_ps(r2 + x + 1), b);
      a = _mm256_fmadd_ps(w8, _mm256_loadu_ps(r2 + x + 2), a);
      xnn_storeu_n_avx2(o + x, xnn_act_avx2_apply(act, _mm256_add_ps(a, b)), iw - x);
    }
  }
}

void xnn_f32_dwconv3x3p1s1__avx2(size_t ih, size_t iw, const float* in, const float* wt, float bias, float* out,
                                 size_t oy0, size_t oy1, const xnn_f32_act_params* params) {
  if (oy0 >= oy1) return;
  if ((oy1 - oy0 + 2) * small_stride(iw) <= SMALL_FLOATS) {
    s1_small(ih, iw, in, wt, bias, params, out, oy0, oy1);
    return;
  }
  const __m256 vb = _mm256_set1_ps(bias);
  const xnn_act_avx2 act = xnn_act_avx2_init(params);
  for (size_t oy = oy0; oy < oy1; oy++) {
    /* Rows above or below the plane: any row of it, with that kernel row's weights zero. */
    const int top = oy > 0, bottom = oy + 1 < ih;
    const float* r0 = in + (top ? oy - 1 : oy) * iw;
    const float* r1 = in + oy * iw;
    const float* r2 = in + (bottom ? oy + 1 : oy) * iw;
    const float t = top ? 1.0f : 0.0f, b = bottom ? 1.0f : 0.0f;
    const __m256 w0 = _mm256_set1_ps(t * wt[0]), w1 = _mm256_set1_ps(t * wt[1]), w2 = _mm256_set1_ps(t * wt[2]);
    const __m256 w3 = _mm256_set1_ps(wt[3]), w4 = _mm256_set1_ps(wt[4]), w5 = _mm256_set1_ps(wt[5]);
    const __m256 w6 = _mm256_set1_ps(b * wt[6]), w7 = _mm256_set1_ps(b * wt[7]), w8 = _mm256_set1_ps(b * wt[8]);
    float* o = out + oy * iw;
    size_t x = 0;
#define TILE(L0, L1, L2)                                                             \
    {                                                                                 \
      __m256 a = _mm256_fmadd_ps(w0, L0(r0), vb);                                     \
      __m256 b = _mm256_mul_ps(w1, L1(r0));                                           \
      a = _mm256_fmadd_ps(w2, L2(r0), a);                                             \
      b = _mm256_fmadd_ps(w3, L0(r1), b);                                             \
      a = _mm256_fmadd_ps(w4, L1(r1), a);                                             \
      b = _mm256_fmadd_ps(w5, L2(r1), b);                                             \
      a = _mm256_fmadd_ps(w6, L0(r2), a);                                             \
      b = _mm256_fmadd_ps(w7, L1(r2), b);                                             \
      a = _mm256_fmadd_ps(w8, L2(r2), a);                                             \
      xnn_storeu_n_avx2(o + x, xnn_act_avx2_apply(&act, _mm256_add_ps(a, b)), iw - x); \
    }
    {
      const __m256i ml = xnn_inside_avx2(-1, iw), mc = xnn_inside_avx2(0, iw), mr = xnn_inside_avx2(1, iw);
#define EL(r) _mm256_maskload_ps(r + x - 1, ml)
#define EC(r) _mm256_maskload_ps(r + x, mc)
#define ER(r) _mm256_maskload_ps(r + x + 1, mr)
      TILE(EL, EC, ER)
    }
#define IL(r) _mm256_loadu_ps(r + x - 1)
#define IC(r) _mm256_loadu_ps(r + x)
#define IR(r) _mm256_loadu_ps(r + x + 1)
    for (x = 8; x + 9 <= iw; x += 8) TILE(IL, IC, IR)
    for (; x < iw; x += 8) {
      const __m256i ml = xnn_inside_avx2((ptrdiff_t)x - 1, iw), mc = xnn_inside_avx2((ptrdiff_t)x, iw);
      const __m256i mr = xnn_inside_avx2((ptrdiff_t)x + 1, iw);
      TILE(EL, EC, ER)
    }
  }
}

#undef TILE
#undef EL
#undef EC
#undef ER
#undef IL
#undef IC
#undef IR

/* Taps kx = 0, 1, 2 of output column i are input columns x0 - 1 + 2i, x0 + 2i, x0 + 1 + 2i, from
 * two loads at x0 (even: t1, odd: t2) and two at x0 - 1 (even: t0), in the shuffled lane order. */
#define S2TAPS(r)                                                                          \
  const __m256 r##a = LOAD(r, 0, ma), r##b = LOAD(r, 8, mb);                               \
  const __m256 r##c = LOAD(r, -1, mc), r##d = LOAD(r, 7, md);                              \
  const __m256 r##0 = _mm256_shuffle_ps(r##c, r##d, _MM_SHUFFLE(2, 0, 2, 0));              \
  const __m256 r##1 = _mm256_shuffle_ps(r##a, r##b, _MM_SHUFFLE(2, 0, 2, 0));              \
  const __m256 r##2 = _mm256_shuffle_ps(r##a, r##b, _MM_SHUFFLE(3, 1, 3, 1))

static inline __m256 unshuffle(__m256 v) {
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Output rows oy .. oy + rows - 1 (rows <= 4) of the 8 columns from ox: input rows 2oy - 1 .. 2oy + 7. */
static inline __attribute__((always_inline)) void s2_block(size_t ih, size_t iw, const float* in, const __m256 w[9],
                                                           __m256 vb, const xnn_act_avx2* act, float* out, size_t ow,
                                                           size_t oy, size_t rows, size_t ox, int edge) {
  const size_t x0 = 2 * ox;
  const __m256i ma = xnn_inside_avx2((ptrdiff_t)x0, iw), mb = xnn_inside_avx2((ptrdiff_t)x0 + 8, iw);
  const __m256i mc = xnn_inside_avx2((ptrdiff_t)x0 - 1, iw), md = xnn_inside_avx2((ptrdiff_t)x0 + 7, iw);
  const ptrdiff_t y = 2 * (ptrdiff_t)oy - 1;
  __m256 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
  { ROW(r0, y); S2TAPS(r0); ACC(a0, r0, 0); }
  { ROW(r1, y + 1); S2TAPS(r1); ACC(a0, r1, 1); }
  { ROW(r2, y + 2); S2TAPS(r2); ACC(a0, r2, 2); if (rows > 1) { ACC(a1, r2, 0); } }
  if (rows > 1) {
    { ROW(r3, y + 3); S2TAPS(r3); ACC(a1, r3, 1); }
    { ROW(r4, y + 4); S2TAPS(r4); ACC(a1, r4, 2); ACC(a2, r4, 0); }
    { ROW(r5, y + 5); S2TAPS(r5); ACC(a2, r5, 1); }
    { ROW(r6, y + 6); S2TAPS(r6); ACC(a2, r6, 2); ACC(a3, r6, 0); }
    { ROW(r7, y + 7); S2TAPS(r7); ACC(a3, r7, 1); }
    { ROW(r8, y + 8); S2TAPS(r8); ACC(a3, r8, 2); }
  }
  float* o = out + oy * ow + ox;
  const size_t n = ow - ox;
  xnn_storeu_n_avx2(o, xnn_act_avx2_apply(act, unshuffle(a0)), n);
  if (rows > 1) xnn_storeu_n_avx2(o + ow, xnn_act_avx2_apply(act, unshuffle(a1)), n);
  if (rows > 2) xnn_storeu_n_avx2(o + 2 * ow, xnn_act_avx2_apply(act, unshuffle(a2)), n);
  if (rows > 3) xnn_storeu_n_avx2(o + 3 * ow, xnn_act_avx2_apply(act, unshuffle(a3)), n);
}

void xnn_f32_dwconv3x3p1s2__avx2(size_t ih, size_t iw, const float* in, const float* wt, float bias, float* out,
                                 size_t oy0, size_t oy1, const xnn_f32_act_params* params) {
  __m256 w[9];
  for (int i = 0; i < 9; i++) w[i] = _mm256_set1_ps(wt[i]);
  const __m256 vb = _mm256_set1_ps(bias);
  const xnn_act_avx2 act = xnn_act_avx2_init(params);
  const size_t ow = (iw - 1) / 2 + 1;
  for (size_t oy = oy0; oy < oy1; oy += 4) {
    const size_t rows = oy1 - oy < 4 ? oy1 - oy : 4;
    size_t ox = 0;
    s2_block(ih, iw, in, w, vb, &act, out, ow, oy, rows, ox, 1);
    /* Inside: columns 2ox - 1 .. 2ox + 15 in the plane. */
    for (ox = 8; 2 * ox + 16 <= iw; ox += 8) s2_block(ih, iw, in, w, vb, &act, out, ow, oy, rows, ox, 0);
    for (; ox < ow; ox += 8) s2_block(ih, iw, in, w, vb, &act, out, ow, oy, rows, ox, 1);
  }
}
