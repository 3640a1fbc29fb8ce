/* Robustness of the Caffe loader and of sessions against malformed models, on the real MTCNN det1:
 *
 *   - every truncation of the caffemodel in a strided sweep (and every length near both ends), and every
 *     truncation of the prototxt;
 *   - thousands of seeded mutations (single and multiple bit flips, random byte overwrites, "interesting"
 *     bytes, syntax characters for the text) of the caffemodel and of the prototxt;
 *   - a net of every weightless layer type: random input shapes, truncations and mutations of its text;
 *   - a thread-pool stress: sessions with 2-4 threads created, run and freed many times, from two
 *     threads at once, with thread-count switches in between.
 *
 * Loading may succeed or fail, but it must not crash, leak (under ASan), hang or report a wrong status;
 * a model that loads must also run (its outputs, for truncations that still load, must be the intact
 * model's). The test returns non-zero on any failure.
 *
 * Usage: test_fuzz_load <det1.prototxt> <det1.caffemodel> [scale]
 *   scale multiplies the number of mutations (default 1; a deeper local run: 10).
 * Environment: XNN_FUZZ_TRACE=1 prints every case before running it (to find a crashing one);
 *   XNN_FUZZ_ONLY=<kind>:<index> runs only that case, and with XNN_FUZZ_DUMP=<dir> writes its
 *   prototxt/caffemodel there. Kinds: tmodel, ttext, mmodel, mtext, tops, mops. */
#include <pthread.h>

#include "test_util.h"

static const char* g_text;
static size_t g_text_size;
static const unsigned char* g_bin;
static size_t g_bin_size;

/* Outputs of the intact model on the deterministic input. */
static float* g_ref[2];
static size_t g_ref_count[2];

typedef struct stats {
  int cases, loaded, by_status[8];
} stats;

static const char* g_only_kind = NULL;
static long g_only_index = -1;
static int g_trace = 0;
static const char* g_dump_dir = NULL;

/* Sets the deterministic input on every input of the session; returns 0 if it could not. */
static int set_inputs(xnn_session* s, const xnn_model* m) {
  for (int32_t i = 0; i < xnn_model_num_inputs(m); i++) {
    xnn_shape shape;
    if (xnn_session_input_shape(s, i, &shape) != XNN_OK) return 0;
    const int64_t n = shape_numel(&shape);
    if (n <= 0 || n > ((int64_t)1 << 26)) return 0; /* not expected: mutated prototxts keep dims below 100 */
    float* x = malloc((size_t)n * sizeof(float));
    if (!x) return 0;
    lcg_input(x, (size_t)n);
    const xnn_status st = xnn_session_set_input(s, i, x, (size_t)n);
    free(x);
    if (st != XNN_OK) return 0;
  }
  return 1;
}

static int random_shapes(const xnn_model* m, xnn_session* s, test_rng* r, int count, const char* what);

/* Loads one (possibly broken) model; if it loads, runs it (and once more at batch 2). Returns the status.
 * When `expect_ref`, a model that loads must give the intact model's outputs exactly. */
