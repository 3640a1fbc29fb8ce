// xnn_f32_gemm_8x12__neon_asm: one full 8x12 tile of the GEMM family (kernels/gemm.h), AArch64 NEON.
//
// void xnn_f32_gemm_8x12__neon_asm(
//     size_t k,                          x0    (K, may be 0)
//     const float* a,                    x1    packed weights: k groups of 8
//     const float* b,                    x2    activations: k rows of 12,
//     size_t ldb,                        x3      ldb floats apart (12 packed; the plane size read in place)
//     float* c,                          x4    8 rows of 12, ldc floats apart
//     size_t ldc,                        x5
//     const float* bias,                 x6    8 values or NULL (ignored with ACCUMULATE)
//     const xnn_f32_act_params* params,  x7    {slope, min, max}
//     uint32_t flags)                    [sp]  XNN_GEMM_ACCUMULATE = 1, XNN_GEMM_LAST = 2; kept in w10
//
// Partial tiles (mr < 8 or nr < 12) go through a 8x12 buffer in the C wrapper, so this kernel only
// ever loads and stores whole rows.
//
// Register usage
//   A       v0 v1, v2 v3   (8 weights of each of two k)
//   B       v4 v5 v6       (12 activations of one k)
//   C       v8-v31         row i in v(8+3i), v(9+3i), v(10+3i)
//   act     v5 slope, v6 min, v7 max; v1 v2 scratch (GEMM_ACTIVATION, assembly.h)
//   x8      pointer to the current C row; x3, x5 hold ldb and ldc in bytes; x9 quads of k left
// d8-d15 are callee-saved (AAPCS64): saved on the stack around the kernel.

#include "kernels/arm64/assembly.h"

// 24 FMLA of one k: B in v4-v6, A's 8 weights in \a0 (rows 0-3) and \a1 (rows 4-7).
.macro FMLA_8X12 a0, a1
        fmla    v8.4s, v4.4s, \a0\().s[0]
        fmla    v9.4s, v5.4s, \a0\().s[0]
        fmla    v10.4s, v6.4s, \a0\().s[0]
        fmla    v11.4s, v4.4s, \a0\().s[1]
        fmla    v12.4s, v5.4s, \a0\().s[1]
        fmla    v13.4s, v6.4s, \a0\().s[1]
        fmla    v14.4s, v4.4s, \a0\().s[2]
        fmla    v15.4s, v5.4s, \a0\().s[2]
        fmla    v16.4s, v6.4s, \a0\().s[2]
        fmla    v17.4s, v4.4s, \a0\().s[3]
        fmla    v18.4s, v5.4s, \a0\().s[3]
        fmla    v19.4s, v6.4s, \a0\().s[3]
        fmla    v20.4s, v4.4s, \a1\().s[0]
        fmla    v21.4s, v5.4s, \a1\().s[0]
        fmla    v22.4s, v6.4s, \a1\().s[0]
        fmla    v23.4s, v4.4s, \a1\().s[1]
        fmla    v24.4s, v5.4s, \a1\().s[1]
        fmla    v25.4s, v6.4s, \a1\().s[1]
        fmla    v26.4s, v4.4s, \a1\().s[2]
        fmla    v27.4s, v5.4s, \a1\().s[2]
        fmla    v28.4s, v6.4s, \a1\().s[2]
        fmla    v29.4s, v4.4s, \a1\().s[3]
        fmla    v30.4s, v5.4s, \a1\().s[3]
        fmla    v31.4s, v6.4s, \a1\().s[3]
.endm

BEGIN_FUNCTION xnn_f32_gemm_8x12__neon_asm
        ldr     w10, [sp]                       // flags, the ninth argument
        stp     d8, d9, [sp, -64]!
        stp     d10, d11, [sp, 16]
        stp     d12, d13, [sp, 32]
        stp     d14, d15, [sp, 48]

        lsl     x3, x3, 2                       // ldb in bytes
        lsl     x5, x5, 2                       // ldc in bytes
        tbz     w10, 0, 1f                      // not ACCUMULATE: start from the bias

        // C += A*B: load the current tile.
        mov     x8, x4
        ld1     {v8.4s, v9.4s, v10.4s}, [x8], x5
        ld1     {v11.4s, v12.4s, v13.4s}, [x8], x5
        ld1     {v14.4s, v15.4s, v16.4s}, [x8], x5
        ld1     {v17.4s, v18.4s, v19.4s}, [x8], x5
        ld1     {v20.4s, v21.4s, v22.4s}, [x8], x5
        ld1     {v23.4s, v24.4s, v25.4s}, [x8], x5
        ld1     {v26.4s, v27.4s, v28.4s}, [x8], x5
        ld1     {v29.4s, v30.4s, v31.4s}, [x8]
        b       3f

