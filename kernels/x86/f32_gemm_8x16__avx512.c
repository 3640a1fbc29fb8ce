/* 8x16 GEMM tile with AVX-512F, the narrow tail of the 8x32 tile: 8 zmm accumulators, one per row.
 * Eight independent FMA chains still cover the FMA latency at one 512-bit FMA per cycle. */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/act.h"

void xnn_f32_gemm_ukernel_8x16__avx512(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                       float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                       uint32_t flags) {
  __m512 c0, c1, c2, c3, c4, c5, c6, c7;
  const __mmask16 mask = (__mmask16)(nr >= 16 ? 0xffff : (1u << nr) - 1);
  if (flags & XNN_GEMM_ACCUMULATE) {
    /* Rows past mr alias row 0 so nothing is read outside C; their results are never stored. */
#define LOADC(i) c##i = _mm512_maskz_loadu_ps(mask, c + (i < mr ? i : 0) * ldc)
    LOADC(0); LOADC(1); LOADC(2); LOADC(3); LOADC(4); LOADC(5); LOADC(6); LOADC(7);
#undef LOADC
    if (flags & XNN_GEMM_ADD_BIAS) {
#define ADDB(i) c##i = _mm512_add_ps(c##i, _mm512_set1_ps(bias[i]))
      ADDB(0); ADDB(1); ADDB(2); ADDB(3); ADDB(4); ADDB(5); ADDB(6); ADDB(7);
#undef ADDB
    }
  } else if (bias) {
#define INITB(i) c##i = _mm512_set1_ps(bias[i])
    INITB(0); INITB(1); INITB(2); INITB(3); INITB(4); INITB(5); INITB(6); INITB(7);
#undef INITB
  } else {
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = _mm512_setzero_ps();
  }
  for (size_t p = 0; p < k; p++) {
    _mm_prefetch((const char*)(a + 512), _MM_HINT_T0);
    const __m512 vb = _mm512_loadu_ps(b);
    b += ldb;
#define STEP(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), vb, c##i)
    STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5); STEP(6); STEP(7);
#undef STEP
    a += 8;
  }
  if (flags & XNN_GEMM_LAST) {
    const xnn_act_avx512 act = xnn_act_avx512_init(params);
    const int kind = xnn_act_kind(params);
#define ACT(i) c##i = xnn_act_avx512_apply(&act, c##i);
#define ACT_MAX(i) c##i = xnn_act_avx512_max(&act, c##i);
    if (kind == XNN_ACT_FULL) {
      ACT(0) ACT(1) ACT(2) ACT(3) ACT(4) ACT(5) ACT(6) ACT(7)
    } else if (kind == XNN_ACT_MAX) {
      ACT_MAX(0) ACT_MAX(1) ACT_MAX(2) ACT_MAX(3) ACT_MAX(4) ACT_MAX(5) ACT_MAX(6) ACT_MAX(7)
    }
#undef ACT_MAX
#undef ACT
  }
#define STORE(i) \
  if (i < mr) _mm512_mask_storeu_ps(c + i * ldc, mask, c##i);
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
#undef STORE
}
