/* GEMV over one packed weight panel with NEON intrinsics (MR = 8: two q registers per K step), two K
 * steps per iteration into separate accumulators. (Intrinsics: memory bound, not a shipped asm family.) */
#include <arm_neon.h>

#include "kernels/gemm.h"

void xnn_f32_gemv_ukernel__neon(size_t mr, size_t k, const float* a, const float* x, float* y) {
  if (mr != 8) {
    xnn_f32_gemv_ukernel__ref(mr, k, a, x, y);
    return;
  }
  float32x4_t c0 = vdupq_n_f32(0.0f), c1 = c0, c2 = c0, c3 = c0;
  size_t p = 0;
  for (; p + 2 <= k; p += 2, a += 16) {
    c0 = vfmaq_n_f32(c0, vld1q_f32(a), x[p]);
    c1 = vfmaq_n_f32(c1, vld1q_f32(a + 4), x[p]);
    c2 = vfmaq_n_f32(c2, vld1q_f32(a + 8), x[p + 1]);
    c3 = vfmaq_n_f32(c3, vld1q_f32(a + 12), x[p + 1]);
  }
  for (; p < k; p++, a += 8) {
    c0 = vfmaq_n_f32(c0, vld1q_f32(a), x[p]);
    c1 = vfmaq_n_f32(c1, vld1q_f32(a + 4), x[p]);
  }
  vst1q_f32(y, vaddq_f32(c0, c2));
  vst1q_f32(y + 4, vaddq_f32(c1, c3));
}

void xnn_f32_gemm_ukernel_8x1__neon(size_t mr, size_t nr, size_t k, const float* a, const float* b, float* c,
                                    size_t ldc, const float* bias, const xnn_f32_act_params* params, uint32_t flags) {
  float acc[8];
  xnn_f32_gemv_ukernel__neon(8, k, a, b, acc);
  xnn_f32_gemm_1col_store(mr, acc, c, ldc, bias, params, flags);
}
