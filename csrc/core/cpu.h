/* CPU features, detected once per process. */
#pragma once
#include "core/common.h"

enum {
  XNN_CPU_AVX2 = 1 << 0, /* with FMA3 */
  XNN_CPU_AVX512F = 1 << 1,
  XNN_CPU_NEON = 1 << 2,
  XNN_CPU_NEON_FP16 = 1 << 3,
  XNN_CPU_NEON_DOT = 1 << 4,
  XNN_CPU_INTEL = 1 << 5, /* x86 from Intel: a tuning hint (kernels.c), not a feature */
  XNN_CPU_AVX512_HALVED = 1 << 6, /* 512-bit operations run as two 256-bit halves (AMD Zen 4): a tuning hint */
};

XNN_INTERNAL uint32_t xnn_cpu_flags(void);

/* Per-core data cache sizes in bytes, for blocking: from Linux sysfs where present, else typical values
 * (L1 32 KB; L2 512 KB). Detected once per process; XNN_L2_BYTES in the environment overrides L2. */
XNN_INTERNAL size_t xnn_cpu_l1d_bytes(void);
XNN_INTERNAL size_t xnn_cpu_l2_bytes(void);
/* The last level of cache (L3 where sysfs has one, else L2): weights larger than it come from memory on
 * every run. */
XNN_INTERNAL size_t xnn_cpu_llc_bytes(void);
