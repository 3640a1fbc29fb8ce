/* What the libFuzzer targets (fuzz_caffe.c, fuzz_xnn.c) do with a model that loads: the steps an app
 * takes (sessions with 1 and 2 threads, the declared shapes and another small one, inputs, one run,
 * outputs), so that a plan the loader accepted is also exercised by the planner and the runner. */
#ifndef XNN_FUZZ_SESSION_H
#define XNN_FUZZ_SESSION_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xnn/xnn.h"

/* Allocations above this return NULL instead of ending the run (libFuzzer's -malloc_limit_mb=1024 is
 * above it): a model may declare shapes that need gigabytes, and the loader must then report
 * XNN_ERROR_OUT_OF_MEMORY cleanly, which is what the fuzzer checks. */
const char* __asan_default_options(void) { return "allocator_may_return_null=1:max_allocation_size_mb=768"; }

/* A plan is run only when it is cheap, so that each input takes milliseconds. */
#define FUZZ_MAX_ARENA_BYTES ((size_t)32 << 20)
#define FUZZ_MAX_MACS ((int64_t)20 * 1000 * 1000)

static int64_t fuzz_numel(const xnn_shape* s) {
  int64_t n = 1;
  for (int32_t i = 0; i < s->ndim; i++) {
    if (s->dims[i] <= 0 || s->dims[i] > (1 << 24) || n > ((int64_t)1 << 24)) return -1;
    n *= s->dims[i];
  }
  return n <= ((int64_t)1 << 24) ? n : -1;
}

/* Sets every input to a fixed ramp and runs once if the plan is small; reads every output. */
static void fuzz_run(const xnn_model* m, xnn_session* s) {
  if (xnn_session_arena_bytes(s) > FUZZ_MAX_ARENA_BYTES) return;
  int64_t macs = 0;
  xnn_layer_stats st;
  for (int32_t i = 0; xnn_session_layer_stats(s, i, &st) == XNN_OK; i++) {
    if (st.macs < 0 || st.macs > FUZZ_MAX_MACS) return;
    macs += st.macs;
  }
  if (macs > FUZZ_MAX_MACS) return;
  for (int32_t i = 0; i < xnn_model_num_inputs(m); i++) {
    xnn_shape shape;
    if (xnn_session_input_shape(s, i, &shape) != XNN_OK) abort();
    const int64_t n = fuzz_numel(&shape);
    if (n < 0) return;
    float* x = malloc((size_t)n * sizeof(float));
    if (!x) return;
    for (int64_t k = 0; k < n; k++) x[k] = (float)(k % 17) * 0.125f - 1.0f;
    const xnn_status status = xnn_session_set_input(s, i, x, (size_t)n);
    free(x);
    if (status != XNN_OK) abort(); /* the shape came from the session itself */
  }
  if (xnn_session_run(s) != XNN_OK) abort(); /* a planned session cannot fail to run */
  volatile float sink = 0;
  for (int32_t i = 0; i < xnn_model_num_outputs(m); i++) {
    const float* y;
    xnn_shape shape;
    if (xnn_session_output(s, i, &y, &shape) != XNN_OK) abort();
    const int64_t n = fuzz_numel(&shape);
    for (int64_t k = 0; k < n; k++) sink += y[k];
  }
  (void)sink;
}

/* Picks the kernel set and the sparse choice from the input's last byte, before loading: the portable
 * and AVX2 kernels and the sparse paths of pruned weights are fuzzed too, not only what this CPU and the
 * density thresholds pick. */
static void fuzz_pick_kernels(const uint8_t* data, size_t size) {
  static const char* const isa[] = {"", "avx2", "ref"};
  const unsigned b = size ? data[size - 1] : 0;
  setenv("XNN_ISA", isa[b % 3], 1);
  setenv("XNN_SPARSE", b / 3 % 2 ? "1" : "", 1);
}

/* `seed` picks the other shape: batch 2, or the last dims one smaller or larger. */
static void fuzz_sessions(const xnn_model* m, uint32_t seed) {
  for (int32_t threads = 1; threads <= 2; threads++) {
    xnn_session* s = NULL;
    if (xnn_session_create(m, threads, &s) != XNN_OK) {
      if (s) abort(); /* a failed call leaves no session behind */
      continue;
    }
    fuzz_run(m, s);
    const int32_t ni = xnn_model_num_inputs(m);
    xnn_shape* shapes = malloc(((size_t)ni + 1) * sizeof(xnn_shape));
    if (shapes) {
      for (int32_t i = 0; i < ni; i++) {
        if (xnn_session_input_shape(s, i, &shapes[i]) != XNN_OK) abort();
        xnn_shape* sh = &shapes[i];
        if (seed % 3 == 0 || sh->ndim < 2) {
          sh->dims[0] *= 2;
        } else {
          const int64_t delta = seed % 3 == 1 ? -1 : 1;
          /* The spatial dims of an image, the last dim of anything else. */
          for (int32_t d = sh->ndim >= 3 ? 2 : sh->ndim - 1; d < sh->ndim; d++)
            if (sh->dims[d] + delta > 0) sh->dims[d] += delta;
        }
      }
      /* After a failed reshape the session keeps its previous plan, which must still run. */
      xnn_session_reshape(s, shapes);
      fuzz_run(m, s);
      free(shapes);
    }
    xnn_session_free(s);
    seed /= 3;
  }
}

#endif