static xnn_status try_model(const char* kind, long index, const char* text, size_t text_size,
                            const unsigned char* bin, size_t bin_size, int expect_ref, stats* st) {
  if (g_trace) {
    fprintf(stderr, "case %s:%ld\n", kind, index);
    fflush(stderr);
  }
  if (g_dump_dir) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s_%ld.prototxt", g_dump_dir, kind, index);
    FILE* f = fopen(path, "wb");
    if (f) fwrite(text, 1, text_size, f), fclose(f);
    snprintf(path, sizeof(path), "%s/%s_%ld.caffemodel", g_dump_dir, kind, index);
    f = fopen(path, "wb");
    if (f) fwrite(bin, 1, bin_size, f), fclose(f);
    fprintf(stderr, "wrote %s/%s_%ld.{prototxt,caffemodel}\n", g_dump_dir, kind, index);
  }
  st->cases++;
  xnn_model* m = (xnn_model*)&st; /* must be reset to NULL on failure */
  const xnn_status status = xnn_model_load_caffe_memory(text, text_size, bin, bin_size, &m);
  if ((int)status >= 0 && (int)status < 8) st->by_status[status]++;
  if (status != XNN_OK) {
    CHECK(m == NULL, "%s:%ld: model not NULL after status %d", kind, index, (int)status);
    CHECK(xnn_last_error()[0] != '\0', "%s:%ld: status %d with an empty message", kind, index, (int)status);
    CHECK(status == XNN_ERROR_PARSE || status == XNN_ERROR_UNSUPPORTED || status == XNN_ERROR_INVALID_MODEL ||
              status == XNN_ERROR_SHAPE,
          "%s:%ld: unexpected status %d (%s): %s", kind, index, (int)status, xnn_status_string(status),
          xnn_last_error());
    return status;
  }
  REQUIRE(m != NULL, "%s:%ld: XNN_OK without a model", kind, index);
  st->loaded++;
  xnn_session* s = NULL;
  xnn_status ss = xnn_session_create(m, 1, &s);
  CHECK(ss == XNN_OK, "%s:%ld: a loaded model has no session: %s", kind, index, xnn_last_error());
  if (ss == XNN_OK) {
    CHECK(set_inputs(s, m), "%s:%ld: cannot set the inputs: %s", kind, index, xnn_last_error());
    CHECK_OK(xnn_session_run(s));
    for (int32_t o = 0; o < xnn_model_num_outputs(m); o++) {
      const float* y = NULL;
      xnn_shape ys;
      CHECK_OK(xnn_session_output(s, o, &y, &ys));
      /* Touch every value: the output must be readable memory of the advertised size. */
      volatile float sink = 0.0f;
      const int64_t n = shape_numel(&ys);
      for (int64_t i = 0; i < n; i++) sink += y[i] * 0.0f;
      (void)sink;
      if (expect_ref) {
        CHECK(o < 2 && (size_t)n == g_ref_count[o] && memcmp(y, g_ref[o], (size_t)n * sizeof(float)) == 0,
              "%s:%ld: a truncated model that loads gives other outputs (output %d)", kind, index, (int)o);
      }
    }
    /* Other input shapes on every 8th model that loads. */
    if (st->loaded % 8 == 0 && xnn_model_num_inputs(m) >= 1) {
      test_rng r = {(uint64_t)index * 31u + 17u};
      random_shapes(m, s, &r, 3, kind);
    }
    xnn_session_free(s);
  }
  xnn_model_free(m);
  return status;
}

static int selected(const char* kind, long index) {
  if (!g_only_kind) return 1;
  return strcmp(kind, g_only_kind) == 0 && index == g_only_index;
}

static void print_stats(const char* what, const stats* st, double seconds) {
  printf("%-40s %5d cases, %5d loaded; parse %d, unsupported %d, invalid model %d, shape %d (%.2f s)\n", what,
         st->cases, st->loaded, st->by_status[XNN_ERROR_PARSE], st->by_status[XNN_ERROR_UNSUPPORTED],
         st->by_status[XNN_ERROR_INVALID_MODEL], st->by_status[XNN_ERROR_SHAPE], seconds);
  fflush(stdout);
}

static void truncations(void) {
  stats st;
  double t0 = test_now_s();
  memset(&st, 0, sizeof(st));
  /* The caffemodel: each length near both ends, then a stride of 7 (a new buffer per case, so that ASan sees
   * any read past the end). */
  for (size_t len = 0; len < g_bin_size; len += (len < 64 || len + 64 > g_bin_size) ? 1 : 7) {
    if (!selected("tmodel", (long)len)) continue;
    unsigned char* b = malloc(len ? len : 1);
    REQUIRE(b, "out of memory");
    memcpy(b, g_bin, len);
    const xnn_status status = try_model("tmodel", (long)len, g_text, g_text_size, b, len, 1, &st);
    free(b);
    (void)status;
  }
  print_stats("caffemodel truncations", &st, test_now_s() - t0);
  CHECK(g_only_kind || st.cases > 3000, "only %d caffemodel truncations", st.cases);
  CHECK(g_only_kind || st.by_status[XNN_ERROR_PARSE] > st.cases / 2, "most truncations should be parse errors");

  /* The prototxt: every length, in an exact-size buffer without a terminator. */
  t0 = test_now_s();
  memset(&st, 0, sizeof(st));
  for (size_t len = 0; len < g_text_size; len++) {
    if (!selected("ttext", (long)len)) continue;
    char* t = malloc(len ? len : 1);
    REQUIRE(t, "out of memory");
    memcpy(t, g_text, len);
    try_model("ttext", (long)len, t, len, g_bin, g_bin_size, 0, &st);
    free(t);
  }
  print_stats("prototxt truncations", &st, test_now_s() - t0);
}

