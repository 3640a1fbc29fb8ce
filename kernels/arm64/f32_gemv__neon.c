/* GEMV over packed weight panels, one at a time, with NEON intrinsics (MR = 8: two q registers per K step). Four K
 * steps per iteration take their x values with one load and use them by lane (FMLA by element), so an
 * iteration is 1 + 4 loads and 8 FMLA for 32 MACs. (Intrinsics: memory bound as a classifier, and a
 * one-column tile otherwise; not a shipped asm family.) */
#include <arm_neon.h>

#include "kernels/gemm.h"

static void gemv_8(size_t k, const float* a, const float* x, float* y) {
  float32x4_t c0 = vdupq_n_f32(0.0f), c1 = c0, c2 = c0, c3 = c0;
  size_t p = 0;
  for (; p + 4 <= k; p += 4, a += 32) {
    const float32x4_t xv = vld1q_f32(x + p);
    const float32x4x2_t a0 = vld1q_f32_x2(a), a1 = vld1q_f32_x2(a + 8);
    const float32x4x2_t a2 = vld1q_f32_x2(a + 16), a3 = vld1q_f32_x2(a + 24);
    c0 = vfmaq_laneq_f32(c0, a0.val[0], xv, 0);
    c1 = vfmaq_laneq_f32(c1, a0.val[1], xv, 0);
    c2 = vfmaq_laneq_f32(c2, a1.val[0], xv, 1);
    c3 = vfmaq_laneq_f32(c3, a1.val[1], xv, 1);
    c0 = vfmaq_laneq_f32(c0, a2.val[0], xv, 2);
    c1 = vfmaq_laneq_f32(c1, a2.val[1], xv, 2);
    c2 = vfmaq_laneq_f32(c2, a3.val[0], xv, 3);
    c3 = vfmaq_laneq_f32(c3, a3.val[1], xv, 3);
  }
  for (; p < k; p++, a += 8) {
    c0 = vfmaq_n_f32(c0, vld1q_f32(a), x[p]);
    c1 = vfmaq_n_f32(c1, vld1q_f32(a + 4), x[p]);
  }
  vst1q_f32(y, vaddq_f32(c0, c2));
  vst1q_f32(y + 4, vaddq_f32(c1, c3));
}

void xnn_f32_gemv_ukernel__neon(size_t mr, size_t k, size_t panels, const float* a, size_t a_stride, const float* x,
                                float* y) {
  if (mr != 8) {
    xnn_f32_gemv_ukernel__ref(mr, k, panels, a, a_stride, x, y);
    return;
  }
  for (size_t j = 0; j < panels; j++) gemv_8(k, a + j * a_stride, x, y + 8 * j);
}

void xnn_f32_gemm_ukernel_8x1__neon(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                    float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                    uint32_t flags) {
  float acc[8];
  xnn_f32_gemm_1col_sums(xnn_f32_gemv_ukernel__neon, 8, k, a, b, ldb, acc);
  xnn_f32_gemm_1col_store(mr, acc, c, ldc, bias, params, flags);
}
