/* 6x17 GEMM tile with AVX2+FMA, the config's wide tile: a 7x7 map's 49 pixels as 16 + 16 + 17.
 *
 * Register map: 12 ymm accumulators c{row}{l,h} for columns 0-15 (6 rows x 2 vectors of 8 pixels), 2 ymm
 * for the B row's first 16 values, 1 for the broadcast weight (then for the broadcast 17th B value), and
 * cx, the 17th column's 6 rows (vector along the rows, lanes 6-7 unused): all 16 registers. The step's 6
 * weights are cx's FMA's memory operand: 8 floats from the panel, the last 2 the next step's.
 *
 * Why: 49 columns had been 16 + 16 + 16 and a one-column GEMV tile, which reads the weight panel a second
 * time and gathers the column: on Zen 3 that column cost as much as 5 of the vector tiles' columns. Here it
 * is one FMA more per K step next to twelve. */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/act.h"
#include "kernels/x86/store.h"

void xnn_f32_gemm_ukernel_6x17__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                     float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                     uint32_t flags) {
  if (nr < 17) { /* the panel rule gives it 17 columns exactly; any fewer are a 6x16 tile's */
    xnn_f32_gemm_ukernel_6x16__avx2(mr, nr, k, a, b, ldb, c, ldc, bias, params, flags);
    return;
  }
  __m256 c0l, c0h, c1l, c1h, c2l, c2h, c3l, c3h, c4l, c4h, c5l, c5h, cx;
  const __m256i rows6 = xnn_inside_avx2(0, 6);
  float col[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (flags & XNN_GEMM_ACCUMULATE) {
#define LOADC(i)                                  \
  do {                                            \
    const float* ci = c + (i < mr ? i : 0) * ldc; \
    c##i##l = _mm256_loadu_ps(ci);                \
    c##i##h = _mm256_loadu_ps(ci + 8);            \
    col[i] = ci[16];                              \
  } while (0)
    LOADC(0); LOADC(1); LOADC(2); LOADC(3); LOADC(4); LOADC(5);
#undef LOADC
    cx = _mm256_loadu_ps(col);
    if (flags & XNN_GEMM_ADD_BIAS) {
#define ADDB(i) \
  c##i##l = _mm256_add_ps(c##i##l, _mm256_set1_ps(bias[i])), c##i##h = _mm256_add_ps(c##i##h, _mm256_set1_ps(bias[i]));
      ADDB(0) ADDB(1) ADDB(2) ADDB(3) ADDB(4) ADDB(5)
#undef ADDB
      cx = _mm256_add_ps(cx, _mm256_maskload_ps(bias, rows6));
    }
  } else if (bias) {
#define INITB(i) c##i##l = c##i##h = _mm256_set1_ps(bias[i])
    INITB(0); INITB(1); INITB(2); INITB(3); INITB(4); INITB(5);
#undef INITB
    cx = _mm256_maskload_ps(bias, rows6);
  } else {
    c0l = c0h = c1l = c1h = c2l = c2h = _mm256_setzero_ps();
    c3l = c3h = c4l = c4h = c5l = c5h = _mm256_setzero_ps();
    cx = _mm256_setzero_ps();
  }
#define STEP(i)                                  \
  do {                                           \
    const __m256 w = _mm256_broadcast_ss(a + i); \
    c##i##l = _mm256_fmadd_ps(w, bl, c##i##l);   \
    c##i##h = _mm256_fmadd_ps(w, bh, c##i##h);   \
  } while (0)
  /* The last step's weights end the panel: a masked load there, never past it. */
  for (size_t p = 0; p + 1 < k; p++) {
    const __m256 bl = _mm256_loadu_ps(b);
    const __m256 bh = _mm256_loadu_ps(b + 8);
    STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5);
    cx = _mm256_fmadd_ps(_mm256_broadcast_ss(b + 16), _mm256_loadu_ps(a), cx);
    b += ldb;
    a += 6;
  }
  if (k) {
    const __m256 bl = _mm256_loadu_ps(b);
    const __m256 bh = _mm256_loadu_ps(b + 8);
    STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5);
    cx = _mm256_fmadd_ps(_mm256_broadcast_ss(b + 16), _mm256_maskload_ps(a, rows6), cx);
  }
#undef STEP
  if (flags & XNN_GEMM_LAST) {
    const xnn_act_avx2 act = xnn_act_avx2_init(params);
    const int kind = xnn_act_kind(params);
#define ACT(i) c##i##l = xnn_act_avx2_apply(&act, c##i##l), c##i##h = xnn_act_avx2_apply(&act, c##i##h);
#define ACT_MAX(i) c##i##l = xnn_act_avx2_max(&act, c##i##l), c##i##h = xnn_act_avx2_max(&act, c##i##h);
    if (kind == XNN_ACT_FULL) {
      ACT(0) ACT(1) ACT(2) ACT(3) ACT(4) ACT(5)
      cx = xnn_act_avx2_apply(&act, cx);
    } else if (kind == XNN_ACT_MAX) {
      ACT_MAX(0) ACT_MAX(1) ACT_MAX(2) ACT_MAX(3) ACT_MAX(4) ACT_MAX(5)
      cx = xnn_act_avx2_max(&act, cx);
    }
#undef ACT_MAX
#undef ACT
  }
  _mm256_storeu_ps(col, cx);
#define STORE(i)                                  \
  if (i < mr) {                                   \
    _mm256_storeu_ps(c + i * ldc, c##i##l);       \
    _mm256_storeu_ps(c + i * ldc + 8, c##i##h);   \
    c[i * ldc + 16] = col[i];                     \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
}
