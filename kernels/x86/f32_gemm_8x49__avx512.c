/* 8x49 GEMM tile with AVX-512F, the config's wide tile, for a 7x7 map's 49 pixels (and a 28x28 map's 49
 * Winograd tiles).
 *
 * Register map: zmm accumulators c{row}{a,b,c} for columns 0-47 (8 rows x 3 vectors of 16 pixels, 24
 * registers); b0-b2 the B row's first 48 values; one broadcast weight; ymm cx the 49th column's 8 rows
 * (vector along the rows) and one ymm of the step's 8 weights: 30 of the 32 registers.
 *
 * Why: on the 8x32 tile the 49 columns were 32 + 17, the 17 on the tail tile (vectors along the rows: 20
 * columns' FMAs for 17, two weight streams), and a 7x7 1024 -> 1024 layer took 0.41 ms where 49 columns at
 * the 8x32 tile's rate take 0.36; as 48 + a separate one-column GEMV it took 0.40, the GEMV 10% of the
 * layer for 2% of its work (it re-reads the weight panel, by then out of L1). The 49th column costs one
 * ymm FMA per K step next to 24 zmm ones. Weights prefetched 64 steps ahead as in the 8x32 tile. */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/act.h"

static inline __mmask16 lanes(size_t nr, size_t from) {
  return (__mmask16)(nr >= from + 16 ? 0xffff : nr <= from ? 0 : (1u << (nr - from)) - 1);
}

void xnn_f32_gemm_ukernel_8x49__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags) {
  __m512 c0a, c0b, c0c, c1a, c1b, c1c, c2a, c2b, c2c, c3a, c3b, c3c;
  __m512 c4a, c4b, c4c, c5a, c5b, c5c, c6a, c6b, c6c, c7a, c7b, c7c;
  __m256 cx;
  const __mmask16 ma = lanes(nr, 0), mb = lanes(nr, 16), mc = lanes(nr, 32);
  const int extra = nr > 48;
  float col[8];
  if (flags & XNN_GEMM_ACCUMULATE) {
    /* Rows past mr alias row 0 so nothing is read outside C; their results are never stored. */
#define LOADC(i)                                                    \
  do {                                                              \
    const float* ci = c + (i < mr ? i : 0) * ldc;                   \
    c##i##a = _mm512_maskz_loadu_ps(ma, ci);                        \
    c##i##b = _mm512_maskz_loadu_ps(mb, ci + 16);                   \
    c##i##c = _mm512_maskz_loadu_ps(mc, ci + 32);                   \
    col[i] = extra ? ci[48] : 0.0f;                                 \
  } while (0)
    LOADC(0); LOADC(1); LOADC(2); LOADC(3); LOADC(4); LOADC(5); LOADC(6); LOADC(7);
#undef LOADC
    cx = _mm256_loadu_ps(col);
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
      cx = _mm256_add_ps(cx, _mm256_loadu_ps(bias));
    }
  } else {
#define INITB(i) c##i##a = c##i##b = c##i##c = bias ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps()
    INITB(0); INITB(1); INITB(2); INITB(3); INITB(4); INITB(5); INITB(6); INITB(7);
#undef INITB
    cx = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
  }
  for (size_t p = 0; p < k; p++) {
    _mm_prefetch((const char*)(a + 512), _MM_HINT_T0);
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
    const __m512 b2 = _mm512_loadu_ps(b + 32);
    cx = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_broadcast_ss(b + 48), cx);
    b += ldb;
#define STEP(i)                                   \
  do {                                            \
    const __m512 w = _mm512_set1_ps(a[i]);        \
    c##i##a = _mm512_fmadd_ps(w, b0, c##i##a);    \
    c##i##b = _mm512_fmadd_ps(w, b1, c##i##b);    \
    c##i##c = _mm512_fmadd_ps(w, b2, c##i##c);    \
  } while (0)
    STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5); STEP(6); STEP(7);
#undef STEP
    a += 8;
  }
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
      cx = _mm512_castps512_ps256(xnn_act_avx512_apply(&act, _mm512_zextps256_ps512(cx)));
    } else if (kind == XNN_ACT_MAX) {
      ACT_MAX(0) ACT_MAX(1) ACT_MAX(2) ACT_MAX(3) ACT_MAX(4) ACT_MAX(5) ACT_MAX(6) ACT_MAX(7)
      cx = _mm256_max_ps(cx, _mm512_castps512_ps256(act.lo));
    }
#undef ACT_MAX
#undef ACT
  }
  _mm256_storeu_ps(col, cx);
#define STORE(i)                                           \
  if (i < mr) {                                            \
    _mm512_mask_storeu_ps(c + i * ldc, ma, c##i##a);       \
    _mm512_mask_storeu_ps(c + i * ldc + 16, mb, c##i##b);  \
    _mm512_mask_storeu_ps(c + i * ldc + 32, mc, c##i##c);  \
    if (extra) c[i * ldc + 48] = col[i];                   \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
#undef STORE
}
