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
// w9 a scratch. The lists are walked four registers per level of recursion (an .irp inside a macro does
// not substitute on every assembler, and clang nests macros at most 20 deep).
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
.macro GEMM_CLAMP1 r
        fmax    v\r\().4s, v\r\().4s, v6.4s
        fmin    v\r\().4s, v\r\().4s, v7.4s
.endm
.macro GEMM_CLAMP r0, r1, r2, r3, rest:vararg
        GEMM_CLAMP1 \r0
        GEMM_CLAMP1 \r1
        GEMM_CLAMP1 \r2
        GEMM_CLAMP1 \r3
.ifnb \rest
        GEMM_CLAMP \rest
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
        GEMM_CLAMP \regs
.endm

#if defined(__ELF__)
        .section .note.GNU-stack, "", %progbits
#endif
