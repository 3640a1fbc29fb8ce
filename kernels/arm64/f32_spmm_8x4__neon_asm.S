// xnn_f32_spmm_ukernel_8x4__neon_asm: sparse weights pruned in blocks of four output channels times dense
// activations (kernels/spmm.h, blocked layout), AArch64 NEON. A tile of 8 pixels of a block's four channels
// per step: each column's two input vectors are loaded once for eight fmla (the 16x1 kernel loads one
// vector per fmla), and the column's four weights come in one q register, used by element. A tail of 4
// pixels takes the same path on one vector per channel; the last 0-3 pixels go one at a time.
//
// void xnn_f32_spmm_ukernel_8x4__neon_asm(
//     size_t pixels,                      x0    pixels left (counts down by the tile)
//     size_t channels,                    x1    a multiple of 4
//     const float* in,                    x2    advances by the tile
//     size_t in_stride,                   x3    floats, turned into bytes
//     const float* weights,               x4    per block: 4 biases, then 4 values per column
//     const uint32_t* rows,               x5    input row of each column
//     const uint32_t* nnz,                x6    columns per block
//     float* out,                         x7    advances by the tile
//     size_t out_stride,                  [sp]      -> x8 (bytes)
//     const float* residual,              [sp, 8]   -> x9 (NULL: none; advances by the tile)
//     const xnn_f32_act_params* params)   [sp, 16]  {slope, min, max}
//
// Register usage
//   x10 weights, x11 rows, x12 nnz (walked once per tile); x13 channels left; x14 output row;
//   x15 residual row; w16 columns left in the block, then channels left to finish; x17 input address of a
//   column, then a residual row
//   v0 v1 channel 0, v2 v3 channel 1, v4 v5 channel 2, v6 v7 channel 3 (first and second 4 pixels)
//   v16 a column's four weights (or the block's biases)     v20 v21 the column's input vectors
//   v24 v25 a residual row, v26 scratch                     v28 zero, v29 slope, v30 min, v31 max
//   v8-v15 are not touched (callee-saved low halves); x18 (platform register) neither.

#include "kernels/arm64/assembly.h"

// The column's input: `n` vectors of 4 (2 or 1), or one pixel (n = 0), into v<d0>, v<d1>.
.macro LOAD n, d0, d1, addr
.if \n == 2
        ld1     {v\d0\().4s, v\d1\().4s}, [\addr]
.elseif \n == 1
        ld1     {v\d0\().4s}, [\addr]
.else
        ldr     s\d0, [\addr]
.endif
.endm

// Channel c's accumulators (v<2c>, v<2c+1>) += the column's input times its weight c.
.macro MLA n, c, a0, a1
.if \n == 0
        fmla    s\a0, s20, v16.s[\c]
.else
        fmla    v\a0\().4s, v20.4s, v16.s[\c]
.if \n == 2
        fmla    v\a1\().4s, v21.4s, v16.s[\c]
.endif
.endif
.endm

// One accumulator's epilogue: x > 0 ? x : slope * x, clamped to [min, max].
.macro ACT n, r
.if \n == 0
        fmin    s26, s\r, s28
        fmax    s\r, s\r, s28
        fmla    s\r, s26, v29.s[0]
        fmax    s\r, s\r, s30
        fmin    s\r, s\r, s31
.else
        fmin    v26.4s, v\r\().4s, v28.4s
        fmax    v\r\().4s, v\r\().4s, v28.4s
        fmla    v\r\().4s, v26.4s, v29.4s
        fmax    v\r\().4s, v\r\().4s, v30.4s
        fmin    v\r\().4s, v\r\().4s, v31.4s
.endif
.endm

// One channel's end: + its residual row (x17 walks the rows), activation, store (x14 walks the rows). The
// four channels go through one copy of it, each moved into v0 v1 in turn: a third of the code of four.
.macro FINISH n, a0, a1
        cbz     x15, 5f
        LOAD    \n, 24, 25, x17
        add     x17, x17, x8
.if \n == 0
        fadd    s\a0, s\a0, s24
.else
        fadd    v\a0\().4s, v\a0\().4s, v24.4s
.if \n == 2
        fadd    v\a1\().4s, v\a1\().4s, v25.4s
.endif
.endif
5:      ACT     \n, \a0
.if \n == 2
        ACT     \n, \a1
        st1     {v\a0\().4s, v\a1\().4s}, [x14]
.elseif \n == 1
        st1     {v\a0\().4s}, [x14]
.else
        str     s\a0, [x14]
.endif
        add     x14, x14, x8
.endm

// Every block of channels for the pixels at x2 / x7 / x9.
.macro TILE n
        mov     x10, x4
        mov     x11, x5
        mov     x12, x6
        mov     x13, x1
        mov     x14, x7
        mov     x15, x9
1:      ld1     {v16.4s}, [x10], 16             // the block's biases
        dup     v0.4s, v16.s[0]
        dup     v2.4s, v16.s[1]
        dup     v4.4s, v16.s[2]
        dup     v6.4s, v16.s[3]
.if \n == 2
        mov     v1.16b, v0.16b
        mov     v3.16b, v2.16b
        mov     v5.16b, v4.16b
        mov     v7.16b, v6.16b
.endif
        ldr     w16, [x12], 4
        cbz     w16, 3f
2:      ldr     w17, [x11], 4
        ld1     {v16.4s}, [x10], 16
        madd    x17, x17, x3, x2
        LOAD    \n, 20, 21, x17
        MLA     \n, 0, 0, 1
        MLA     \n, 1, 2, 3
        MLA     \n, 2, 4, 5
        MLA     \n, 3, 6, 7
        subs    w16, w16, 1
        b.ne    2b
3:      mov     x17, x15
        mov     w16, 4
6:      FINISH  \n, 0, 1                       // channel by channel, the next ones moved down
        mov     v0.16b, v2.16b
        mov     v2.16b, v4.16b
        mov     v4.16b, v6.16b
.if \n == 2
        mov     v1.16b, v3.16b
        mov     v3.16b, v5.16b
        mov     v5.16b, v7.16b
.endif
        subs    w16, w16, 1
        b.ne    6b
        cbz     x15, 4f
        mov     x15, x17
4:      subs    x13, x13, 4
        b.ne    1b
.endm

BEGIN_FUNCTION xnn_f32_spmm_ukernel_8x4__neon_asm
        cbz     x0, 9f
        cbz     x1, 9f
        SPMM_ENTER

        subs    x0, x0, 8
        b.lo    11f
10:     TILE    2
        SPMM_ADVANCE 32
        subs    x0, x0, 8
        b.hs    10b
11:     tbz     x0, 2, 13f                      // 4 of the 0-7 pixels left
        TILE    1
        SPMM_ADVANCE 16
13:     ands    x0, x0, 3                       // then one at a time
        b.eq    9f
14:     TILE    0
        SPMM_ADVANCE 4
        subs    x0, x0, 1
        b.ne    14b
9:      ret
END_FUNCTION xnn_f32_spmm_ukernel_8x4__neon_asm
