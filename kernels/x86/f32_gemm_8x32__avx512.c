/* 8x32 GEMM tile with AVX-512F: 16 zmm accumulators (8 rows x 2 vectors of 16 pixels), 2 zmm for the
 * B row, 1 for the broadcast weight. 16 FMAs per 10 loads keep the FMA pipes the bottleneck.
 * The weights arrive from L3 or memory in slivers the hardware prefetchers do not follow across calls:
 * prefetching 16 steps ahead took a 7x7 layer with 4 MB of weights from 68 to 82 GFLOP/s on Zen 4. Zen 5
 * runs a step in half the time (two 512-bit FMA pipes), and 64 steps ahead (2 KB, about 500 cycles) took
 * MobileNet v1's 1x1 layers 5-10% faster in the network than 16 did (32: 2-6%, 128: 1-4%). */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/act.h"

void xnn_f32_gemm_ukernel_8x32__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags) {
  __m512 c0l, c0h, c1l, c1h, c2l, c2h, c3l, c3h, c4l, c4h, c5l, c5h, c6l, c6h, c7l, c7h;
  const __mmask16 mlo = (__mmask16)(nr >= 16 ? 0xffff : (1u << nr) - 1);
  const __mmask16 mhi = (__mmask16)(nr >= 32 ? 0xffff : nr <= 16 ? 0 : (1u << (nr - 16)) - 1);
  if (flags & XNN_GEMM_ACCUMULATE) {
    /* Rows past mr alias row 0 so nothing is read outside C; their results are never stored. */
#define LOADC(i)                                                    \
  do {                                                              \
    const float* ci = c + (i < mr ? i : 0) * ldc;                   \
    c##i##l = _mm512_maskz_loadu_ps(mlo, ci);                       \
    c##i##h = _mm512_maskz_loadu_ps(mhi, ci + 16);                  \
  } while (0)
    LOADC(0); LOADC(1); LOADC(2); LOADC(3); LOADC(4); LOADC(5); LOADC(6); LOADC(7);
#undef LOADC
    if (flags & XNN_GEMM_ADD_BIAS) {
#define ADDB(i) \
  c##i##l = _mm512_add_ps(c##i##l, _mm512_set1_ps(bias[i])), c##i##h = _mm512_add_ps(c##i##h, _mm512_set1_ps(bias[i]))
      ADDB(0); ADDB(1); ADDB(2); ADDB(3); ADDB(4); ADDB(5); ADDB(6); ADDB(7);
#undef ADDB
    }
  } else if (bias) {
#define INITB(i) c##i##l = c##i##h = _mm512_set1_ps(bias[i])
    INITB(0); INITB(1); INITB(2); INITB(3); INITB(4); INITB(5); INITB(6); INITB(7);
#undef INITB
  } else {
    c0l = c0h = c1l = c1h = c2l = c2h = c3l = c3h = _mm512_setzero_ps();
    c4l = c4h = c5l = c5h = c6l = c6h = c7l = c7h = _mm512_setzero_ps();
  }
  for (size_t p = 0; p < k; p++) {
    _mm_prefetch((const char*)(a + 512), _MM_HINT_T0);
    const __m512 bl = _mm512_loadu_ps(b);
    const __m512 bh = _mm512_loadu_ps(b + 16);
    b += ldb;
#define STEP(i)                                   \
  do {                                            \
    const __m512 w = _mm512_set1_ps(a[i]);        \
    c##i##l = _mm512_fmadd_ps(w, bl, c##i##l);    \
    c##i##h = _mm512_fmadd_ps(w, bh, c##i##h);    \
  } while (0)
    STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5); STEP(6); STEP(7);
#undef STEP
    a += 8;
  }
  if (flags & XNN_GEMM_LAST) {
    const xnn_act_avx512 act = xnn_act_avx512_init(params);
    const int kind = xnn_act_kind(params);
#define ACT(i) c##i##l = xnn_act_avx512_apply(&act, c##i##l), c##i##h = xnn_act_avx512_apply(&act, c##i##h);
#define ACT_MAX(i) c##i##l = xnn_act_avx512_max(&act, c##i##l), c##i##h = xnn_act_avx512_max(&act, c##i##h);
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
    _mm512_mask_storeu_ps(c + i * ldc, mlo, c##i##l);      \
    _mm512_mask_storeu_ps(c + i * ldc + 16, mhi, c##i##h); \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
#undef STORE
}
