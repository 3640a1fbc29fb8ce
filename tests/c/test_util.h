/* Helpers shared by xnn's C tests: failure reporting, file reading, the deterministic input
 * (mirrors lcg_input() of tests/c/make_reference.py) and reference files. Plain C11. */
#ifndef XNN_TEST_UTIL_H
#define XNN_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xnn/xnn.h"

static int g_failures = 0;

#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);      \
      fprintf(stderr, __VA_ARGS__);                                        \
      fprintf(stderr, "\n");                                               \
      g_failures++;                                                        \
    }                                                                      \
  } while (0)

/* Checks that a call returns `want`; prints the status and xnn_last_error() otherwise. */
#define CHECK_STATUS(call, want)                                                               \
  do {                                                                                         \
    xnn_status st_ = (call);                                                                   \
    if (st_ != (want)) {                                                                       \
      fprintf(stderr, "FAIL %s:%d: %s returned %d (%s), expected %d (%s); last error: %s\n",  \
              __FILE__, __LINE__, #call, (int)st_, xnn_status_string(st_), (int)(want),        \
              xnn_status_string(want), xnn_last_error());                                      \
      g_failures++;                                                                            \
    }                                                                                          \
  } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, XNN_OK)

/* Stops the test (returns 1 from main) when a precondition of the rest fails. */
#define REQUIRE(cond, ...)                                                 \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "FATAL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
      fprintf(stderr, __VA_ARGS__);                                        \
      fprintf(stderr, "\n");                                               \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

static inline double test_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Whole file into a malloc'd buffer (one extra NUL byte, not counted). NULL if it cannot be read. */
static inline void* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0) {
    fclose(f);
    return NULL;
  }
  long n = ftell(f);
  if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  char* buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    *size = (size_t)n;
  }
  return buf;
}

/* The deterministic input: x[i] = ((s >> 8) / 2^24) * 2 - 1, s = 1664525 s + 1013904223 (mod 2^32),
 * starting from s = 12345. Exact in float32, identical to make_reference.py. */
static inline void lcg_input(float* x, size_t n) {
  uint32_t s = 12345u;
  for (size_t i = 0; i < n; i++) {
    s = 1664525u * s + 1013904223u;
    x[i] = (float)((double)(s >> 8) / 16777216.0 * 2.0 - 1.0);
  }
}

/* A small deterministic PRNG for the fuzzers (xorshift64*). */
typedef struct test_rng {
  uint64_t s;
} test_rng;

static inline uint64_t rng_next(test_rng* r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 2685821657736338717ull;
}

static inline size_t rng_below(test_rng* r, size_t n) { return n ? (size_t)(rng_next(r) % n) : 0; }

/* A reference tensor written by make_reference.py: int32 ndim, int32 dims[ndim], float32 data. */
typedef struct ref_tensor {
  xnn_shape shape;
  size_t count;
  float* data;
} ref_tensor;

static inline int read_reference(const char* path, ref_tensor* t) {
  size_t size = 0;
  unsigned char* raw = read_file(path, &size);
  memset(t, 0, sizeof(*t));
  if (!raw) return 0;
  int32_t ndim;
  if (size < 4) goto bad;
  memcpy(&ndim, raw, 4);
  if (ndim < 1 || ndim > XNN_MAX_DIMS || size < 4 + 4 * (size_t)ndim) goto bad;
  t->shape.ndim = ndim;
  t->count = 1;
  for (int32_t i = 0; i < ndim; i++) {
    int32_t d;
    memcpy(&d, raw + 4 + 4 * i, 4);
    t->shape.dims[i] = d;
    t->count *= (size_t)d;
  }
  if (size != 4 + 4 * (size_t)ndim + 4 * t->count) goto bad;
  t->data = malloc(t->count * sizeof(float));
  if (!t->data) goto bad;
  memcpy(t->data, raw + 4 + 4 * ndim, t->count * sizeof(float));
  free(raw);
  return 1;
bad:
  free(raw);
  return 0;
}

static inline int shape_equal(const xnn_shape* a, const xnn_shape* b) {
  if (a->ndim != b->ndim) return 0;
  for (int32_t i = 0; i < a->ndim; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

static inline void shape_str(const xnn_shape* s, char* buf, size_t size) {
  size_t pos = 0;
  buf[0] = '\0';
  for (int32_t i = 0; i < s->ndim && pos < size; i++)
    pos += (size_t)snprintf(buf + pos, size - pos, i ? "x%lld" : "%lld", (long long)s->dims[i]);
}

static inline int64_t shape_numel(const xnn_shape* s) {
  int64_t n = 1;
  for (int32_t i = 0; i < s->ndim; i++) n *= s->dims[i];
  return n;
}

/* max |a - b| / max |b|; +inf when a value is not finite. */
static inline double rel_max_error(const float* a, const float* b, size_t n) {
  double maxdiff = 0.0, maxref = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(a[i])) return INFINITY;
    const double d = fabs((double)a[i] - (double)b[i]);
    if (d > maxdiff) maxdiff = d;
    if (fabs((double)b[i]) > maxref) maxref = fabs((double)b[i]);
  }
  return maxref > 0.0 ? maxdiff / maxref : maxdiff;
}

#endif /* XNN_TEST_UTIL_H */
