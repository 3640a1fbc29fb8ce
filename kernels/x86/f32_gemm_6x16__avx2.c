/* 6x16 GEMM tile with AVX2+FMA: 12 ymm accumulators (6 rows x 2 vectors of 8 pixels), 2 ymm for the
 * B row, 1 for the broadcast weight: all 16 registers, no spills. The weights are prefetched only where the
 * caller says the sliver is read for the first time (XNN_GEMM_STREAM_A): of a sliver in L1 already it cost
 * Zen 3 a load slot a K step (MobileNet v1's 56x56 128 -> 128 layer 1.23 -> 1.15 ms without it), but a small
 * map's first tile reads its weights from L3 or memory, which the hardware prefetchers do not follow across
 * calls: on Zen 4 with this set (one thread), MobileNet v1's 7x7 layers 11-14% faster with it, its 14x14
 * ones 4%; MobileNet v1 3% (3% at two threads), v2 3.7%, SqueezeNet 1.1 4.7%, ResNet-50 6.5% (its 14x14
 * Winograd GEMMs). Of B's next columns (read in place) it won on 112x112 maps and lost on 56x56 ones. */
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/act.h"
#include "kernels/x86/store.h"

static inline __m256i tail_mask(size_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n > 8 ? 8 : n)), idx);
}

/* A panel's last rows where M is not a multiple of 6 (MobileNet's 32, 64 and 128 channels, SqueezeNet's 16-64):
 * R of its 6 rows (4 for 3-4 rows, 2 for 1-2), the others not computed. Four rows take 4 cycles a K step to
 * the full tile's 6; two rows run two K steps an iteration into two sets of accumulators, or the FMA
 * latency would hold them to the same 4. */
static inline __attribute__((always_inline)) void last_rows(const size_t R, size_t mr, size_t nr, size_t k,
                                                            const float* a, const float* b, size_t ldb, float* c,
                                                            size_t ldc, const float* bias,
                                                            const xnn_f32_act_params* params, uint32_t flags) {
  const size_t S = R == 2 ? 2 : 1; /* accumulator sets: K steps an iteration */
  __m256 lo[2][4], hi[2][4];
  const __m256i mlo = tail_mask(nr), mhi = tail_mask(nr > 8 ? nr - 8 : 0);
#pragma GCC unroll 4
  for (size_t i = 0; i < R; i++) {
    if (flags & XNN_GEMM_ACCUMULATE) {
      const float* ci = c + (i < mr ? i : 0) * ldc; /* rows past mr alias row 0: never stored */
      lo[0][i] = _mm256_maskload_ps(ci, mlo);
      hi[0][i] = _mm256_maskload_ps(ci + 8, mhi);
      if (flags & XNN_GEMM_ADD_BIAS) {
        lo[0][i] = _mm256_add_ps(lo[0][i], _mm256_set1_ps(bias[i]));
        hi[0][i] = _mm256_add_ps(hi[0][i], _mm256_set1_ps(bias[i]));
      }
    } else {
      lo[0][i] = hi[0][i] = bias ? _mm256_set1_ps(bias[i]) : _mm256_setzero_ps();
    }
    lo[1][i] = hi[1][i] = _mm256_setzero_ps();
  }
  size_t p = 0;
  for (; p + S <= k; p += S) {
#pragma GCC unroll 2
    for (size_t s = 0; s < S; s++) {
      const __m256 bl = _mm256_loadu_ps(b), bh = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 4
      for (size_t i = 0; i < R; i++) {
        const __m256 w = _mm256_broadcast_ss(a + i);
        lo[s][i] = _mm256_fmadd_ps(w, bl, lo[s][i]);
        hi[s][i] = _mm256_fmadd_ps(w, bh, hi[s][i]);
      }
      b += ldb;
      a += 6;
    }
  }
  if (p < k) { /* S = 2, odd K */
    const __m256 bl = _mm256_loadu_ps(b), bh = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 4
    for (size_t i = 0; i < R; i++) {
      const __m256 w = _mm256_broadcast_ss(a + i);
      lo[0][i] = _mm256_fmadd_ps(w, bl, lo[0][i]);
      hi[0][i] = _mm256_fmadd_ps(w, bh, hi[0][i]);
    }
  }
  const xnn_act_avx2 act = xnn_act_avx2_init(params);
#pragma GCC unroll 4
  for (size_t i = 0; i < R; i++) {
    __m256 vl = S == 2 ? _mm256_add_ps(lo[0][i], lo[1][i]) : lo[0][i];
    __m256 vh = S == 2 ? _mm256_add_ps(hi[0][i], hi[1][i]) : hi[0][i];
    if (flags & XNN_GEMM_LAST) vl = xnn_act_avx2_apply(&act, vl), vh = xnn_act_avx2_apply(&act, vh);
    if (i < mr) {
      if (nr >= 16) {
        _mm256_storeu_ps(c + i * ldc, vl);
        _mm256_storeu_ps(c + i * ldc + 8, vh);
      } else {
        xnn_storeu_n_avx2(c + i * ldc, vl, nr);
        if (nr > 8) xnn_storeu_n_avx2(c + i * ldc + 8, vh, nr - 8);
      }
    }
  }
}