/* Offsets of the caffemodel's bytes that are not float payloads (field keys, lengths, names, shapes, layer
 * parameters): mutations aimed there reach the wire decoder instead of only changing weights. */
static size_t* g_struct_pos;
static size_t g_struct_count;

static void mark_floats(const unsigned char* base, const unsigned char* p, const unsigned char* end, int depth,
                        int v1, unsigned char* is_float) {
  /* depth 0: NetParameter (layer 100 / layers 2), 1: a layer (blobs 7 / V1 6), 2: BlobProto (data 5). */
  while (p < end) {
    uint64_t key = 0, len = 0;
    int shift = 0;
    while (p < end && shift < 64) {
      key |= (uint64_t)(*p & 0x7f) << shift;
      shift += 7;
      if (!(*p++ & 0x80)) break;
    }
    const int type = (int)(key & 7);
    const uint64_t number = key >> 3;
    if (type == 0) {
      while (p < end && (*p++ & 0x80)) {
      }
    } else if (type == 1) {
      p += 8;
    } else if (type == 5) {
      p += 4;
    } else if (type == 2) {
      shift = 0;
      while (p < end && shift < 64) {
        len |= (uint64_t)(*p & 0x7f) << shift;
        shift += 7;
        if (!(*p++ & 0x80)) break;
      }
      if (len > (uint64_t)(end - p)) return;
      const unsigned char* q = p + len;
      if (depth == 0 && (number == 100 || number == 2)) {
        mark_floats(base, p, q, 1, number == 2, is_float);
      } else if (depth == 1 && number == (v1 ? 6u : 7u)) {
        mark_floats(base, p, q, 2, v1, is_float);
      } else if (depth == 2 && number == 5) {
        memset(is_float + (p - base), 1, len);
      }
      p = q;
    } else {
      return;
    }
  }
}

static void build_structure_map(void) {
  unsigned char* is_float = calloc(g_bin_size ? g_bin_size : 1, 1);
  g_struct_pos = malloc((g_bin_size ? g_bin_size : 1) * sizeof(size_t));
  REQUIRE(is_float && g_struct_pos, "out of memory");
  mark_floats(g_bin, g_bin, g_bin + g_bin_size, 0, 0, is_float);
  g_struct_count = 0;
  for (size_t i = 0; i < g_bin_size; i++)
    if (!is_float[i]) g_struct_pos[g_struct_count++] = i;
  free(is_float);
}

/* One seeded mutation of `buf` (a copy of the original); the kinds mix bit flips and byte overwrites. */
static void mutate(unsigned char* buf, size_t size, uint64_t seed, int text) {
  static const unsigned char interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x08, 0x0a, 0x12, 0x3a};
  static const char syntax[] = "{}<>[]:;,\"'#\n \\-.0123456789eE";
  test_rng r = {seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull};
  rng_next(&r);
  if (!size) return;
  /* Half of the caffemodel mutations hit only structure bytes (1 to 4 bit flips or overwrites). */
  if (!text && g_struct_count && rng_below(&r, 2)) {
    const int n = 1 + (int)rng_below(&r, 4);
    const int flip = (int)rng_below(&r, 2);
    for (int k = 0; k < n; k++) {
      const size_t i = g_struct_pos[rng_below(&r, g_struct_count)];
      if (flip)
        buf[i] ^= (unsigned char)(1u << rng_below(&r, 8));
      else
        buf[i] = rng_below(&r, 2) ? interesting[rng_below(&r, sizeof(interesting))] : (unsigned char)rng_next(&r);
    }
    return;
  }
  const int kind = (int)rng_below(&r, text ? 5 : 4);
  if (kind == 0) { /* one bit */
    const size_t i = rng_below(&r, size);
    buf[i] ^= (unsigned char)(1u << rng_below(&r, 8));
  } else if (kind == 1) { /* 2 to 16 bits anywhere */
    const int n = 2 + (int)rng_below(&r, 15);
    for (int k = 0; k < n; k++) buf[rng_below(&r, size)] ^= (unsigned char)(1u << rng_below(&r, 8));
  } else if (kind == 2) { /* 1 to 8 random bytes, in a run or scattered */
    const int n = 1 + (int)rng_below(&r, 8);
    const size_t at = rng_below(&r, size);
    const int run = (int)rng_below(&r, 2);
    for (int k = 0; k < n; k++) {
      const size_t i = run ? (at + (size_t)k) % size : rng_below(&r, size);
      buf[i] = (unsigned char)rng_next(&r);
    }
  } else if (kind == 3) { /* interesting bytes (varint continuation, wire types, 0, 0xff) */
    const int n = 1 + (int)rng_below(&r, 4);
    for (int k = 0; k < n; k++) buf[rng_below(&r, size)] = interesting[rng_below(&r, sizeof(interesting))];
  } else { /* text: syntax characters and digits */
    const int n = 1 + (int)rng_below(&r, 3);
    for (int k = 0; k < n; k++) buf[rng_below(&r, size)] = (unsigned char)syntax[rng_below(&r, sizeof(syntax) - 1)];
  }
}

