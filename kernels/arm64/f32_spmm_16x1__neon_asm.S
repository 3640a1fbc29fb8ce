// xnn_f32_spmm_ukernel_16x1__neon_asm: sparse weights times dense activations (kernels/spmm.h), AArch64
// NEON. A tile of 16 pixels of one output channel per step; tails of 8 and 4 pixels take the same path on
// fewer registers, the last 0-3 pixels go one at a time. Nonzeros are taken two at a time into two sets
// of accumulators, so that consecutive FMAs do not wait on each other (each would otherwise add into the
// accumulator the previous one is still writing); the sets are summed before the epilogue.
//
// void xnn_f32_spmm_ukernel_16x1__neon_asm(
//     size_t pixels,                      x0    pixels left (counts down by the tile)
//     size_t channels,                    x1
//     const float* in,                    x2    advances by the tile
//     size_t in_stride,                   x3    floats, turned into bytes
//     const float* weights,               x4    per channel: bias, then its nonzeros
//     const uint32_t* rows,               x5    input row of each nonzero
//     const uint32_t* nnz,                x6    nonzeros per channel
//     float* out,                         x7    advances by the tile
//     size_t out_stride,                  [sp]      -> x8 (bytes)
//     const float* residual,              [sp, 8]   -> x9 (NULL: none; advances by the tile)
//     const xnn_f32_act_params* params)   [sp, 16]  {slope, min, max}
//
// Register usage
//   x10 weights, x11 rows, x12 nnz (walked once per tile); x13 channels left; x14 output row;
//   x15 residual row; w16 nonzeros left in the channel; x17, x19 input addresses of a pair of nonzeros
//   (x19 is callee-saved: kept on the stack; x18 is the platform register and is not touched)
//   v0-v3   accumulators, even nonzeros      v4-v7   accumulators, odd nonzeros
//   v16 v17 the pair's weights               v20-v23 / v24-v27 the pair's input vectors
//   v28 zero, v29 slope, v30 min, v31 max    v8-v15 are not touched (callee-saved low halves)

#include "kernels/arm64/assembly.h"

// Loads and FMAs for a tile of `n` vectors (4, 2 or 1), or one pixel (n = 0).
// Registers are given by number: vN for a vector tile, sN for one pixel.
.macro LOAD n, d0, d1, d2, d3, addr
.if \n == 4
        ld1     {v\d0\().4s, v\d1\().4s, v\d2\().4s, v\d3\().4s}, [\addr]
.elseif \n == 2
        ld1     {v\d0\().4s, v\d1\().4s}, [\addr]
.elseif \n == 1
        ld1     {v\d0\().4s}, [\addr]
.else
        ldr     s\d0, [\addr]
.endif
.endm

.macro MLA n, w, x0, x1, x2, x3, a0, a1, a2, a3
.if \n == 0
        fmla    s\a0, s\x0, v\w\().s[0]
.else
        fmla    v\a0\().4s, v\x0\().4s, v\w\().s[0]
.if \n >= 2
        fmla    v\a1\().4s, v\x1\().4s, v\w\().s[0]
.endif
.if \n == 4
        fmla    v\a2\().4s, v\x2\().4s, v\w\().s[0]
        fmla    v\a3\().4s, v\x3\().4s, v\w\().s[0]
.endif
.endif
.endm

// One register of the epilogue: + the odd set, activation (x > 0 ? x : slope * x, clamped to [min, max]).
.macro ACT n, acc, odd
.if \n == 0
        fadd    s\acc, s\acc, s\odd
        fmin    s20, s\acc, s28
        fmax    s\acc, s\acc, s28
        fmla    s\acc, s20, v29.s[0]
        fmax    s\acc, s\acc, s30
        fmin    s\acc, s\acc, s31
.else
        fadd    v\acc\().4s, v\acc\().4s, v\odd\().4s
        fmin    v20.4s, v\acc\().4s, v28.4s
        fmax    v\acc\().4s, v\acc\().4s, v28.4s
        fmla    v\acc\().4s, v20.4s, v29.4s
        fmax    v\acc\().4s, v\acc\().4s, v30.4s
        fmin    v\acc\().4s, v\acc\().4s, v31.4s
