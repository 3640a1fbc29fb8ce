// xnn_f32_dwconv3x3s1__neon_asm: depthwise 3x3, stride 1, on a zero-padded plane (kernels/dwconv.h),
// AArch64 NEON. Each pass makes two output rows from four input rows, 8 outputs of each per step: the
// two middle input rows feed both output rows, so they are loaded and shifted once for 12 fmla instead of
// twice for 6 (a third fewer loads and EXTs than one row at a time; the shifted vectors come from EXT of
// one load). An odd last row goes through the same steps with one output row.
//
// void xnn_f32_dwconv3x3s1__neon_asm(
//     size_t oh,                          x0
//     size_t ow,                          x1
//     const float* in,                    x2    padded plane, in_stride floats per row
//     size_t in_stride,                   x3
//     const float* w,                     x4    9 weights, row-major
//     float bias,                         s0
//     float* out,                         x5    oh rows of ow floats
//     const xnn_f32_act_params* params)   x6    {slope, min, max}
//
// Register usage
//   w0-w8      v16-v24 (each weight broadcast)
//   bias       v25;  slope v26, min v27, max v28; zero v29
//   input      v0-v2 one row (12 floats: outputs 0-7 need inputs 0-9); v3 v5 its columns 1-4 and 2-5,
//              v4 v2 its columns 5-8 and 6-9 (v2 is overwritten once its last use as input is past);
//              v0-v3 scratch in the epilogue
//   acc        v30 v31 row oy (outputs 0-3, 4-7), v6 v7 row oy+1
//   v8-v15 are not touched: their low halves are callee-saved (AAPCS64).
//   x7-x10     input rows oy..oy+3 (advance 32 bytes per step, x15 = 32); x5 x13 output rows oy, oy+1
//   x11        columns left; x12 rows left
//   w14        nonzero when slope is 1 (identity, or a fused ReLU: xnn_f32_act_simplify): no leaky part
//   w16        nonzero when max is +inf (identity, ReLU, leaky): no upper clamp, 1 branch for 2-4 fmin
// Kernels may read up to XNN_DWCONV_EXTRA floats past the last tap of a row; stores are exact.

#include "kernels/arm64/assembly.h"

// v\a0 += \in0 * v\w, v\a1 += \in1 * v\w, and the same into v\b0 v\b1 with v\wb when \b0 is given.
.macro DW_TAPS in0, in1, a0, a1, w, b0, b1, wb
        fmla    v\a0\().4s, \in0\().4s, v\w\().4s
        fmla    v\a1\().4s, \in1\().4s, v\w\().4s
.ifnb \b0
        DW_TAPS \in0, \in1, \b0, \b1, \wb
.endif
.endm

// One input row at [\ptr] (advanced by a step) into accumulators v\a0 v\a1 with weights v\wa0..2 and,
// when \b0 is given, into v\b0 v\b1 with weights v\wb0..2. The first taps go before the second EXT
// pair so that the loads' latency is hidden.
.macro DW_ROW ptr, a0, a1, wa0, wa1, wa2, b0, b1, wb0, wb1, wb2
        ld1     {v0.4s, v1.4s, v2.4s}, [\ptr], x15
        ext     v3.16b, v0.16b, v1.16b, 4
        ext     v4.16b, v1.16b, v2.16b, 4
        DW_TAPS v0, v1, \a0, \a1, \wa0, \b0, \b1, \wb0
        ext     v5.16b, v0.16b, v1.16b, 8
        ext     v2.16b, v1.16b, v2.16b, 8
        DW_TAPS v3, v4, \a0, \a1, \wa1, \b0, \b1, \wb1
        DW_TAPS v5, v2, \a0, \a1, \wa2, \b0, \b1, \wb2
.endm

// \op of each of v\r0 v\r1 (and v\r2 v\r3 when given) with \b, into \d0.. (default: in place).
.macro DW_EACH op, b, r0, r1, r2, r3, d0=, d1=, d2=, d3=
.ifb \d0
        DW_EACH \op, \b, \r0, \r1, \r2, \r3, v\r0, v\r1, v\r2, v\r3
.else
        \op    \d0\().4s, v\r0\().4s, \b\().4s
        \op    \d1\().4s, v\r1\().4s, \b\().4s
.ifnb \r2
        \op    \d2\().4s, v\r2\().4s, \b\().4s
        \op    \d3\().4s, v\r3\().4s, \b\().4s
.endif
.endif
.endm

// y = max(x, 0) + slope * min(x, 0), clamped to [min, max], on v\r0 v\r1 and, when given, v\r2 v\r3;
// v0-v3 hold their negative parts.
.macro DW_ACT r0, r1, r2, r3
        cbnz    w14, 7f
        DW_EACH fmin, v29, \r0, \r1, \r2, \r3, v0, v1, v2, v3
        DW_EACH fmax, v29, \r0, \r1, \r2, \r3
        fmla    v\r0\().4s, v0.4s, v26.4s
        fmla    v\r1\().4s, v1.4s, v26.4s
