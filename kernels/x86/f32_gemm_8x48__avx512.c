/* 8x48 GEMM tile with AVX-512F, the set's full tile.
 *
 * Register map: zmm accumulators c{row}{a,b,c} (8 rows x 3 vectors of 16 pixels, 24 registers); b0-b2 the
 * B row's 48 values; one broadcast weight: 28 of the 32 registers.
 *
 * Why 48 and not 32 columns: a K step is 3 loads + 8 broadcasts for 24 FMAs, where the 8x32 tile does
 * 2 + 8 for 16. Ice Lake server (two 512-bit FMA ports, two load ports) ran the 8x32 tile at 140 GFLOP/s
 * with its operands in L1 and this one at 165-169 (its FMA loop alone: 175). Weights prefetched 64 steps
 * ahead as in the other tiles: they arrive from L3 in slivers the hardware prefetchers do not follow
 * across calls. */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/act.h"

static inline __mmask16 lanes(size_t nr, size_t from) {
  return (__mmask16)(nr >= from + 16 ? 0xffff : nr <= from ? 0 : (1u << (nr - from)) - 1);
}

void xnn_f32_gemm_ukernel_8x48__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags) {
  __m512 c0a, c0b, c0c, c1a, c1b, c1c, c2a, c2b, c2c, c3a, c3b, c3c;
  __m512 c4a, c4b, c4c, c5a, c5b, c5c, c6a, c6b, c6c, c7a, c7b, c7c;
  const __mmask16 ma = lanes(nr, 0), mb = lanes(nr, 16), mc = lanes(nr, 32);
  if (flags & XNN_GEMM_ACCUMULATE) {
    /* Rows past mr alias row 0 so nothing is read outside C; their results are never stored. */
#define LOADC(i)                                                    \
  do {                                                              \
    const float* ci = c + (i < mr ? i : 0) * ldc;                   \
    c##i##a = _mm512_maskz_loadu_ps(ma, ci);                        \
    c##i##b = _mm512_maskz_loadu_ps(mb, ci + 16);                   \
    c##i##c = _mm512_maskz_loadu_ps(mc, ci + 32);                   \
  } while (0)
    LOADC(0); LOADC(1); LOADC(2); LOADC(3); LOADC(4); LOADC(5); LOADC(6); LOADC(7);
#undef LOADC
    if (flags & XNN_GEMM_ADD_BIAS) {
#define ADDB(i)                                                  \
  do {                                                           \
    const __m512 vb = _mm512_set1_ps(bias[i]);                   \
    c##i##a = _mm512_add_ps(c##i##a, vb);                        \
    c##i##b = _mm512_add_ps(c##i##b, vb);                        \
    c##i##c = _mm512_add_ps(c##i##c, vb);                        \
  } while (0)
      ADDB(0); ADDB(1); ADDB(2); ADDB(3); ADDB(4); ADDB(5); ADDB(6); ADDB(7);
#undef ADDB
    }
  } else {
#define INITB(i) c##i##a = c##i##b = c##i##c = bias ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps()
    INITB(0); INITB(1); INITB(2); INITB(3); INITB(4); INITB(5); INITB(6); INITB(7);
#undef INITB
  }
  /* Two K steps an iteration, one prefetch of the weights for the two (one 64-byte line): alone in L1 the
   * tile ran 5% faster so on an Intel Xeon (Sapphire Rapids class), at every offset of the loop in its
   * 64-byte lines (median 205 against 195 GFLOP/s); four steps an iteration, 197. */
#define STEP(i, o)                                   \
  do {                                               \
    const __m512 w = _mm512_set1_ps(a[(o) * 8 + i]); \
    c##i##a = _mm512_fmadd_ps(w, b0, c##i##a);       \
    c##i##b = _mm512_fmadd_ps(w, b1, c##i##b);       \
    c##i##c = _mm512_fmadd_ps(w, b2, c##i##c);       \
  } while (0)
#define KSTEP(o)                                                                                   \
  do {                                                                                             \
    const __m512 b0 = _mm512_loadu_ps(b + (o) * ldb);                                              \
    const __m512 b1 = _mm512_loadu_ps(b + (o) * ldb + 16);                                         \
    const __m512 b2 = _mm512_loadu_ps(b + (o) * ldb + 32);                                         \
    STEP(0, o); STEP(1, o); STEP(2, o); STEP(3, o); STEP(4, o); STEP(5, o); STEP(6, o); STEP(7, o); \
  } while (0)
  size_t p = 0;
  for (; p + 2 <= k; p += 2) {
    _mm_prefetch((const char*)(a + 512), _MM_HINT_T0);
    KSTEP(0);
    KSTEP(1);
    a += 16;
    b += 2 * ldb;
  }
  if (p < k) KSTEP(0);
#undef KSTEP
#undef STEP
  if (flags & XNN_GEMM_LAST) {
    const xnn_act_avx512 act = xnn_act_avx512_init(params);
    const int kind = xnn_act_kind(params);
#define ACT(i)                                    \
  c##i##a = xnn_act_avx512_apply(&act, c##i##a);  \
  c##i##b = xnn_act_avx512_apply(&act, c##i##b);  \
  c##i##c = xnn_act_avx512_apply(&act, c##i##c);
#define ACT_MAX(i)                              \
  c##i##a = xnn_act_avx512_max(&act, c##i##a);  \
  c##i##b = xnn_act_avx512_max(&act, c##i##b);  \
  c##i##c = xnn_act_avx512_max(&act, c##i##c);
    if (kind == XNN_ACT_FULL) {
      ACT(0) ACT(1) ACT(2) ACT(3) ACT(4) ACT(5) ACT(6) ACT(7)
    } else if (kind == XNN_ACT_MAX) {
      ACT_MAX(0) ACT_MAX(1) ACT_MAX(2) ACT_MAX(3) ACT_MAX(4) ACT_MAX(5) ACT_MAX(6) ACT_MAX(7)
    }
#undef ACT_MAX
#undef ACT
  }
#define STORE(i)                                           \
  if (i < mr) {                                            \
    _mm512_mask_storeu_ps(c + i * ldc, ma, c##i##a);       \
    _mm512_mask_storeu_ps(c + i * ldc + 16, mb, c##i##b);  \
    _mm512_mask_storeu_ps(c + i * ldc + 32, mc, c##i##c);  \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
#undef STORE
}
