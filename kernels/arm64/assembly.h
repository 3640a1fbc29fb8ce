// Macros shared by the AArch64 assembly kernels: one source for ELF (Linux, Android) and Mach-O
// (macOS, iOS): Mach-O prefixes C symbols with '_' and has no .type/.size; symbols stay internal
// to the library either way (.hidden / .private_extern).
#pragma once

#if defined(__APPLE__)
.macro BEGIN_FUNCTION name
        .text
        .p2align 4
        .globl _\name
        .private_extern _\name
_\name:
.endm
.macro END_FUNCTION name
.endm
#else
.macro BEGIN_FUNCTION name
        .text
        .p2align 4
        .globl \name
        .hidden \name
        .type \name, %function
\name:
.endm
.macro END_FUNCTION name
        .size \name, .-\name
.endm
#endif

// The GEMM tiles' activation (kernels/params.h) on the accumulators v<regs> (a multiple of 4 of them):
// y = max(x, 0) + slope * min(x, 0), skipped when slope is 1, then clamped to [min, max]. Loads {slope,
// min, max} from [params] (advancing it) into v5, v6, v7; \tmp and \zero are scratch vector registers,
// w9 and w11 scratch. The lists are walked four registers per level of recursion (an .irp inside a
// macro does not substitute on every assembler, and clang nests macros at most 20 deep).
.macro GEMM_LEAKY1 tmp, zero, r
        fmin    \tmp\().4s, v\r\().4s, \zero\().4s
        fmax    v\r\().4s, v\r\().4s, \zero\().4s
        fmla    v\r\().4s, \tmp\().4s, v5.4s
.endm
.macro GEMM_LEAKY tmp, zero, r0, r1, r2, r3, rest:vararg
        GEMM_LEAKY1 \tmp, \zero, \r0
        GEMM_LEAKY1 \tmp, \zero, \r1
        GEMM_LEAKY1 \tmp, \zero, \r2
        GEMM_LEAKY1 \tmp, \zero, \r3
.ifnb \rest
        GEMM_LEAKY \tmp, \zero, \rest
.endif
.endm
// \op (fmax or fmin) of each of v<regs> with \bound.
.macro GEMM_CLAMP op, bound, r0, r1, r2, r3, rest:vararg
        \op    v\r0\().4s, v\r0\().4s, \bound\().4s
        \op    v\r1\().4s, v\r1\().4s, \bound\().4s
        \op    v\r2\().4s, v\r2\().4s, \bound\().4s
        \op    v\r3\().4s, v\r3\().4s, \bound\().4s
.ifnb \rest
        GEMM_CLAMP \op, \bound, \rest
.endif
.endm
.macro GEMM_ACTIVATION params, tmp, zero, regs:vararg
        ld1r    {v5.4s}, [\params], 4
        ld1r    {v6.4s}, [\params], 4
        ld1r    {v7.4s}, [\params]
        fmov    \tmp\().4s, 1.0
        fcmeq   \tmp\().4s, v5.4s, \tmp\().4s
        umov    w9, \tmp\().s[0]
        cbnz    w9, 8901f
        movi    \zero\().4s, 0
        GEMM_LEAKY \tmp, \zero, \regs
8901:
        GEMM_CLAMP fmax, v6, \regs
        // No upper clamp (a ReLU's max is +inf): skip the 8 to 24 fmin.
        fmov    w9, s7
        mov     w11, 0x7f800000
        cmp     w9, w11
        b.eq    8902f
        GEMM_CLAMP fmin, v7, \regs
8902:
.endm

// The SpMM kernels' (kernels/spmm.h) common entry: out_stride and residual from the stack into x8 (bytes)
// and x9, {slope, min, max} into v29-v31, zero into v28, in_stride (x3) into bytes; x10 is scratch.
.macro SPMM_ENTER
        ldp     x8, x9, [sp]
        ldr     x10, [sp, 16]
        ld1r    {v29.4s}, [x10], 4
        ld1r    {v30.4s}, [x10], 4
        ld1r    {v31.4s}, [x10]
        movi    v28.4s, 0
        lsl     x3, x3, 2
        lsl     x8, x8, 2
.endm
// Moves the SpMM kernels' input (x2), output (x7) and residual (x9, if any) on by `bytes`.
.macro SPMM_ADVANCE bytes
        add     x2, x2, \bytes
        add     x7, x7, \bytes
        cbz     x9, 8903f
        add     x9, x9, \bytes
8903:
.endm

#if defined(__ELF__)
        .section .note.GNU-stack, "", %progbits
#endif