static void mutations(int scale) {
  stats st;
  double t0 = test_now_s();
  memset(&st, 0, sizeof(st));
  const long n_model = 4000L * scale, n_text = 3000L * scale;
  unsigned char* b = malloc(g_bin_size);
  REQUIRE(b, "out of memory");
  for (long i = 0; i < n_model; i++) {
    if (!selected("mmodel", i)) continue;
    memcpy(b, g_bin, g_bin_size);
    mutate(b, g_bin_size, (uint64_t)i, 0);
    try_model("mmodel", i, g_text, g_text_size, b, g_bin_size, 0, &st);
  }
  free(b);
  print_stats("caffemodel mutations", &st, test_now_s() - t0);
  CHECK(g_only_kind || (st.loaded > 0 && st.loaded < st.cases), "caffemodel mutations: %d of %d loaded", st.loaded,
        st.cases);

  t0 = test_now_s();
  memset(&st, 0, sizeof(st));
  char* t = malloc(g_text_size);
  REQUIRE(t, "out of memory");
  for (long i = 0; i < n_text; i++) {
    if (!selected("mtext", i)) continue;
    memcpy(t, g_text, g_text_size);
    mutate((unsigned char*)t, g_text_size, (uint64_t)i + 1000003u, 1);
    try_model("mtext", i, t, g_text_size, g_bin, g_bin_size, 0, &st);
  }
  free(t);
  print_stats("prototxt mutations", &st, test_now_s() - t0);
  CHECK(g_only_kind || (st.loaded > 0 && st.loaded < st.cases), "prototxt mutations: %d of %d loaded", st.loaded,
        st.cases);
}

/* ---------------------------------------------------------------- weightless layers */

/* A net of every layer type that needs no weights (no caffemodel), for text mutations and random input
 * shapes. Its tops pool, ave, gp, flat, soft and cat2 are outputs. */
