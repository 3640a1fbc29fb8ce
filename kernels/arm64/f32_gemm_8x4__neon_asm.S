// xnn_f32_gemm_8x4__neon_asm: one full 8x4 tile of the GEMM family (kernels/gemm.h), AArch64 NEON: the
// narrow tail of the 8x12 tile. Winograd's tile counts (196 = 16 x 12 + 4, 16 = 12 + 4) and maps like
// 14x14 leave 4 columns, which one-column GEMV tiles ran at about half this tile's multiply-adds per
// instruction.
//
// void xnn_f32_gemm_8x4__neon_asm(
//     size_t k,                          x0    (K, may be 0)
//     const float* a,                    x1    packed weights: k groups of 8
//     const float* b,                    x2    activations: k rows of 4,
//     size_t ldb,                        x3      ldb floats apart
//     float* c,                          x4    8 rows of 4, ldc floats apart
//     size_t ldc,                        x5
//     const float* bias,                 x6    8 values or NULL (ignored with ACCUMULATE)
//     const xnn_f32_act_params* params,  x7    {slope, min, max}
//     uint32_t flags)                    [sp]  XNN_GEMM_ACCUMULATE = 1, XNN_GEMM_LAST = 2; kept in w10
//
// Partial tiles (mr < 8 or nr < 4) go through a 8x4 buffer in the C wrapper (f32_gemm_8x12__neon.c).
//
// Register usage
//   A       v0-v7          (8 weights of each of four k; v0 v1 in the one-k loop)
//   B       v24-v27        (4 activations of each of four k; v2 in the one-k loop)
//   C       v16-v23        row i in v(16+i)
//   act     v5 slope, v6 min, v7 max; v3 v4 scratch (GEMM_ACTIVATION, assembly.h)
//   x8      pointer to the current C row; x3, x5 hold ldb and ldc in bytes
// Only v0-v7 and v16-v31 are used: no callee-saved register to save.

#include "kernels/arm64/assembly.h"

// One k: v16-v23 (rows 0-7) += \b * each lane of \a0 (rows 0-3) and \a1 (rows 4-7).
.macro GEMM_8X4_K b, a0, a1
        fmla    v16.4s, \b\().4s, \a0\().s[0]
        fmla    v17.4s, \b\().4s, \a0\().s[1]
        fmla    v18.4s, \b\().4s, \a0\().s[2]
        fmla    v19.4s, \b\().4s, \a0\().s[3]
        fmla    v20.4s, \b\().4s, \a1\().s[0]
        fmla    v21.4s, \b\().4s, \a1\().s[1]
        fmla    v22.4s, \b\().4s, \a1\().s[2]
        fmla    v23.4s, \b\().4s, \a1\().s[3]
.endm

BEGIN_FUNCTION xnn_f32_gemm_8x4__neon_asm
        ldr     w10, [sp]                       // flags, the ninth argument
        lsl     x3, x3, 2                       // ldb in bytes
        lsl     x5, x5, 2                       // ldc in bytes
        tbz     w10, 0, 1f                      // not ACCUMULATE: start from the bias

        // C += A*B: load the current tile.
        mov     x8, x4
        ld1     {v16.4s}, [x8], x5
        ld1     {v17.4s}, [x8], x5
        ld1     {v18.4s}, [x8], x5
        ld1     {v19.4s}, [x8], x5
        ld1     {v20.4s}, [x8], x5
        ld1     {v21.4s}, [x8], x5
        ld1     {v22.4s}, [x8], x5
        ld1     {v23.4s}, [x8]
        b       3f

1:      movi    v0.4s, 0
        movi    v1.4s, 0
        cbz     x6, 2f
        ld1     {v0.4s, v1.4s}, [x6]
2:      dup     v16.4s, v0.s[0]
        dup     v17.4s, v0.s[1]
        dup     v18.4s, v0.s[2]
        dup     v19.4s, v0.s[3]
        dup     v20.4s, v1.s[0]
        dup     v21.4s, v1.s[1]
        dup     v22.4s, v1.s[2]
        dup     v23.4s, v1.s[3]

3:      subs    x0, x0, 4
        b.lo    6f
        // Main loop: four k per iteration, 32 FMLA for 6 loads (A of two k per 4-register load).
4:      ld1     {v0.4s, v1.4s, v2.4s, v3.4s}, [x1], 64
        ld1     {v24.4s}, [x2], x3
        ld1     {v25.4s}, [x2], x3
        GEMM_8X4_K v24, v0, v1
        ld1     {v4.4s, v5.4s, v6.4s, v7.4s}, [x1], 64
        GEMM_8X4_K v25, v2, v3
        ld1     {v26.4s}, [x2], x3
        ld1     {v27.4s}, [x2], x3
        GEMM_8X4_K v26, v4, v5
        GEMM_8X4_K v27, v6, v7
        subs    x0, x0, 4
        b.hs    4b
6:      adds    x0, x0, 4                       // the last 0 to 3 k, one at a time
        b.eq    5f
8:      ld1     {v0.4s, v1.4s}, [x1], 32
        ld1     {v2.4s}, [x2], x3
        GEMM_8X4_K v2, v0, v1
        subs    x0, x0, 1
        b.ne    8b

5:      tbz     w10, 1, 7f                      // not LAST: store as is
        GEMM_ACTIVATION x7, v3, v4, 16, 17, 18, 19, 20, 21, 22, 23

7:      st1     {v16.4s}, [x4], x5
        st1     {v17.4s}, [x4], x5
        st1     {v18.4s}, [x4], x5
        st1     {v19.4s}, [x4], x5
        st1     {v20.4s}, [x4], x5
        st1     {v21.4s}, [x4], x5
        st1     {v22.4s}, [x4], x5
        st1     {v23.4s}, [x4]
        ret
END_FUNCTION xnn_f32_gemm_8x4__neon_asm
