/* The .xnn reader from C alone, on the golden file the Python writer produced (tests/data/xnn, regenerated
 * only when the format changes on purpose):
 *
 *   - it loads through xnn_model_load and xnn_model_load_memory and gives the stored outputs;
 *   - every truncation, and every single-byte change of the header, is an error;
 *   - thousands of seeded mutations of the payload behind a recomputed checksum (so that they reach every
 *     parser: wire format, graph, attributes, weights, codebooks, Huffman streams, gaps) either load and run
 *     or fail with a parse/model/unsupported/shape status; never a crash, a leak or an out-of-bounds read
 *     (the test also runs under ASan + UBSan).
 *
 * Usage: test_xnn_format <golden.xnn> <golden_input.f32> <golden_output.f32> */
#include "readers/xnn_coding.h"
#include "test_util.h"

static size_t g_in_count;
static float* g_in;

/* Loads `data`; if that works, runs it once. Returns the load status. */
static xnn_status try_load(const uint8_t* data, size_t size) {
  xnn_model* m = NULL;
  const xnn_status st = xnn_model_load_memory(data, size, &m);
  if (st != XNN_OK) {
    CHECK(m == NULL, "a failed load returned a model");
    CHECK(st == XNN_ERROR_PARSE || st == XNN_ERROR_INVALID_MODEL || st == XNN_ERROR_UNSUPPORTED ||
              st == XNN_ERROR_SHAPE || st == XNN_ERROR_OUT_OF_MEMORY,
          "unexpected status %d: %s", (int)st, xnn_last_error());
    CHECK(xnn_last_error()[0] != 0, "an error without a message");
    return st;
  }
  xnn_session* s = NULL;
  if (xnn_session_create(m, 1, &s) == XNN_OK) {
    xnn_shape shape;
    xnn_session_input_shape(s, 0, &shape);
    size_t count = 1;
    for (int32_t d = 0; d < shape.ndim; d++) count *= (size_t)shape.dims[d];
    float* x = calloc(count, sizeof(float));
    if (x && xnn_session_set_input(s, 0, x, count) == XNN_OK) {
      CHECK_OK(xnn_session_run(s));
    }
    free(x);
    xnn_session_free(s);
  }
  xnn_model_free(m);
  return st;
}

static void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the payload size and both checksums of a (mutated) file. */
static void rewrap(uint8_t* d, size_t size) {
  const uint64_t n = size - 24;
  for (int i = 0; i < 8; i++) d[8 + i] = (uint8_t)(n >> (8 * i));
  put_le32(d + 16, xnn_crc32(0, d + 24, (size_t)n));
  put_le32(d + 20, xnn_crc32(0, d, 20));
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (uint32_t)(g_rng >> 11);
}

int main(int argc, char** argv) {
  REQUIRE(argc == 4, "usage: test_xnn_format <golden.xnn> <golden_input.f32> <golden_output.f32>");
  size_t size, in_size, out_size;
  uint8_t* data = read_file(argv[1], &size);
  g_in = read_file(argv[2], &in_size);
  float* want = read_file(argv[3], &out_size);
  REQUIRE(data && g_in && want, "cannot read the golden files");
  g_in_count = in_size / 4;

  /* The intact file, from a path and from memory. */
  xnn_model* m = NULL;
  CHECK_OK(xnn_model_load(argv[1], &m));
  REQUIRE(m, "the golden file does not load: %s", xnn_last_error());
  xnn_model* m2 = NULL;
  CHECK_OK(xnn_model_load_memory(data, size, &m2));
  xnn_model_free(m2);
  xnn_session* s = NULL;
  CHECK_OK(xnn_session_create(m, 1, &s));
  CHECK_OK(xnn_session_set_input(s, 0, g_in, g_in_count));
  CHECK_OK(xnn_session_run(s));
  const float* out;
  xnn_shape shape;
  CHECK_OK(xnn_session_output(s, 0, &out, &shape));
  CHECK(shape.ndim == 2 && (size_t)(shape.dims[0] * shape.dims[1]) == out_size / 4, "output shape");
  for (size_t i = 0; i < out_size / 4; i++)
    CHECK(fabsf(out[i] - want[i]) <= 1e-6f + 1e-6f * fabsf(want[i]), "output %zu: %g, want %g", i, out[i], want[i]);
  xnn_session_free(s);
  xnn_model_free(m);
  CHECK_STATUS(xnn_model_load("/nonexistent/model.xnn", &m), XNN_ERROR_IO);

  /* Truncations and header changes. */
  uint8_t* buf = malloc(size);
  REQUIRE(buf, "out of memory");
  for (size_t n = 0; n < size; n++) {
    memcpy(buf, data, n);
    CHECK(try_load(buf, n) == XNN_ERROR_PARSE, "a truncation to %zu bytes loaded", n);
  }
  for (size_t i = 0; i < 24; i++) {
    memcpy(buf, data, size);
    buf[i] ^= (uint8_t)(1u << (next_rand() % 8));
    const xnn_status st = try_load(buf, size);
    CHECK(st == XNN_ERROR_PARSE || st == XNN_ERROR_UNSUPPORTED, "header byte %zu changed: status %d", i, (int)st);
  }

  /* Payload mutations behind valid checksums. */
  int loaded = 0, failed = 0;
  for (int k = 0; k < 20000; k++) {
    memcpy(buf, data, size);
    size_t n = size;
    const int edits = 1 + (int)(next_rand() % 3);
    for (int e = 0; e < edits; e++) {
      const size_t at = 24 + next_rand() % (size - 24);
      buf[at] = (next_rand() & 1) ? (uint8_t)next_rand() : (uint8_t)(buf[at] ^ (1u << (next_rand() % 8)));
    }
    if (next_rand() % 5 == 0) n = 24 + next_rand() % (size - 24);
    rewrap(buf, n);
    if (try_load(buf, n) == XNN_OK)
      loaded++;
    else
      failed++;
  }
  printf("payload mutations: %d loaded, %d rejected\n", loaded, failed);
  CHECK(loaded > 100 && failed > 5000, "the mutations did not reach both outcomes");
  free(buf);
  free(data);
  free(g_in);
  free(want);
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