static const char k_ops_net[] =
    "name: \"ops\"\n"
    "input: \"data\"\n"
    "input_shape { dim: 1 dim: 4 dim: 6 dim: 5 }\n"
    "layer { name: \"pool\" type: \"Pooling\" bottom: \"data\" top: \"pool\"\n"
    "        pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }\n"
    "layer { name: \"ave\" type: \"Pooling\" bottom: \"data\" top: \"ave\"\n"
    "        pooling_param { pool: AVE kernel_h: 2 kernel_w: 3 stride: 1 } }\n"
    "layer { name: \"gp\" type: \"Pooling\" bottom: \"data\" top: \"gp\" pooling_param { pool: AVE global_pooling: true } }\n"
    "layer { name: \"relu\" type: \"ReLU\" bottom: \"data\" top: \"relu\" relu_param { negative_slope: 0.1 } }\n"
    "layer { name: \"sig\" type: \"Sigmoid\" bottom: \"relu\" top: \"sig\" }\n"
    "layer { name: \"tanh\" type: \"TanH\" bottom: \"data\" top: \"tanh\" }\n"
    "layer { name: \"lrn\" type: \"LRN\" bottom: \"data\" top: \"lrn\" lrn_param { local_size: 3 alpha: 0.0001 beta: 0.75 } }\n"
    "layer { name: \"lrn2\" type: \"LRN\" bottom: \"data\" top: \"lrn2\"\n"
    "        lrn_param { local_size: 3 norm_region: WITHIN_CHANNEL } }\n"
    "layer { name: \"sum\" type: \"Eltwise\" bottom: \"sig\" bottom: \"tanh\" top: \"sum\"\n"
    "        eltwise_param { operation: SUM coeff: 1 coeff: -2 } }\n"
    "layer { name: \"prod\" type: \"Eltwise\" bottom: \"sum\" bottom: \"lrn\" top: \"prod\" eltwise_param { operation: PROD } }\n"
    "layer { name: \"max\" type: \"Eltwise\" bottom: \"prod\" bottom: \"lrn2\" top: \"max\" eltwise_param { operation: MAX } }\n"
    "layer { name: \"cat\" type: \"Concat\" bottom: \"max\" bottom: \"data\" top: \"cat\" concat_param { axis: 1 } }\n"
    "layer { name: \"slice\" type: \"Slice\" bottom: \"cat\" top: \"s1\" top: \"s2\" top: \"s3\"\n"
    "        slice_param { axis: 1 slice_point: 2 slice_point: 5 } }\n"
    "layer { name: \"drop\" type: \"Dropout\" bottom: \"s3\" top: \"drop\" dropout_param { dropout_ratio: 0.5 } }\n"
    "layer { name: \"flat\" type: \"Flatten\" bottom: \"s1\" top: \"flat\" }\n"
    "layer { name: \"resh\" type: \"Reshape\" bottom: \"s2\" top: \"resh\" reshape_param { shape { dim: 0 dim: -1 dim: 5 } } }\n"
    "layer { name: \"soft\" type: \"Softmax\" bottom: \"resh\" top: \"soft\" }\n"
    "layer { name: \"split\" type: \"Split\" bottom: \"drop\" top: \"sp1\" top: \"sp2\" }\n"
    "layer { name: \"cat2\" type: \"Concat\" bottom: \"sp1\" bottom: \"sp2\" top: \"cat2\" concat_param { axis: 0 } }\n"
    "layer { name: \"soft2\" type: \"Softmax\" bottom: \"cat2\" top: \"cat2\" }\n";

/* Random small input shapes (1 to 6 dims of 1 to 9, or 4-D up to 2x6x24x24) on a loaded model: each
 * reshape may fail, but a shape that is accepted must run. Returns the number of accepted shapes. */
static int random_shapes(const xnn_model* m, xnn_session* s, test_rng* r, int count, const char* what) {
  int accepted = 0;
  for (int k = 0; k < count; k++) {
    xnn_shape shape;
    memset(&shape, 0, sizeof(shape));
    if (rng_below(r, 2)) {
      shape.ndim = 4;
      shape.dims[0] = 1 + (int64_t)rng_below(r, 2);
      shape.dims[1] = 1 + (int64_t)rng_below(r, 6);
      shape.dims[2] = 1 + (int64_t)rng_below(r, 24);
      shape.dims[3] = 1 + (int64_t)rng_below(r, 24);
    } else {
      shape.ndim = 1 + (int32_t)rng_below(r, 6);
      for (int32_t d = 0; d < shape.ndim; d++) shape.dims[d] = 1 + (int64_t)rng_below(r, 9);
    }
    const xnn_status st = xnn_session_reshape_input(s, 0, &shape);
    if (st != XNN_OK) {
      CHECK(st == XNN_ERROR_SHAPE, "%s: reshape returned %d: %s", what, (int)st, xnn_last_error());
      CHECK(strstr(xnn_last_error(), "layer '") != NULL, "%s: shape error '%s' names no layer", what,
            xnn_last_error());
      continue;
    }
    accepted++;
    CHECK(set_inputs(s, m), "%s: cannot set inputs", what);
    CHECK_OK(xnn_session_run(s));
  }
  return accepted;
}

