/* Depthwise 3x3, padding 1, strides 1 and 2, on the unpadded plane with AVX2+FMA: 8 outputs per vector.
 * A tile whose window lies inside the plane reads it with plain unaligned loads, tiles at its left or right
 * side with masked loads (lanes outside the plane read as zero and never fault).
 * Stride 1 goes one output row at a time: a row above or below the plane is replaced by a row of it with that
 * kernel row's weights zero. On Zen 3 a masked load costs about two plain ones, so a small plane (most of its
 * tiles at a side) is first copied with a zero border onto the stack (s1_small). Four rows per pass sharing
 * their input rows were slower: branchy, and an accumulator spilled.
 * Stride 2 splits the input rows into their odd and even columns on the stack first (see there).
 * Tails are stored in pieces (kernels/x86/store.h). */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/dwconv.h"
#include "kernels/x86/act.h"
#include "kernels/x86/store.h"

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

/* Stride 2: output rows in chunks, output columns in strips of at most S2_STRIP. Each input row of a chunk
 * is first split into its odd and even columns on the stack (e: column 2(xs + k) - 1 at k, o: column
 * 2(xs + k)), so that the taps of output columns xs + k .. + 7 are the plain loads e + k, o + k and e + k + 1.
 * Reading the plane directly took four loads, three shuffles and a lane permute per row and vector, with
 * masked loads in every tile of a plane up to 32 columns wide: 0.61x the time on 28x28 planes (Zen 3), 0.8x
 * on 14x14 and 56x56, 0.9x on 112x112 (where most tiles had been inside the plane). */
enum { S2_FLOATS = 4096, S2_STRIP = 256 };

/* Columns 2xs - 1 .. 2(xs + n) - 1 of row src (iw wide) into e[0 .. n] and o[0 .. n - 1]; columns past the
 * row read as zero, and so do the floats after them up to the next whole vector (the tail's masked loads). */
static inline void split_row(float* e, float* o, const float* src, size_t iw, size_t xs, size_t n) {
  const float* p = src + 2 * xs;
  const size_t len = iw - 2 * xs < 2 * n ? iw - 2 * xs : 2 * n;
  size_t x = 0;
  for (; x + 16 <= len; x += 16) {
    const __m256 a = _mm256_loadu_ps(p + x), b = _mm256_loadu_ps(p + x + 8);
    _mm256_storeu_ps(o + x / 2, xnn_even_avx2(a, b));
    _mm256_storeu_ps(e + x / 2 + 1, xnn_odd_avx2(a, b));
  }
  if (x < len) {
    const __m256 a = _mm256_maskload_ps(p + x, xnn_inside_avx2(0, len - x));
    const __m256 b = _mm256_maskload_ps(p + x + 8, xnn_inside_avx2(8, len - x));
    _mm256_storeu_ps(o + x / 2, xnn_even_avx2(a, b));
    _mm256_storeu_ps(e + x / 2 + 1, xnn_odd_avx2(a, b));
  }
  e[0] = xs > 0 ? p[-1] : 0.0f;
}

void xnn_f32_dwconv3x3p1s2__avx2(size_t ih, size_t iw, const float* in, const float* wt, float bias, float* out,
                                 size_t oy0, size_t oy1, const xnn_f32_act_params* params) {
  float buf[S2_FLOATS] __attribute__((aligned(32)));
  const size_t ow = (iw - 1) / 2 + 1;
  const __m256 vb = _mm256_set1_ps(bias);
  const xnn_act_avx2 a_ = xnn_act_avx2_init(params), *act = &a_;
  const __m256 w0 = _mm256_set1_ps(wt[0]), w1 = _mm256_set1_ps(wt[1]), w2 = _mm256_set1_ps(wt[2]);
  const __m256 w3 = _mm256_set1_ps(wt[3]), w4 = _mm256_set1_ps(wt[4]), w5 = _mm256_set1_ps(wt[5]);
  const __m256 w6 = _mm256_set1_ps(wt[6]), w7 = _mm256_set1_ps(wt[7]), w8 = _mm256_set1_ps(wt[8]);
  __m256 zero = _mm256_setzero_ps();
  __asm__("" : "+x"(zero)); /* else GCC makes the zero rows calls to memset */
  for (size_t xs = 0; xs < ow; xs += S2_STRIP) {
    const size_t n = ow - xs < S2_STRIP ? ow - xs : S2_STRIP;
    /* e reads up to e[n rounded up to 8], o up to o[that - 1]; both start on a vector. */
    const size_t half = ((n + 7) & ~(size_t)7) + 8, row = 2 * half;
    const size_t chunk = (S2_FLOATS / row - 1) / 2; /* output rows: 2 chunk + 1 input rows fit */
    for (size_t c0 = oy0; c0 < oy1; c0 += chunk) {
      const size_t c1 = oy1 - c0 < chunk ? oy1 : c0 + chunk;
      for (size_t r = 0; r < 2 * (c1 - c0) + 1; r++) {
        float* e = buf + r * row;
        const ptrdiff_t y = 2 * (ptrdiff_t)c0 - 1 + (ptrdiff_t)r;
        if (y < 0 || y >= (ptrdiff_t)ih) {
          for (size_t q = 0; q < row; q += 8) _mm256_store_ps(e + q, zero);
          continue;
        }
        split_row(e, e + half, in + (size_t)y * iw, iw, xs, n);
      }
      for (size_t oy = c0; oy < c1; oy++) {
        const float* e0 = buf + 2 * (oy - c0) * row;
        const float *e1 = e0 + row, *e2 = e1 + row;
        const float *o0 = e0 + half, *o1 = e1 + half, *o2 = e2 + half;
        float* o = out + oy * ow + xs;
        for (size_t x = 0; x < n; x += 8) {
          __m256 a = _mm256_fmadd_ps(w0, _mm256_load_ps(e0 + x), vb), b = _mm256_mul_ps(w1, _mm256_load_ps(o0 + x));
          a = _mm256_fmadd_ps(w2, _mm256_loadu_ps(e0 + x + 1), a), b = _mm256_fmadd_ps(w3, _mm256_load_ps(e1 + x), b);
          a = _mm256_fmadd_ps(w4, _mm256_load_ps(o1 + x), a), b = _mm256_fmadd_ps(w5, _mm256_loadu_ps(e1 + x + 1), b);
          a = _mm256_fmadd_ps(w6, _mm256_load_ps(e2 + x), a), b = _mm256_fmadd_ps(w7, _mm256_load_ps(o2 + x), b);
          a = _mm256_fmadd_ps(w8, _mm256_loadu_ps(e2 + x + 1), a);
          xnn_storeu_n_avx2(o + x, xnn_act_avx2_apply(act, _mm256_add_ps(a, b)), n - x);
        }
      }
    }
  }
}