void xnn_f32_gemm_ukernel_6x16__avx2(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                     float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                     uint32_t flags) {
  if (mr <= 2) {
    last_rows(2, mr, nr, k, a, b, ldb, c, ldc, bias, params, flags);
    return;
  }
  if (mr <= 4) {
    last_rows(4, mr, nr, k, a, b, ldb, c, ldc, bias, params, flags);
    return;
  }
  __m256 c0l, c0h, c1l, c1h, c2l, c2h, c3l, c3h, c4l, c4h, c5l, c5h;
  const __m256i mlo = tail_mask(nr), mhi = tail_mask(nr > 8 ? nr - 8 : 0);
  if (flags & XNN_GEMM_ACCUMULATE) {
#define LOADC(i)                                          \
  do {                                                    \
    const float* ci = c + (i < mr ? i : 0) * ldc;         \
    c##i##l = _mm256_maskload_ps(ci, mlo);                \
    c##i##h = _mm256_maskload_ps(ci + 8, mhi);            \
  } while (0)
    LOADC(0); LOADC(1); LOADC(2); LOADC(3); LOADC(4); LOADC(5);
#undef LOADC
    if (flags & XNN_GEMM_ADD_BIAS) {
#define ADDB(i) \
  c##i##l = _mm256_add_ps(c##i##l, _mm256_set1_ps(bias[i])), c##i##h = _mm256_add_ps(c##i##h, _mm256_set1_ps(bias[i]));
      ADDB(0) ADDB(1) ADDB(2) ADDB(3) ADDB(4) ADDB(5)
#undef ADDB
    }
  } else if (bias) {
#define INITB(i) c##i##l = c##i##h = _mm256_set1_ps(bias[i])
    INITB(0); INITB(1); INITB(2); INITB(3); INITB(4); INITB(5);
#undef INITB
  } else {
    c0l = c0h = c1l = c1h = c2l = c2h = _mm256_setzero_ps();
    c3l = c3h = c4l = c4h = c5l = c5h = _mm256_setzero_ps();
  }
#define STEP(i)                                   \
  do {                                            \
    const __m256 w = _mm256_broadcast_ss(a + i);  \
    c##i##l = _mm256_fmadd_ps(w, bl, c##i##l);    \
    c##i##h = _mm256_fmadd_ps(w, bh, c##i##h);    \
  } while (0)
#define K_STEP                                    \
  const __m256 bl = _mm256_loadu_ps(b);           \
  const __m256 bh = _mm256_loadu_ps(b + 8);       \
  b += ldb;                                       \
  STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5); \
  a += 6
  if (flags & XNN_GEMM_STREAM_A) {
    for (size_t p = 0; p < k; p++) {
      _mm_prefetch((const char*)(a + 384), _MM_HINT_T0); /* 64 K steps ahead */
      K_STEP;
    }
  } else {
    for (size_t p = 0; p < k; p++) {
      K_STEP;
    }
  }
#undef K_STEP
#undef STEP
  if (flags & XNN_GEMM_LAST) {
    const xnn_act_avx2 act = xnn_act_avx2_init(params);
    const int kind = xnn_act_kind(params);
#define ACT(i) c##i##l = xnn_act_avx2_apply(&act, c##i##l), c##i##h = xnn_act_avx2_apply(&act, c##i##h);
#define ACT_MAX(i) c##i##l = xnn_act_avx2_max(&act, c##i##l), c##i##h = xnn_act_avx2_max(&act, c##i##h);
    if (kind == XNN_ACT_FULL) {
      ACT(0) ACT(1) ACT(2) ACT(3) ACT(4) ACT(5)
    } else if (kind == XNN_ACT_MAX) {
      ACT_MAX(0) ACT_MAX(1) ACT_MAX(2) ACT_MAX(3) ACT_MAX(4) ACT_MAX(5)
    }
#undef ACT_MAX
#undef ACT
  }
#define STORE(i)                                                 \
  if (i < mr) {                                                  \
    if (nr >= 16) {                                              \
      _mm256_storeu_ps(c + i * ldc, c##i##l);                    \
      _mm256_storeu_ps(c + i * ldc + 8, c##i##h);                \
    } else {                                                     \
      xnn_storeu_n_avx2(c + i * ldc, c##i##l, nr);               \
      if (nr > 8) xnn_storeu_n_avx2(c + i * ldc + 8, c##i##h, nr - 8); \
    }                                                            \
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
}
