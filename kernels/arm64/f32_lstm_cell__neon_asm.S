// xnn_f32_lstm_cell__neon_asm: the LSTM cell family (kernels/lstm.h) in AArch64 NEON. Four units per
// step; the last 0-3 units go one at a time through the same vector code on single-lane loads (a scalar
// `ldr s` zeroes the other lanes, whose results are never stored), so there is one path to get right.
//
// exp(z) as the x86 kernels compute it: z clamped to [-87, 88], n = round(z / ln 2), r = z - n ln 2 in two
// parts (Cody-Waite), a degree-5 polynomial (Cephes' expf coefficients), scaled by 2^n built in the
// exponent bits. sigmoid(x) = 1 / (1 + exp(-x)) with a true division (fdiv: the reciprocal estimate plus
// Newton steps would save little here and lose bits); tanh(x) = 2 sigmoid(2x) - 1.
//
// void xnn_f32_lstm_cell__neon_asm(
//     size_t h,                              x0    units left
//     const float* gates,                    x1    the i block, advances; f, o, g blocks in x5, x6, x7
//     float* c,                              x2    cell state, updated in place, advances
//     float* h_out,                          x3    advances
//     const xnn_f32_lstm_params* params)     x4    {min, max}: the gates' clip
//
// Register usage
//   x8  constant table
//   v0 v1 v2 v3   gates i, f, o, g (then their activations)   v7 cell state
//   v4 v5 v6      exp temporaries (v1 joins them for tanh(c), once f is used)
//   v16 v17 clip min, max      v18 v19 exp's input range      v20 1/ln 2
//   v21 v22 ln 2 in two parts  v23-v28 polynomial, highest degree first
//   v29 1.0     v30 the exponent bias 127 (integer)
//   v8-v15 are not touched (callee-saved low halves)

#include "kernels/arm64/assembly.h"

// x <- sigmoid(x) on lanes of `.4s`; t1-t3 are clobbered.
.macro SIGMOID x, t1, t2, t3
        fneg    \t1\().4s, \x\().4s                    // z = -x
        fmax    \t1\().4s, \t1\().4s, v18.4s
        fmin    \t1\().4s, \t1\().4s, v19.4s
        fmul    \t2\().4s, \t1\().4s, v20.4s
        frintn  \t2\().4s, \t2\().4s                    // n
        fmls    \t1\().4s, \t2\().4s, v21.4s
        fmls    \t1\().4s, \t2\().4s, v22.4s            // r = z - n ln 2
        mov     \t3\().16b, v24.16b
        fmla    \t3\().4s, v23.4s, \t1\().4s
        mov     \x\().16b, v25.16b
        fmla    \x\().4s, \t3\().4s, \t1\().4s
        mov     \t3\().16b, v26.16b
        fmla    \t3\().4s, \x\().4s, \t1\().4s
        mov     \x\().16b, v27.16b
        fmla    \x\().4s, \t3\().4s, \t1\().4s
        mov     \t3\().16b, v28.16b
        fmla    \t3\().4s, \x\().4s, \t1\().4s          // P(r)
        fmul    \x\().4s, \t1\().4s, \t1\().4s
        fadd    \t1\().4s, \t1\().4s, v29.4s
        fmla    \t1\().4s, \t3\().4s, \x\().4s          // exp(r) = 1 + r + r^2 P(r)
        fcvtzs  \t2\().4s, \t2\().4s                    // n is integral: truncation is exact
        add     \t2\().4s, \t2\().4s, v30.4s
        shl     \t2\().4s, \t2\().4s, #23               // 2^n
        fmul    \t1\().4s, \t1\().4s, \t2\().4s         // exp(z)
        fadd    \t1\().4s, \t1\().4s, v29.4s
        fdiv    \x\().4s, v29.4s, \t1\().4s
.endm

// x <- tanh(x) = 2 sigmoid(2x) - 1.
.macro TANH x, t1, t2, t3
        fadd    \x\().4s, \x\().4s, \x\().4s
        SIGMOID \x, \t1, \t2, \t3
        fadd    \x\().4s, \x\().4s, \x\().4s
        fsub    \x\().4s, \x\().4s, v29.4s
.endm

// The cell update of the units in v0-v3 and v7; h lands in v4.
.macro CELL
        fmax    v0.4s, v0.4s, v16.4s
        fmax    v1.4s, v1.4s, v16.4s
        fmax    v2.4s, v2.4s, v16.4s
        fmax    v3.4s, v3.4s, v16.4s
        fmin    v0.4s, v0.4s, v17.4s
        fmin    v1.4s, v1.4s, v17.4s
        fmin    v2.4s, v2.4s, v17.4s
        fmin    v3.4s, v3.4s, v17.4s
        SIGMOID v0, v4, v5, v6
        SIGMOID v1, v4, v5, v6
        SIGMOID v2, v4, v5, v6
        TANH    v3, v4, v5, v6
        fmul    v7.4s, v7.4s, v1.4s
        fmla    v7.4s, v0.4s, v3.4s                     // c = f c + i g
        mov     v4.16b, v7.16b
        TANH    v4, v5, v6, v1
        fmul    v4.4s, v4.4s, v2.4s                     // h = o tanh(c)
.endm

BEGIN_FUNCTION xnn_f32_lstm_cell__neon_asm
        cbz     x0, 9f
        add     x5, x1, x0, lsl #2
        add     x6, x5, x0, lsl #2
        add     x7, x6, x0, lsl #2
        ld1r    {v16.4s}, [x4], #4
        ld1r    {v17.4s}, [x4]
        adr     x8, 8f
        ld1r    {v18.4s}, [x8], #4
        ld1r    {v19.4s}, [x8], #4
        ld1r    {v20.4s}, [x8], #4
        ld1r    {v21.4s}, [x8], #4
        ld1r    {v22.4s}, [x8], #4
        ld1r    {v23.4s}, [x8], #4
        ld1r    {v24.4s}, [x8], #4
        ld1r    {v25.4s}, [x8], #4
        ld1r    {v26.4s}, [x8], #4
        ld1r    {v27.4s}, [x8], #4
        ld1r    {v28.4s}, [x8], #4
        fmov    v29.4s, #1.0
        movi    v30.4s, #127

        subs    x0, x0, #4
        b.lo    2f
1:      // four units
        ld1     {v0.4s}, [x1], #16
        ld1     {v1.4s}, [x5], #16
        ld1     {v2.4s}, [x6], #16
        ld1     {v3.4s}, [x7], #16
        ld1     {v7.4s}, [x2]
        CELL
        st1     {v7.4s}, [x2], #16
        st1     {v4.4s}, [x3], #16
        subs    x0, x0, #4
        b.hs    1b
2:      adds    x0, x0, #4
        b.eq    9f
3:      // one unit
        ldr     s0, [x1], #4
        ldr     s1, [x5], #4
        ldr     s2, [x6], #4
        ldr     s3, [x7], #4
        ldr     s7, [x2]
        CELL
        str     s7, [x2], #4
        str     s4, [x3], #4
        subs    x0, x0, #1
        b.ne    3b
9:      ret

        .p2align 2
8:      .float  -87.0, 88.0, 1.44269504
        .float  0.693359375, -2.12194440e-4
        .float  1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1
        .float  5.0000001201e-1
END_FUNCTION xnn_f32_lstm_cell__neon_asm