static void weightless_net(int scale) {
  const size_t size = sizeof(k_ops_net) - 1;
  double t0 = test_now_s();
  xnn_model* m = NULL;
  CHECK_OK(xnn_model_load_caffe_memory(k_ops_net, size, NULL, 0, &m));
  if (!m) return;
  CHECK(xnn_model_num_outputs(m) == 6, "the weightless net has %d outputs", xnn_model_num_outputs(m));
  xnn_session* s = NULL;
  CHECK_OK(xnn_session_create(m, 2, &s));
  test_rng r = {0x5eed5eedull};
  int accepted = 0;
  if (s) {
    CHECK(set_inputs(s, m), "weightless net: set_inputs");
    CHECK_OK(xnn_session_run(s));
    accepted = random_shapes(m, s, &r, 400, "weightless net");
    xnn_session_free(s);
  }
  xnn_model_free(m);
  printf("%-40s %5d shapes, %5d accepted (%.2f s)\n", "weightless net: random input shapes", 400, accepted,
         test_now_s() - t0);
  CHECK(accepted > 20 && accepted < 400, "weightless net: %d of 400 random shapes accepted", accepted);

  /* Mutations and truncations of its text, without a caffemodel. */
  t0 = test_now_s();
  stats st;
  memset(&st, 0, sizeof(st));
  char* t = malloc(size);
  REQUIRE(t, "out of memory");
  for (size_t len = 0; len < size; len += 3) {
    if (!selected("tops", (long)len)) continue;
    try_model("tops", (long)len, k_ops_net, len, NULL, 0, 0, &st);
  }
  const long n = 2000L * scale;
  for (long i = 0; i < n; i++) {
    if (!selected("mops", i)) continue;
    memcpy(t, k_ops_net, size);
    mutate((unsigned char*)t, size, (uint64_t)i + 7000003u, 1);
    try_model("mops", i, t, size, NULL, 0, 0, &st);
  }
  free(t);
  print_stats("weightless net: truncations+mutations", &st, test_now_s() - t0);
  CHECK(g_only_kind || (st.loaded > 0 && st.loaded < st.cases), "weightless net: %d of %d loaded", st.loaded,
        st.cases);
}

/* ---------------------------------------------------------------- thread-pool stress */

typedef struct stress_arg {
  const xnn_model* model;
  int id, iterations, failures, sessions;
} stress_arg;

static int outputs_match(const xnn_session* s) {
  for (int32_t o = 0; o < 2; o++) {
    const float* y = NULL;
    xnn_shape ys;
    if (xnn_session_output(s, o, &y, &ys) != XNN_OK || (size_t)shape_numel(&ys) != g_ref_count[o]) return 0;
    if (rel_max_error(y, g_ref[o], g_ref_count[o]) > 1e-5) return 0;
  }
  return 1;
}

static void* stress_thread(void* p) {
  stress_arg* a = p;
  for (int i = 0; i < a->iterations; i++) {
    xnn_session* s = NULL;
    const int threads = 2 + (i + a->id) % 3;
    a->sessions++;
    if (xnn_session_create(a->model, threads, &s) != XNN_OK) {
      a->failures++;
      continue;
    }
    if (xnn_session_num_threads(s) != threads) a->failures++;
    const int runs = 1 + i % 3;
    for (int r = 0; r < runs; r++) {
      if (!set_inputs(s, a->model) || xnn_session_run(s) != XNN_OK || !outputs_match(s)) a->failures++;
      if (r == 1 && xnn_session_set_num_threads(s, 2 + (threads - 1) % 3) != XNN_OK) a->failures++;
    }
    /* Every 5th session is freed right after creation of its pool, without a run in between. */
    if (i % 5 == 4) {
      xnn_session* t = NULL;
      a->sessions++;
      if (xnn_session_create(a->model, 4, &t) != XNN_OK) a->failures++;
      xnn_session_free(t);
    }
    xnn_session_free(s);
  }
  return NULL;
}

