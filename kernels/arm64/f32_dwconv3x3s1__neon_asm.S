// xnn_f32_dwconv3x3s1__neon_asm: depthwise 3x3, stride 1, on a zero-padded plane (kernels/dwconv.h),
// AArch64 NEON. 8 outputs of one row per step; the shifted input vectors come from EXT of two loads,
// so each input row is loaded once per step.
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
//   input      v0-v2 one row (12 floats), v3-v6 its shifts by 1 and 2; v3 v4 scratch in the epilogue
//   acc        v30 (outputs 0-3), v31 (outputs 4-7)
//   v8-v15 are not touched: their low halves are callee-saved (AAPCS64).
//   x7-x9      row pointers (advance 32 bytes per step, x10 = 32); x11 columns left; x12 rows left
//   w14        nonzero when slope is 1 (identity, or a fused ReLU: xnn_f32_act_simplify): no leaky part
// Kernels may read up to XNN_DWCONV_EXTRA floats past the last tap of a row; stores are exact.

#include "kernels/arm64/assembly.h"

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
        mov     x10, 32
        lsl     x3, x3, 2                       // in_stride in bytes
        mov     x12, x0

0:      mov     x7, x2                          // input rows oy, oy+1, oy+2
        add     x8, x2, x3
        add     x9, x8, x3
        mov     x11, x1
1:      mov     v30.16b, v25.16b
        mov     v31.16b, v25.16b
        // One input row at a time: 12 floats (outputs 0-7 need inputs 0-9) and their shifts by 1 and 2.
.irp row, 7, 8, 9
        ld1     {v0.4s, v1.4s, v2.4s}, [x\row], x10
        ext     v3.16b, v0.16b, v1.16b, 4
        ext     v4.16b, v0.16b, v1.16b, 8
        ext     v5.16b, v1.16b, v2.16b, 4
        ext     v6.16b, v1.16b, v2.16b, 8
.if \row == 7
        fmla    v30.4s, v0.4s, v16.4s
        fmla    v31.4s, v1.4s, v16.4s
        fmla    v30.4s, v3.4s, v17.4s
        fmla    v31.4s, v5.4s, v17.4s
        fmla    v30.4s, v4.4s, v18.4s
        fmla    v31.4s, v6.4s, v18.4s
.elseif \row == 8
        fmla    v30.4s, v0.4s, v19.4s
        fmla    v31.4s, v1.4s, v19.4s
        fmla    v30.4s, v3.4s, v20.4s
        fmla    v31.4s, v5.4s, v20.4s
        fmla    v30.4s, v4.4s, v21.4s
        fmla    v31.4s, v6.4s, v21.4s
.else
        fmla    v30.4s, v0.4s, v22.4s
        fmla    v31.4s, v1.4s, v22.4s
        fmla    v30.4s, v3.4s, v23.4s
        fmla    v31.4s, v5.4s, v23.4s
        fmla    v30.4s, v4.4s, v24.4s
        fmla    v31.4s, v6.4s, v24.4s
.endif
.endr
        // y = max(x, 0) + slope * min(x, 0), clamped to [min, max]
        cbnz    w14, 5f
        fmin    v3.4s, v30.4s, v29.4s
        fmin    v4.4s, v31.4s, v29.4s
        fmax    v30.4s, v30.4s, v29.4s
        fmax    v31.4s, v31.4s, v29.4s
        fmla    v30.4s, v3.4s, v26.4s
        fmla    v31.4s, v4.4s, v26.4s
5:      fmax    v30.4s, v30.4s, v27.4s
        fmax    v31.4s, v31.4s, v27.4s
        fmin    v30.4s, v30.4s, v28.4s
        fmin    v31.4s, v31.4s, v28.4s
        subs    x11, x11, 8
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

8:      add     x2, x2, x3                      // next output row
        subs    x12, x12, 1
        b.ne    0b
9:      ret
END_FUNCTION xnn_f32_dwconv3x3s1__neon_asm
