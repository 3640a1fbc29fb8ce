/* The FMA issue rate of this machine's cores: twelve independent chains of vector FMAs per thread, no
 * memory operands, so the only limit is how many FMAs the core starts a cycle (and its clock).
 * bench/roofline.py builds and runs it:
 *
 *     cc -O2 -mavx512f -DWIDTH=16 bench/fma_peak.c -o fma_peak -lpthread && ./fma_peak 2
 *     cc -O2 -mavx2 -mfma -DWIDTH=8 bench/fma_peak.c -o fma_peak -lpthread && ./fma_peak 1
 *
 * prints GFLOP/s (2 per lane per FMA) for N threads together, best of 15 timings of 20 M iterations. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if WIDTH == 16
typedef __m512 vec;
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
static float lane0(vec v) { return _mm512_cvtss_f32(v); }
#else
typedef __m256 vec;
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
static float lane0(vec v) { return _mm256_cvtss_f32(v); }
#endif

enum { ITERS = 20 * 1000 * 1000, CHAINS = 12, TIMINGS = 15 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Written out, not as an array: an array of accumulators can end up in memory, and then it measures
 * store-to-load forwarding. */
static void* chains(void* out) {
  const vec m = SET1(0.999999f), c = SET1(1e-7f);
  vec a0 = SET1(1), a1 = SET1(2), a2 = SET1(3), a3 = SET1(4), a4 = SET1(5), a5 = SET1(6);
  vec a6 = SET1(7), a7 = SET1(8), a8 = SET1(9), a9 = SET1(10), a10 = SET1(11), a11 = SET1(12);
  for (long i = 0; i < ITERS; i++) {
    a0 = FMA(a0, m, c), a1 = FMA(a1, m, c), a2 = FMA(a2, m, c), a3 = FMA(a3, m, c);
    a4 = FMA(a4, m, c), a5 = FMA(a5, m, c), a6 = FMA(a6, m, c), a7 = FMA(a7, m, c);
    a8 = FMA(a8, m, c), a9 = FMA(a9, m, c), a10 = FMA(a10, m, c), a11 = FMA(a11, m, c);
  }
  *(float*)out = lane0(a0) + lane0(a1) + lane0(a2) + lane0(a3) + lane0(a4) + lane0(a5) + lane0(a6) + lane0(a7) +
                 lane0(a8) + lane0(a9) + lane0(a10) + lane0(a11);
  return NULL;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 64) return 2;
  pthread_t th[64];
  float sink[64];
  double best = 1e30;
  for (int r = 0; r < TIMINGS; r++) {
    const double t0 = now();
    for (int t = 1; t < threads; t++) pthread_create(&th[t], NULL, chains, &sink[t]);
    chains(&sink[0]);
    for (int t = 1; t < threads; t++) pthread_join(th[t], NULL);
    const double dt = now() - t0;
    if (dt < best) best = dt;
  }
  printf("%.1f\n", (double)threads * ITERS * CHAINS * WIDTH * 2 / best * 1e-9);
  return sink[0] == 12345.0f; /* keeps the chains' results alive */
}