1:      movi    v0.4s, 0
        movi    v1.4s, 0
        cbz     x6, 2f
        ld1     {v0.4s, v1.4s}, [x6]
2:      dup     v8.4s, v0.s[0]
        dup     v9.4s, v0.s[0]
        dup     v10.4s, v0.s[0]
        dup     v11.4s, v0.s[1]
        dup     v12.4s, v0.s[1]
        dup     v13.4s, v0.s[1]
        dup     v14.4s, v0.s[2]
        dup     v15.4s, v0.s[2]
        dup     v16.4s, v0.s[2]
        dup     v17.4s, v0.s[3]
        dup     v18.4s, v0.s[3]
        dup     v19.4s, v0.s[3]
        dup     v20.4s, v1.s[0]
        dup     v21.4s, v1.s[0]
        dup     v22.4s, v1.s[0]
        dup     v23.4s, v1.s[1]
        dup     v24.4s, v1.s[1]
        dup     v25.4s, v1.s[1]
        dup     v26.4s, v1.s[2]
        dup     v27.4s, v1.s[2]
        dup     v28.4s, v1.s[2]
        dup     v29.4s, v1.s[3]
        dup     v30.4s, v1.s[3]
        dup     v31.4s, v1.s[3]

3:      lsr     x9, x0, 2                       // quads of k
        cbz     x9, 4f
        // Main loop: four k per iteration, 96 FMLA for 6 loads (A of two k in one, B of each) and the
        // loop's 2 instructions (two k per iteration: 53 per 48 FMLA).
40:     ld1     {v0.4s, v1.4s, v2.4s, v3.4s}, [x1], 64
        ld1     {v4.4s, v5.4s, v6.4s}, [x2], x3
        FMLA_8X12 v0, v1
        ld1     {v4.4s, v5.4s, v6.4s}, [x2], x3
        FMLA_8X12 v2, v3
        ld1     {v0.4s, v1.4s, v2.4s, v3.4s}, [x1], 64
        ld1     {v4.4s, v5.4s, v6.4s}, [x2], x3
        FMLA_8X12 v0, v1
        ld1     {v4.4s, v5.4s, v6.4s}, [x2], x3
        FMLA_8X12 v2, v3
        subs    x9, x9, 1
        b.ne    40b
4:      tbz     x0, 1, 41f                      // a pair of k left
        ld1     {v0.4s, v1.4s, v2.4s, v3.4s}, [x1], 64
        ld1     {v4.4s, v5.4s, v6.4s}, [x2], x3
        FMLA_8X12 v0, v1
        ld1     {v4.4s, v5.4s, v6.4s}, [x2], x3
        FMLA_8X12 v2, v3
41:     tbz     x0, 0, 5f                       // an odd k left
        ld1     {v0.4s, v1.4s}, [x1], 32
        ld1     {v4.4s, v5.4s, v6.4s}, [x2], x3
        FMLA_8X12 v0, v1

5:      tbz     w10, 1, 7f                      // not LAST: store as is
        GEMM_ACTIVATION x7, v2, v1, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, \
                        29, 30, 31

7:      st1     {v8.4s, v9.4s, v10.4s}, [x4], x5
        st1     {v11.4s, v12.4s, v13.4s}, [x4], x5
        st1     {v14.4s, v15.4s, v16.4s}, [x4], x5
        st1     {v17.4s, v18.4s, v19.4s}, [x4], x5
        st1     {v20.4s, v21.4s, v22.4s}, [x4], x5
        st1     {v23.4s, v24.4s, v25.4s}, [x4], x5
        st1     {v26.4s, v27.4s, v28.4s}, [x4], x5
        st1     {v29.4s, v30.4s, v31.4s}, [x4]

        ldp     d14, d15, [sp, 48]
        ldp     d12, d13, [sp, 32]
        ldp     d10, d11, [sp, 16]
        ldp     d8, d9, [sp], 64
        ret
END_FUNCTION xnn_f32_gemm_8x12__neon_asm