static void thread_stress(const xnn_model* m) {
  const double t0 = test_now_s();
  stress_arg one = {m, 0, 150, 0, 0};
  stress_thread(&one);
  CHECK(one.failures == 0, "thread-pool stress (one caller): %d failures", one.failures);
  /* Two callers with a session each on the shared model. */
  stress_arg args[2] = {{m, 1, 100, 0, 0}, {m, 2, 100, 0, 0}};
  pthread_t th[2];
  int started[2] = {0, 0};
  for (int i = 0; i < 2; i++) started[i] = pthread_create(&th[i], NULL, stress_thread, &args[i]) == 0;
  for (int i = 0; i < 2; i++) {
    CHECK(started[i], "pthread_create failed");
    if (started[i]) pthread_join(th[i], NULL);
    CHECK(args[i].failures == 0, "thread-pool stress (caller %d of 2): %d failures", i, args[i].failures);
  }
  /* One session, many runs with the thread count changed between them. */
  xnn_session* s = NULL;
  CHECK_OK(xnn_session_create(m, 2, &s));
  if (s) {
    for (int i = 0; i < 200; i++) {
      CHECK_OK(xnn_session_set_num_threads(s, 1 + i % 4));
      CHECK(set_inputs(s, m), "set_inputs");
      CHECK_OK(xnn_session_run(s));
      CHECK(outputs_match(s), "run %d with %d threads differs from the reference", i, 1 + i % 4);
    }
    xnn_session_free(s);
  }
  printf("%-40s %5d sessions, 200 thread-count switches (%.2f s)\n", "thread-pool stress",
         one.sessions + args[0].sessions + args[1].sessions + 1, test_now_s() - t0);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s det1.prototxt det1.caffemodel [scale]\n", argv[0]);
    return 2;
  }
  const int scale = argc > 3 ? atoi(argv[3]) : 1;
  const double t0 = test_now_s();
  g_trace = getenv("XNN_FUZZ_TRACE") != NULL;
  const char* only = getenv("XNN_FUZZ_ONLY");
  static char only_kind[32];
  if (only) {
    const char* colon = strchr(only, ':');
    REQUIRE(colon && (size_t)(colon - only) < sizeof(only_kind), "XNN_FUZZ_ONLY=<kind>:<index>");
    memcpy(only_kind, only, (size_t)(colon - only));
    g_only_kind = only_kind;
    g_only_index = atol(colon + 1);
    g_dump_dir = getenv("XNN_FUZZ_DUMP");
  }

  char* text = read_file(argv[1], &g_text_size);
  unsigned char* bin = read_file(argv[2], &g_bin_size);
  REQUIRE(text && bin, "cannot read %s / %s", argv[1], argv[2]);
  g_text = text;
  g_bin = bin;
  build_structure_map();
  printf("det1: prototxt %zu bytes, caffemodel %zu bytes (%zu outside float data)\n", g_text_size, g_bin_size,
         g_struct_count);

  /* The intact model and its outputs. */
  xnn_model* m = NULL;
  CHECK_OK(xnn_model_load_caffe_memory(g_text, g_text_size, g_bin, g_bin_size, &m));
  REQUIRE(m && xnn_model_num_outputs(m) == 2, "the intact model does not load: %s", xnn_last_error());
  xnn_session* s = NULL;
  CHECK_OK(xnn_session_create(m, 1, &s));
  REQUIRE(s && set_inputs(s, m) && xnn_session_run(s) == XNN_OK, "the intact model does not run");
  for (int o = 0; o < 2; o++) {
    const float* y;
    xnn_shape ys;
    CHECK_OK(xnn_session_output(s, o, &y, &ys));
    g_ref_count[o] = (size_t)shape_numel(&ys);
    g_ref[o] = malloc(g_ref_count[o] * sizeof(float));
    REQUIRE(g_ref[o], "out of memory");
    memcpy(g_ref[o], y, g_ref_count[o] * sizeof(float));
  }
  xnn_session_free(s);

  truncations();
  mutations(scale < 1 ? 1 : scale);
  weightless_net(scale < 1 ? 1 : scale);
  if (!g_only_kind) thread_stress(m);
  xnn_model_free(m);
  free(g_ref[0]);
  free(g_ref[1]);
  free(g_struct_pos);
  free(text);
  free(bin);
  if (g_failures) {
    fprintf(stderr, "test_fuzz_load: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("test_fuzz_load: all checks passed (%.2f s)\n", test_now_s() - t0);
  return 0;
}
