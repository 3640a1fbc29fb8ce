#include "core/cpu.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static uint32_t detect(void) {
  unsigned a, b, c, d;
  uint32_t flags = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!osxsave || !avx) return 0;
  /* The OS must save the wide registers, or using them corrupts state on a context switch. */
  unsigned xlo, xhi;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  (void)xhi;
  const int ymm = (xlo & 0x6) == 0x6, zmm = (xlo & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  if (ymm && fma && ((b >> 5) & 1)) flags |= XNN_CPU_AVX2;
  if (zmm && ((b >> 16) & 1) && (flags & XNN_CPU_AVX2)) flags |= XNN_CPU_AVX512F;
  return flags;
}
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
static uint32_t detect(void) {
  uint32_t flags = XNN_CPU_NEON;
  unsigned long hw = getauxval(AT_HWCAP);
  if (hw & (1UL << 10)) flags |= XNN_CPU_NEON_FP16; /* HWCAP_ASIMDHP */
  if (hw & (1UL << 20)) flags |= XNN_CPU_NEON_DOT;  /* HWCAP_ASIMDDP */
  return flags;
}
#elif defined(__aarch64__)
static uint32_t detect(void) { return XNN_CPU_NEON; }
#else
static uint32_t detect(void) { return 0; }
#endif

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static uint32_t g_flags;
static char g_names[96];

static void init(void) {
  g_flags = detect();
  g_names[0] = '\0';
  static const struct { uint32_t bit; const char* name; } names[] = {
      {XNN_CPU_AVX2, "avx2 fma"}, {XNN_CPU_AVX512F, "avx512f"}, {XNN_CPU_NEON, "neon"},
      {XNN_CPU_NEON_FP16, "fp16"}, {XNN_CPU_NEON_DOT, "dotprod"}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (!(g_flags & names[i].bit)) continue;
    if (g_names[0]) strcat(g_names, " ");
    strcat(g_names, names[i].name);
  }
  if (!g_names[0]) strcpy(g_names, "scalar");
}

uint32_t xnn_cpu_flags(void) {
  pthread_once(&g_once, init);
  return g_flags;
}

const char* xnn_cpu_features(void) {
  pthread_once(&g_once, init);
  return g_names;
}
