/* CPU features, detected once per process. */
#pragma once
#include "core/common.h"

enum {
  XNN_CPU_AVX2 = 1 << 0, /* with FMA3 */
  XNN_CPU_AVX512F = 1 << 1,
  XNN_CPU_NEON = 1 << 2,
  XNN_CPU_NEON_FP16 = 1 << 3,
  XNN_CPU_NEON_DOT = 1 << 4,
};

XNN_INTERNAL uint32_t xnn_cpu_flags(void);
