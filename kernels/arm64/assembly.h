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

#if defined(__ELF__)
        .section .note.GNU-stack, "", %progbits
#endif