.ifnb \r2
        fmla    v\r2\().4s, v2.4s, v26.4s
        fmla    v\r3\().4s, v3.4s, v26.4s
.endif
7:      DW_EACH fmax, v27, \r0, \r1, \r2, \r3
        cbnz    w16, 17f
        DW_EACH fmin, v28, \r0, \r1, \r2, \r3
17:
.endm

// The last 1 to 7 outputs of a row (x11 + 8 of them, x11 being what the step's subs left) from v30 v31
// to [x5] and, with \two, from v6 v7 to [x13].
.macro DW_TAIL two
        add     x11, x11, 8
        tbz     x11, 2, 3f
        st1     {v30.4s}, [x5], 16
        mov     v30.16b, v31.16b
.ifnb \two
        st1     {v6.4s}, [x13], 16
        mov     v6.16b, v7.16b
.endif
3:      tbz     x11, 1, 4f
        st1     {v30.2s}, [x5], 8
        ext     v30.16b, v30.16b, v30.16b, 8
.ifnb \two
        st1     {v6.2s}, [x13], 8
        ext     v6.16b, v6.16b, v6.16b, 8
.endif
4:      tbz     x11, 0, 5f
        st1     {v30.s}[0], [x5], 4
.ifnb \two
        st1     {v6.s}[0], [x13], 4
.endif
5:
.endm

BEGIN_FUNCTION xnn_f32_dwconv3x3s1__neon_asm
        cbz     x0, 9f
        cbz     x1, 9f
        ld1r    {v16.4s}, [x4], 4
        ld1r    {v17.4s}, [x4], 4
        ld1r    {v18.4s}, [x4], 4
        ld1r    {v19.4s}, [x4], 4
        ld1r    {v20.4s}, [x4], 4
        ld1r    {v21.4s}, [x4], 4
        ld1r    {v22.4s}, [x4], 4
        ld1r    {v23.4s}, [x4], 4
        ld1r    {v24.4s}, [x4]
        dup     v25.4s, v0.s[0]
        ld1r    {v26.4s}, [x6], 4
        ld1r    {v27.4s}, [x6], 4
        ld1r    {v28.4s}, [x6]
        movi    v29.4s, 0
        fmov    v3.4s, 1.0
        fcmeq   v3.4s, v26.4s, v3.4s
        umov    w14, v3.s[0]
        fmov    w16, s28
        mov     w17, 0x7f800000
        cmp     w16, w17
        cset    w16, eq
        mov     x15, 32
        lsl     x3, x3, 2                       // in_stride in bytes
        mov     x12, x0

0:      subs    x12, x12, 2
        b.lo    6f
        mov     x7, x2
        add     x8, x2, x3
        add     x9, x8, x3
        add     x10, x9, x3
        add     x13, x5, x1, lsl 2              // output row oy+1
        mov     x11, x1
1:      mov     v30.16b, v25.16b
        mov     v31.16b, v25.16b
        mov     v6.16b, v25.16b
        mov     v7.16b, v25.16b
        // Input row oy+k is tap row k of output row oy and tap row k-1 of output row oy+1.
        DW_ROW  x7, 30, 31, 16, 17, 18
        DW_ROW  x8, 30, 31, 19, 20, 21, 6, 7, 16, 17, 18
        DW_ROW  x9, 30, 31, 22, 23, 24, 6, 7, 19, 20, 21
        DW_ROW  x10, 6, 7, 22, 23, 24
        DW_ACT  30, 31, 6, 7
        subs    x11, x11, 8
        b.lo    2f
        st1     {v30.4s, v31.4s}, [x5], 32
        st1     {v6.4s, v7.4s}, [x13], 32
        b.ne    1b
        b       8f
2:      DW_TAIL two
8:      mov     x5, x13                         // past row oy+1
        add     x2, x2, x3, lsl 1
        b       0b

        // Odd oh: the last row alone (x12 is -1 here, -2 when oh was even).
6:      tbz     x12, 0, 9f
        mov     x7, x2
        add     x8, x2, x3
        add     x9, x8, x3
        mov     x11, x1
1:      mov     v30.16b, v25.16b
        mov     v31.16b, v25.16b
        DW_ROW  x7, 30, 31, 16, 17, 18
        DW_ROW  x8, 30, 31, 19, 20, 21
        DW_ROW  x9, 30, 31, 22, 23, 24
        DW_ACT  30, 31
        subs    x11, x11, 8
        b.lo    2f
        st1     {v30.4s, v31.4s}, [x5], 32
        b.ne    1b
        ret
2:      DW_TAIL
9:      ret
END_FUNCTION xnn_f32_dwconv3x3s1__neon_asm
