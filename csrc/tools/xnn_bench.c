/* xnn-bench: times a model with the C API only (no Python), for development machines and ARM boards.
 *
 *   xnn-bench MODEL.xnn | MODEL.prototxt WEIGHTS.caffemodel  [--runs N] [--warmup N] [--threads N]
 *             [--profile] [--input-shape 1,3,224,224] [--input FILE]... [--output FILE]
 *
 * Inputs are filled with a fixed pseudo-random pattern, or read from FILEs (raw float32: the first
 * --input is input 0, the next input 1, ...; a net with word ids and sequence markers needs real ones);
 * prints min/median/max latency and, with --profile, the median time, GFLOP/s and share of every
 * layer. --output writes every output after the last run (raw float32, in order), to check a
 * board's results against another machine's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xnn/xnn.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static int usage(void) {
  fprintf(stderr,
          "usage: xnn-bench MODEL.xnn | MODEL.prototxt WEIGHTS.caffemodel  [--runs N] [--warmup N] [--threads N]\n"
          "                 [--profile] [--input-shape D0,D1,...] [--input FILE]... [--output FILE]\n");
  return 2;
}

static int fail(const char* what, xnn_status st) {
  fprintf(stderr, "xnn-bench: %s: %s: %s\n", what, xnn_status_string(st), xnn_last_error());
  return 1;
}

static int ends_with(const char* s, const char* suffix) {
  const size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const char* model_path = argv[1];
  /* A .xnn file is the whole model; a Caffe model is two files. */
  const int is_xnn = ends_with(model_path, ".xnn");
  if (!is_xnn && argc < 3) return usage();
  const char* weights = is_xnn ? NULL : argv[2];
  int runs = 20, warmup = 3, threads = 1, profile = 0;
  const char* input_files[8] = {NULL};
  int num_input_files = 0;
  const char* output_file = NULL;
  xnn_shape shape = {0, {0}};
  for (int i = is_xnn ? 2 : 3; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--profile")) profile = 1;
    else if (!strcmp(argv[i], "--input") && i + 1 < argc && num_input_files < 8)
      input_files[num_input_files++] = argv[++i];
    else if (!strcmp(argv[i], "--output") && i + 1 < argc) output_file = argv[++i];
    else if (!strcmp(argv[i], "--input-shape") && i + 1 < argc) {
      char* s = argv[++i];
      while (*s && shape.ndim < XNN_MAX_DIMS) {
        shape.dims[shape.ndim++] = strtoll(s, &s, 10);
        if (*s == ',') s++;
      }
    } else {
      return usage();
    }
  }
  if (runs < 1) runs = 1;
  xnn_model* model = NULL;
  xnn_session* session = NULL;
  xnn_status st = is_xnn ? xnn_model_load(model_path, &model) : xnn_model_load_caffe(model_path, weights, &model);
  if (st != XNN_OK) return fail("load", st);
  st = xnn_session_create(model, threads, &session);
  if (st != XNN_OK) return fail("session", st);
  if (shape.ndim && (st = xnn_session_reshape_input(session, 0, &shape)) != XNN_OK) return fail("reshape", st);
  for (int32_t i = 0; i < xnn_model_num_inputs(model); i++) {
    xnn_shape s;
    xnn_session_input_shape(session, i, &s);
    size_t n = 1;
    for (int d = 0; d < s.ndim; d++) n *= (size_t)s.dims[d];
    float* x = malloc(n * sizeof(float));
    if (!x) return fail("input", XNN_ERROR_OUT_OF_MEMORY);
    uint32_t r = 12345u + (uint32_t)i;
    for (size_t k = 0; k < n; k++) {
      r = r * 1664525u + 1013904223u;
      x[k] = (float)(r >> 8) / 16777216.0f - 0.5f;
    }
    if (i < num_input_files) {
      FILE* f = fopen(input_files[i], "rb");
      const size_t got = f ? fread(x, sizeof(float), n, f) : 0;
      if (f) fclose(f);
      if (got != n) {
        fprintf(stderr, "xnn-bench: %s: expected %zu float32 values for input %d\n", input_files[i], n, (int)i);
        free(x);
        return 1;
      }
    }
    st = xnn_session_set_input(session, i, x, n);
    free(x);
    if (st != XNN_OK) return fail("set_input", st);
  }
  xnn_session_set_profiling(session, profile);
  const int32_t layers = xnn_model_num_layers(model);
  double* times = calloc((size_t)runs, sizeof(double));
  double* layer_times = calloc((size_t)runs * (size_t)(layers ? layers : 1), sizeof(double));
  for (int i = 0; i < warmup; i++) xnn_session_run(session);
  for (int i = 0; i < runs; i++) {
    const double t0 = now_ms();
    if ((st = xnn_session_run(session)) != XNN_OK) return fail("run", st);
    times[i] = now_ms() - t0;
    for (int32_t l = 0; profile && l < layers; l++) {
      xnn_layer_stats ls;
      xnn_session_layer_stats(session, l, &ls);
      layer_times[(size_t)l * (size_t)runs + (size_t)i] = ls.last_time_ms;
    }
  }
  if (output_file) {
    FILE* f = fopen(output_file, "wb");
    for (int32_t o = 0; f && o < xnn_model_num_outputs(model); o++) {
      const float* y;
      xnn_shape s;
      xnn_session_output(session, o, &y, &s);
      size_t n = 1;
      for (int d = 0; d < s.ndim; d++) n *= (size_t)s.dims[d];
      if (fwrite(y, sizeof(float), n, f) != n) {
        fclose(f);
        f = NULL;
      }
    }
    if (!f || fclose(f) != 0) {
      fprintf(stderr, "xnn-bench: cannot write %s\n", output_file);
      return 1;
    }
  }
  qsort(times, (size_t)runs, sizeof(double), cmp_double);
  printf("model %s: %d layers, isa %s, %d thread(s), cpu %s\n", model_path, layers, xnn_model_isa(model),
         xnn_session_num_threads(session), xnn_cpu_features());
  printf("latency over %d runs: min %.3f ms, median %.3f ms, max %.3f ms\n", runs, times[0], times[runs / 2],
         times[runs - 1]);
  if (profile) {
    double total = 0;
    for (int32_t l = 0; l < layers; l++) {
      qsort(layer_times + (size_t)l * (size_t)runs, (size_t)runs, sizeof(double), cmp_double);
      total += layer_times[(size_t)l * (size_t)runs + (size_t)runs / 2];
    }
    printf("%-28s %-36s %10s %9s %7s\n", "layer", "type", "ms", "GFLOP/s", "share");
    for (int32_t l = 0; l < layers; l++) {
      xnn_layer_stats ls, next;
      xnn_session_layer_stats(session, l, &ls);
      if (ls.with_previous) {
        printf("%-28s %-36s %10s\n", ls.name, ls.type, "(above)");
        continue;
      }
      /* A layer run as one with the next has both layers' time, and so both their MACs. */
      const int64_t macs =
          ls.macs + (l + 1 < layers && xnn_session_layer_stats(session, l + 1, &next) == XNN_OK && next.with_previous
                         ? next.macs
                         : 0);
      const double t = layer_times[(size_t)l * (size_t)runs + (size_t)runs / 2];
      printf("%-28s %-36s %10.3f %9.1f %6.1f%%\n", ls.name, ls.type, t, t > 0 ? 2e-6 * (double)macs / t : 0.0,
             total > 0 ? 100.0 * t / total : 0.0);
    }
  }
  free(times);
  free(layer_times);
  xnn_session_free(session);
  xnn_model_free(model);
  return 0;
}
