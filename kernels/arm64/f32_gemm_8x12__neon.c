/* The GEMM family entry of the 8x12 NEON assembly tile: whole tiles go straight to the assembly;
 * edge tiles (fewer rows or columns) go through an 8x12 buffer, so the assembly never needs masks. */
#include <string.h>

#include "kernels/gemm.h"

void xnn_f32_gemm_8x12__neon_asm(size_t k, const float* a, const float* b, size_t ldb, float* c, size_t ldc,
                                 const float* bias, const xnn_f32_act_params* params, uint32_t flags);

void xnn_f32_gemm_ukernel_8x12__neon_asm(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                         float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                         uint32_t flags) {
  if (mr == 8 && nr == 12) {
    xnn_f32_gemm_8x12__neon_asm(k, a, b, ldb, c, ldc, bias, params, flags);
    return;
  }
  float tile[8 * 12];
  if (flags & XNN_GEMM_ACCUMULATE)
    for (size_t i = 0; i < mr; i++) memcpy(tile + i * 12, c + i * ldc, nr * sizeof(float));
  xnn_f32_gemm_8x12__neon_asm(k, a, b, ldb, tile, 12, bias, params, flags);
  for (size_t i = 0; i < mr; i++) memcpy(c + i * ldc, tile + i * 12, nr * sizeof(float));
}
