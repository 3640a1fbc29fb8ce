#include "core/cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
  if (__get_cpuid(0, &a, &b, &c, &d) && b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e) /* GenuineIntel */
    flags |= XNN_CPU_INTEL;
  if (__get_cpuid(0, &a, &b, &c, &d) && b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163 && /* AuthenticAMD */
      __get_cpuid(1, &a, &b, &c, &d) && ((a >> 8) & 0xf) + ((a >> 20) & 0xff) == 0x19 && (flags & XNN_CPU_AVX512F))
    flags |= XNN_CPU_AVX512_HALVED; /* family 19h with AVX-512 is Zen 4 (Zen 3 has none, Zen 5 is 1Ah) */
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
static size_t g_l1d = 32 * 1024, g_l2 = 512 * 1024, g_llc;

/* Reads cpu0's cache description from sysfs ("index<i>/level", "type", "size" such as "1024K"). */
static size_t sysfs_cache(int level) {
  for (int i = 0; i < 8; i++) {
    char path[96], buf[32];
    int lv = 0;
    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    FILE* f = fopen(path, "r");
    if (!f) break;
    if (fscanf(f, "%d", &lv) != 1) lv = 0;
    fclose(f);
    if (lv != level) continue;
    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
    if (!(f = fopen(path, "r"))) continue;
    const int ok = fscanf(f, "%31s", buf) == 1 && strcmp(buf, "Instruction") != 0;
    fclose(f);
    if (!ok) continue;
    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    if (!(f = fopen(path, "r"))) continue;
    unsigned long v = 0;
    char unit = 0;
    const int n = fscanf(f, "%lu%c", &v, &unit);
    fclose(f);
    if (n < 1 || v == 0) continue;
    if (n == 2 && (unit == 'K' || unit == 'k')) v *= 1024;
    if (n == 2 && (unit == 'M' || unit == 'm')) v *= 1024 * 1024;
    /* Anything outside 4 KB..64 MB is a misreading, not a cache. */
    if (v >= 4096 && v <= 64ul * 1024 * 1024) return (size_t)v;
  }
  return 0;
}

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
  const size_t l1 = sysfs_cache(1), l2 = sysfs_cache(2);
  if (l1) g_l1d = l1;
  if (l2) g_l2 = l2;
  const char* env = getenv("XNN_L2_BYTES");
  if (env && *env) {
    const unsigned long v = strtoul(env, NULL, 10);
    if (v >= 16 * 1024 && v <= 64ul * 1024 * 1024) g_l2 = (size_t)v;
  }
  g_llc = XNN_MAX(sysfs_cache(3), g_l2);
}

uint32_t xnn_cpu_flags(void) {
  pthread_once(&g_once, init);
  return g_flags;
}

const char* xnn_cpu_features(void) {
  pthread_once(&g_once, init);
  return g_names;
}

size_t xnn_cpu_l1d_bytes(void) {
  pthread_once(&g_once, init);
  return g_l1d;
}

size_t xnn_cpu_l2_bytes(void) {
  pthread_once(&g_once, init);
  return g_l2;
}

size_t xnn_cpu_llc_bytes(void) {
  pthread_once(&g_once, init);
  return g_llc;
}
