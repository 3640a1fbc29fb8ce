/* The GEMM family entries of the NEON assembly tiles (8x12, and its 8x4 tail): whole tiles go straight
 * to the assembly; edge tiles (fewer rows or columns) go through a tile-sized buffer, so the assembly
 * never needs masks. */
#include <string.h>

#include "kernels/gemm.h"

typedef void (*asm_tile_fn)(size_t k, const float* a, const float* b, size_t ldb, float* c, size_t ldc,
                            const float* bias, const xnn_f32_act_params* params, uint32_t flags);

void xnn_f32_gemm_8x12__neon_asm(size_t k, const float* a, const float* b, size_t ldb, float* c, size_t ldc,
                                 const float* bias, const xnn_f32_act_params* params, uint32_t flags);
void xnn_f32_gemm_8x4__neon_asm(size_t k, const float* a, const float* b, size_t ldb, float* c, size_t ldc,
                                const float* bias, const xnn_f32_act_params* params, uint32_t flags);

/* Out of line: its tile-sized buffer would otherwise give every whole tile a stack frame to set up (37
 * instructions per call instead of a check and a tail call). */
__attribute__((noinline)) static void edge_tile(asm_tile_fn fn, const size_t NR, size_t mr, size_t nr, size_t k,
                                                const float* a, const float* b, size_t ldb, float* c, size_t ldc,
                                                const float* bias, const xnn_f32_act_params* params,
                                                uint32_t flags) {
  float buf[8 * 12];
  if (flags & XNN_GEMM_ACCUMULATE)
    for (size_t i = 0; i < mr; i++) memcpy(buf + i * NR, c + i * ldc, nr * sizeof(float));
  fn(k, a, b, ldb, buf, NR, bias, params, flags);
  for (size_t i = 0; i < mr; i++) memcpy(c + i * ldc, buf + i * NR, nr * sizeof(float));
}

static inline void tile(asm_tile_fn fn, const size_t NR, size_t mr, size_t nr, size_t k, const float* a,
                        const float* b, size_t ldb, float* c, size_t ldc, const float* bias,
                        const xnn_f32_act_params* params, uint32_t flags) {
  if (mr == 8 && nr == NR)
    fn(k, a, b, ldb, c, ldc, bias, params, flags);
  else
    edge_tile(fn, NR, mr, nr, k, a, b, ldb, c, ldc, bias, params, flags);
}

void xnn_f32_gemm_ukernel_8x12__neon_asm(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                         float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                         uint32_t flags) {
  tile(xnn_f32_gemm_8x12__neon_asm, 12, mr, nr, k, a, b, ldb, c, ldc, bias, params, flags);
}

void xnn_f32_gemm_ukernel_8x4__neon_asm(size_t mr, size_t nr, size_t k, const float* a, const float* b, size_t ldb,
                                        float* c, size_t ldc, const float* bias, const xnn_f32_act_params* params,
                                        uint32_t flags) {
  tile(xnn_f32_gemm_8x4__neon_asm, 4, mr, nr, k, a, b, ldb, c, ldc, bias, params, flags);
}
