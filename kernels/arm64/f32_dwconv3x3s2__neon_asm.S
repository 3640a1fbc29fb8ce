// xnn_f32_dwconv3x3s2__neon_asm: depthwise 3x3, stride 2, on a zero-padded plane (kernels/dwconv.h),
// AArch64 NEON. 8 outputs of one row per step: two LD2 split 16 input columns into even (tap 0) and odd
// (tap 1) lanes, and tap 2 is the even lanes shifted by one (EXT of the two evens, and of the second
// evens with column 16). Per output a third fewer instructions than 4 outputs per step, whose second
// LD2 served one column.
//
// void xnn_f32_dwconv3x3s2__neon_asm(
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
//   w0-w8      v16-v24;  bias v25;  slope v26, min v27, max v28; zero v29
//   input      v0/v1 even/odd of columns 0-7, v2/v3 of columns 8-15, v4 column 16, v5 v6 the evens
//              shifted by one (columns 2-8 and 10-16); v0 v1 scratch in the epilogue
//   acc        v30 outputs 0-3, v31 outputs 4-7
//   x7-x9      row pointers (advance 64 bytes per step); x12 rows left; x11 columns left
//   w14        nonzero when slope is 1 (identity, or a fused ReLU: xnn_f32_act_simplify): no leaky part
//   w16        nonzero when max is +inf (identity, ReLU, leaky): no upper clamp
// Kernels may read up to XNN_DWCONV_EXTRA floats past the last tap of a row; stores are exact.

#include "kernels/arm64/assembly.h"

// One input row's three taps with weights v\w0 v\w1 v\w2 into v30 (outputs 0-3) and v31 (4-7).
.macro DW2_TAPS w0, w1, w2
        fmla    v30.4s, v0.4s, v\w0\().4s
        fmla    v31.4s, v2.4s, v\w0\().4s
        fmla    v30.4s, v1.4s, v\w1\().4s
        fmla    v31.4s, v3.4s, v\w1\().4s
        fmla    v30.4s, v5.4s, v\w2\().4s
        fmla    v31.4s, v6.4s, v\w2\().4s
.endm

BEGIN_FUNCTION xnn_f32_dwconv3x3s2__neon_asm
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
        fmov    v31.4s, 1.0
        fcmeq   v31.4s, v26.4s, v31.4s
        umov    w14, v31.s[0]
        fmov    w16, s28
        mov     w17, 0x7f800000
        cmp     w16, w17
        cset    w16, eq
        lsl     x3, x3, 2                       // in_stride in bytes
        mov     x12, x0

0:      mov     x7, x2                          // input rows 2*oy, 2*oy+1, 2*oy+2
        add     x8, x2, x3
        add     x9, x8, x3
        mov     x11, x1
1:      mov     v30.16b, v25.16b
        mov     v31.16b, v25.16b
.irp row, 7, 8, 9
        ld2     {v0.4s, v1.4s}, [x\row], 32     // columns 0-7: v0 = 0 2 4 6, v1 = 1 3 5 7
        ld2     {v2.4s, v3.4s}, [x\row], 32     // columns 8-15
        ldr     s4, [x\row]                     // column 16
        ext     v5.16b, v0.16b, v2.16b, 4       // 2 4 6 8
        ext     v6.16b, v2.16b, v4.16b, 4       // 10 12 14 16
.if \row == 7
        DW2_TAPS 16, 17, 18
.elseif \row == 8
        DW2_TAPS 19, 20, 21
.else
        DW2_TAPS 22, 23, 24
.endif
.endr
        cbnz    w14, 5f
        fmin    v0.4s, v30.4s, v29.4s
        fmin    v1.4s, v31.4s, v29.4s
        fmax    v30.4s, v30.4s, v29.4s
        fmax    v31.4s, v31.4s, v29.4s
        fmla    v30.4s, v0.4s, v26.4s
        fmla    v31.4s, v1.4s, v26.4s
5:      fmax    v30.4s, v30.4s, v27.4s
        fmax    v31.4s, v31.4s, v27.4s
        cbnz    w16, 6f
        fmin    v30.4s, v30.4s, v28.4s
        fmin    v31.4s, v31.4s, v28.4s
6:      subs    x11, x11, 8
        b.lo    2f
        st1     {v30.4s, v31.4s}, [x5], 32
        b.ne    1b
        b       8f

        // Tail: 1 to 7 outputs (x11 + 8 of them).
2:      add     x11, x11, 8
        tbz     x11, 2, 3f
        st1     {v30.4s}, [x5], 16
        mov     v30.16b, v31.16b
3:      tbz     x11, 1, 4f
        st1     {v30.2s}, [x5], 8
        ext     v30.16b, v30.16b, v30.16b, 8
4:      tbz     x11, 0, 8f
        st1     {v30.s}[0], [x5], 4

8:      add     x2, x2, x3, lsl 1               // next output row: two input rows down
        subs    x12, x12, 1
        b.ne    0b
9:      ret
END_FUNCTION xnn_f32_dwconv3x3s2__neon_asm