.endif
.endm

// Every channel for the pixels at x2 / x7 / x9: `n` vectors of 4 (or one pixel for n = 0).
.macro TILE n
        mov     x10, x4
        mov     x11, x5
        mov     x12, x6
        mov     x13, x1
        mov     x14, x7
        mov     x15, x9
1:      ld1r    {v0.4s}, [x10], 4               // bias into the even set, zero into the odd set
        movi    v4.4s, 0
.if \n >= 2
        mov     v1.16b, v0.16b
        movi    v5.4s, 0
.endif
.if \n == 4
        mov     v2.16b, v0.16b
        mov     v3.16b, v0.16b
        movi    v6.4s, 0
        movi    v7.4s, 0
.endif
        ldr     w16, [x12], 4
        subs    w16, w16, 2
        b.lt    3f
2:      ldp     w17, w19, [x11], 8              // a pair of nonzeros
        ldp     s16, s17, [x10], 8
        madd    x17, x17, x3, x2
        madd    x19, x19, x3, x2
        LOAD    \n, 20, 21, 22, 23, x17
        LOAD    \n, 24, 25, 26, 27, x19
        MLA     \n, 16, 20, 21, 22, 23, 0, 1, 2, 3
        MLA     \n, 17, 24, 25, 26, 27, 4, 5, 6, 7
        subs    w16, w16, 2
        b.ge    2b
3:      cmn     w16, 1                          // -1: one nonzero left, -2: none
        b.ne    4f
        ldr     w17, [x11], 4
        ldr     s16, [x10], 4
        madd    x17, x17, x3, x2
        LOAD    \n, 20, 21, 22, 23, x17
        MLA     \n, 16, 20, 21, 22, 23, 0, 1, 2, 3
4:      cbz     x15, 5f
        LOAD    \n, 24, 25, 26, 27, x15        // residual: into the odd set
.if \n == 0
        fadd    s4, s4, s24
.else
        fadd    v4.4s, v4.4s, v24.4s
.if \n >= 2
        fadd    v5.4s, v5.4s, v25.4s
.endif
.if \n == 4
        fadd    v6.4s, v6.4s, v26.4s
        fadd    v7.4s, v7.4s, v27.4s
.endif
.endif
        add     x15, x15, x8
5:      ACT     \n, 0, 4
.if \n == 0
        str     s0, [x14]
.else
.if \n >= 2
        ACT     \n, 1, 5
.endif
.if \n == 4
        ACT     \n, 2, 6
        ACT     \n, 3, 7
        st1     {v0.4s, v1.4s, v2.4s, v3.4s}, [x14]
.elseif \n == 2
        st1     {v0.4s, v1.4s}, [x14]
.else
        st1     {v0.4s}, [x14]
.endif
.endif
        add     x14, x14, x8
        subs    x13, x13, 1
        b.ne    1b
.endm

BEGIN_FUNCTION xnn_f32_spmm_ukernel_16x1__neon_asm
        cbz     x0, 9f
        cbz     x1, 9f
        SPMM_ENTER
        str     x19, [sp, -16]!

        subs    x0, x0, 16
        b.lo    11f
10:     TILE    4
        SPMM_ADVANCE 64
        subs    x0, x0, 16
        b.hs    10b
11:     tbz     x0, 3, 12f                      // 8 of the 0-15 pixels left
        TILE    2
        SPMM_ADVANCE 32
12:     tbz     x0, 2, 13f                      // then 4
        TILE    1
        SPMM_ADVANCE 16
13:     ands    x0, x0, 3                       // then one at a time
        b.eq    8f
14:     TILE    0
        SPMM_ADVANCE 4
        subs    x0, x0, 1
        b.ne    14b
8:      ldr     x19, [sp], 16
9:      ret
END_FUNCTION xnn_f32_spmm_ukernel_16x1__neon_asm
