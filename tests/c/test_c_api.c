/* C API test on the real MTCNN det1 (PNet): loading from files and from memory, sessions, reshapes,
 * thread counts, outputs against OpenCV DNN references (tests/data/c, written by make_reference.py),
 * and the error paths of the API.
 *
 * Usage: test_c_api <det1.prototxt> <det1.caffemodel> <reference dir> [huge case]
 * With a huge case (reshape, input_dim, blob_dims, input_shape, reshape_layer, global_pool, wrap_input,
 * wrap_reshape) it runs only
 * that check of shapes whose element counts overflow 64 bits. */
#include "test_util.h"

static const char* g_ref_dir;

/* Runs the session on the deterministic input of its current input shape (each batch item gets the
 * same 1-item input when `repeat_batch`), then compares every output with its reference file
 * det1_<NxCxHxW>.<output>.f32 (the reference shape's batch is taken from `ref_shape`). */
static void check_run(xnn_session* s, const xnn_model* m, const xnn_shape* ref_shape, int repeat_batch,
                      const char* what) {
  xnn_shape in;
  CHECK_OK(xnn_session_input_shape(s, 0, &in));
  const size_t n = (size_t)shape_numel(&in);
  float* x = malloc(n * sizeof(float));
  REQUIRE(x, "out of memory");
  if (repeat_batch) {
    const size_t item = n / (size_t)in.dims[0];
    lcg_input(x, item);
    for (int64_t b = 1; b < in.dims[0]; b++) memcpy(x + (size_t)b * item, x, item * sizeof(float));
  } else {
    lcg_input(x, n);
  }
  CHECK_OK(xnn_session_set_input(s, 0, x, n));
  free(x);
  CHECK_OK(xnn_session_run(s));

  char tag[128];
  shape_str(ref_shape, tag, sizeof(tag));
  for (int32_t o = 0; o < xnn_model_num_outputs(m); o++) {
    const char* name = NULL;
    CHECK_OK(xnn_model_output(m, o, &name, NULL));
    if (!name) continue;
    char path[4096];
    snprintf(path, sizeof(path), "%s/det1_%s.%s.f32", g_ref_dir, tag, name);
    ref_tensor ref;
    if (!read_reference(path, &ref)) {
      CHECK(0, "%s: cannot read reference %s", what, path);
      continue;
    }
    const float* y = NULL;
    xnn_shape ys;
    CHECK_OK(xnn_session_output(s, o, &y, &ys));
    /* With a repeated batch, the reference has batch 1 and every output item must match it. */
    const int64_t items = repeat_batch ? ys.dims[0] : 1;
    xnn_shape want = ref.shape;
    want.dims[0] *= items;
    char a[128], b[128];
    shape_str(&ys, a, sizeof(a));
    shape_str(&want, b, sizeof(b));
    if (!y || !shape_equal(&ys, &want)) {
      CHECK(0, "%s: output '%s' has shape %s, expected %s", what, name, a, b);
    } else {
      for (int64_t i = 0; i < items; i++) {
        const double err = rel_max_error(y + (size_t)i * ref.count, ref.data, ref.count);
        CHECK(err <= 1e-4, "%s: output '%s' (item %lld, shape %s) differs from OpenCV: rel. max error %g", what,
              name, (long long)i, a, err);
      }
    }
    free(ref.data);
  }
}

static xnn_shape make_shape4(int64_t n, int64_t c, int64_t h, int64_t w) {
  xnn_shape s;
  memset(&s, 0, sizeof(s));
  s.ndim = 4;
  s.dims[0] = n;
  s.dims[1] = c;
  s.dims[2] = h;
  s.dims[3] = w;
  return s;
}

static void test_model_info(const xnn_model* m) {
  CHECK(xnn_model_num_inputs(m) == 1, "num_inputs = %d", xnn_model_num_inputs(m));
  CHECK(xnn_model_num_outputs(m) == 2, "num_outputs = %d", xnn_model_num_outputs(m));
  const char* name = NULL;
  xnn_shape s;
  CHECK_OK(xnn_model_input(m, 0, &name, &s));
  const xnn_shape declared = make_shape4(1, 3, 12, 12);
  CHECK(name && strcmp(name, "data") == 0, "input name '%s'", name ? name : "(null)");
  CHECK(shape_equal(&s, &declared), "input shape ndim %d", s.ndim);
  int seen_prob = 0, seen_reg = 0;
  for (int32_t o = 0; o < xnn_model_num_outputs(m); o++) {
    CHECK_OK(xnn_model_output(m, o, &name, &s));
    if (name && strcmp(name, "prob1") == 0) {
      const xnn_shape want = make_shape4(1, 2, 1, 1);
      CHECK(shape_equal(&s, &want), "prob1 declared shape");
      seen_prob++;
    } else if (name && strcmp(name, "conv4-2") == 0) {
      const xnn_shape want = make_shape4(1, 4, 1, 1);
      CHECK(shape_equal(&s, &want), "conv4-2 declared shape");
      seen_reg++;
    } else {
      CHECK(0, "unexpected output '%s'", name ? name : "(null)");
    }
  }
  CHECK(seen_prob == 1 && seen_reg == 1, "outputs prob1 x%d, conv4-2 x%d", seen_prob, seen_reg);
  /* 5 convolutions + 3 PReLU + pool + softmax. */
  CHECK(xnn_model_num_layers(m) == 10, "num_layers = %d", xnn_model_num_layers(m));
  xnn_layer_info info;
  CHECK_OK(xnn_model_layer(m, 0, &info));
  CHECK(strcmp(info.name, "conv1") == 0 && strcmp(info.type, "Convolution") == 0, "layer 0 is %s (%s)", info.name,
        info.type);
  CHECK(info.num_params == 10 * 3 * 3 * 3 + 10, "conv1 has %lld params", (long long)info.num_params);
  CHECK_STATUS(xnn_model_layer(m, 10, &info), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_model_input(m, 1, &name, &s), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_model_output(m, -1, &name, &s), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_model_output(m, 2, &name, &s), XNN_ERROR_INVALID_ARGUMENT);
}

static void test_session(const xnn_model* m) {
  const xnn_shape s1 = make_shape4(1, 3, 12, 12), s2 = make_shape4(2, 3, 40, 31), s3 = make_shape4(2, 3, 12, 12);
  xnn_session* s = NULL;
  CHECK_OK(xnn_session_create(m, 1, &s));
  REQUIRE(s, "no session");
  CHECK(xnn_session_num_threads(s) == 1, "num_threads = %d", xnn_session_num_threads(s));
  check_run(s, m, &s1, 0, "declared shape, 1 thread");
  CHECK(xnn_session_arena_bytes(s) > 0, "arena bytes");

  /* Batch 2 and a 40x31 spatial size. */
  CHECK_OK(xnn_session_reshape_input(s, 0, &s2));
  xnn_shape got;
  CHECK_OK(xnn_session_input_shape(s, 0, &got));
  CHECK(shape_equal(&got, &s2), "input shape after reshape");
  check_run(s, m, &s2, 0, "2x3x40x31, 1 thread");

  CHECK_OK(xnn_session_set_num_threads(s, 2));
  CHECK(xnn_session_num_threads(s) == 2, "num_threads = %d", xnn_session_num_threads(s));
  check_run(s, m, &s2, 0, "2x3x40x31, 2 threads");

  /* Batch 2 of the declared spatial size: both items must give the batch-1 reference. */
  CHECK_OK(xnn_session_reshape_input(s, 0, &s3));
  check_run(s, m, &s1, 1, "2x3x12x12 (repeated item), 2 threads");
  CHECK_OK(xnn_session_set_num_threads(s, 1));
  check_run(s, m, &s1, 1, "2x3x12x12 (repeated item), 1 thread");

  CHECK_OK(xnn_session_reshape_input(s, 0, &s1));
  check_run(s, m, &s1, 0, "back to the declared shape");

  /* All inputs at once (det1 has one). */
  CHECK_OK(xnn_session_reshape(s, &s2));
  check_run(s, m, &s2, 0, "xnn_session_reshape to 2x3x40x31");
  CHECK_OK(xnn_session_reshape(s, &s1));
  check_run(s, m, &s1, 0, "xnn_session_reshape back");

  /* Profiling and per-layer stats. */
  CHECK_OK(xnn_session_set_profiling(s, 1));
  check_run(s, m, &s1, 0, "profiled run");
  xnn_layer_stats st;
  CHECK_OK(xnn_session_layer_stats(s, 0, &st));
  CHECK(strcmp(st.name, "conv1") == 0, "stats of layer 0: %s", st.name);
  {
    const xnn_shape want = make_shape4(1, 10, 10, 10);
    CHECK(shape_equal(&st.output_shape, &want), "conv1 output shape");
    CHECK(st.macs == 10LL * 10 * 10 * 3 * 3 * 3, "conv1 macs %lld", (long long)st.macs);
  }
  CHECK_STATUS(xnn_session_layer_stats(s, 10, &st), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_OK(xnn_session_set_profiling(s, 0));
  xnn_session_free(s);

  /* Two sessions of one model, with other shapes, alive at the same time. */
  xnn_session *a = NULL, *b = NULL;
  CHECK_OK(xnn_session_create(m, 2, &a));
  CHECK_OK(xnn_session_create(m, 1, &b));
  REQUIRE(a && b, "no sessions");
  CHECK_OK(xnn_session_reshape_input(b, 0, &s2));
  check_run(a, m, &s1, 0, "session A of two");
  check_run(b, m, &s2, 0, "session B of two");
  check_run(a, m, &s1, 0, "session A of two, again");
  xnn_session_free(a);
  xnn_session_free(b);
}

static void test_memory_load(const char* prototxt, const char* caffemodel) {
  size_t np = 0, nc = 0;
  char* text = read_file(prototxt, &np);
  unsigned char* bin = read_file(caffemodel, &nc);
  REQUIRE(text && bin, "cannot read %s / %s", prototxt, caffemodel);
  xnn_model* m = NULL;
  CHECK_OK(xnn_model_load_caffe_memory(text, np, bin, nc, &m));
  /* The buffers may be freed once the call returns: scribble over them first. */
  memset(text, '#', np);
  memset(bin, 0xA5, nc);
  free(text);
  free(bin);
  REQUIRE(m, "memory load failed: %s", xnn_last_error());
  test_model_info(m);
  xnn_session* s = NULL;
  CHECK_OK(xnn_session_create(m, 2, &s));
  REQUIRE(s, "no session");
  const xnn_shape s1 = make_shape4(1, 3, 12, 12), s2 = make_shape4(2, 3, 40, 31);
  check_run(s, m, &s1, 0, "memory-loaded model");
  CHECK_OK(xnn_session_reshape_input(s, 0, &s2));
  check_run(s, m, &s2, 0, "memory-loaded model, 2x3x40x31");
  xnn_session_free(s);
  xnn_model_free(m);

  /* The prototxt need not be NUL-terminated: pass a copy without the terminator, in an exact-size buffer. */
  text = read_file(prototxt, &np);
  bin = read_file(caffemodel, &nc);
  REQUIRE(text && bin, "cannot read the model again");
  char* exact = malloc(np);
  REQUIRE(exact, "out of memory");
  memcpy(exact, text, np);
  m = NULL;
  CHECK_OK(xnn_model_load_caffe_memory(exact, np, bin, nc, &m));
  xnn_model_free(m);
  free(exact);

  /* A broken prototxt from memory: a parse error with the line number. */
  char* broken = malloc(np + 64);
  REQUIRE(broken, "out of memory");
  const char* at = strstr(text, "num_output: 10");
  REQUIRE(at, "det1.prototxt has no 'num_output: 10'");
  int line = 1;
  for (const char* p = text; p < at; p++) line += *p == '\n';
  const size_t head = (size_t)(at - text);
  memcpy(broken, text, head);
  memcpy(broken + head, "num_output 10", 13); /* the ':' dropped */
  memcpy(broken + head + 13, at + 14, np - head - 14);
  m = NULL;
  CHECK_STATUS(xnn_model_load_caffe_memory(broken, np - 1, bin, nc, &m), XNN_ERROR_PARSE);
  CHECK(m == NULL, "model set on failure");
  char want[64];
  snprintf(want, sizeof(want), "line %d", line);
  CHECK(strstr(xnn_last_error(), want) != NULL, "parse error '%s' does not say '%s'", xnn_last_error(), want);
  free(broken);

  /* No caffemodel at all: the first layer with weights is named. */
  m = NULL;
  CHECK_STATUS(xnn_model_load_caffe_memory(text, np, NULL, 0, &m), XNN_ERROR_INVALID_MODEL);
  CHECK(strstr(xnn_last_error(), "conv1") != NULL, "no-weights error '%s' does not name conv1", xnn_last_error());
  /* An empty caffemodel: the layers' blobs are missing. */
  CHECK_STATUS(xnn_model_load_caffe_memory(text, np, bin, 0, &m), XNN_ERROR_INVALID_MODEL);
  CHECK(strstr(xnn_last_error(), "conv1") != NULL, "empty-caffemodel error '%s' does not name conv1",
        xnn_last_error());
  /* A truncated caffemodel. */
  CHECK_STATUS(xnn_model_load_caffe_memory(text, np, bin, nc / 2, &m), XNN_ERROR_PARSE);
  CHECK(strstr(xnn_last_error(), "truncated") != NULL, "truncation error '%s'", xnn_last_error());
  CHECK(m == NULL, "model set on failure");
  free(text);
  free(bin);
}

static void test_errors(const xnn_model* m, const char* prototxt) {
  xnn_model* bad = NULL;
  CHECK_STATUS(xnn_model_load_caffe("this/file/does/not/exist.prototxt", "nor/this.caffemodel", &bad),
               XNN_ERROR_IO);
  CHECK(xnn_last_error()[0] != '\0', "empty error message for a missing file");
  CHECK(strstr(xnn_last_error(), "does/not/exist") != NULL, "IO error '%s' does not name the path",
        xnn_last_error());
  CHECK(bad == NULL, "model not NULL after a failed load");
  bad = NULL;
  CHECK_STATUS(xnn_model_load_caffe(prototxt, "this/weights/do/not/exist.caffemodel", &bad), XNN_ERROR_IO);
  CHECK(strstr(xnn_last_error(), "exist.caffemodel") != NULL, "IO error '%s' does not name the caffemodel",
        xnn_last_error());
  CHECK(bad == NULL, "model not NULL after a failed load");
  CHECK_STATUS(xnn_model_load_caffe(NULL, NULL, &bad), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_model_load_caffe(prototxt, NULL, NULL), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_session_create(NULL, 1, NULL), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_session_run(NULL), XNN_ERROR_INVALID_ARGUMENT);
  xnn_model_free(NULL);
  xnn_session_free(NULL);
  CHECK(strcmp(xnn_status_string(XNN_ERROR_SHAPE), "") != 0, "status string");
  CHECK(xnn_version()[0] != '\0', "version");
  CHECK(xnn_cpu_features() != NULL, "cpu features");

  xnn_session* s = NULL;
  CHECK_OK(xnn_session_create(m, 2, &s));
  REQUIRE(s, "no session");
  const xnn_shape s1 = make_shape4(1, 3, 12, 12);
  float x[3 * 12 * 12 + 1];
  lcg_input(x, 3 * 12 * 12 + 1);
  CHECK_STATUS(xnn_session_set_input(s, 0, x, 3 * 12 * 12 - 1), XNN_ERROR_SHAPE);
  CHECK(strstr(xnn_last_error(), "data") != NULL, "set_input error '%s' does not name the input", xnn_last_error());
  CHECK_STATUS(xnn_session_set_input(s, 0, x, 3 * 12 * 12 + 1), XNN_ERROR_SHAPE);
  CHECK_STATUS(xnn_session_set_input(s, 0, NULL, 3 * 12 * 12), XNN_ERROR_SHAPE);
  CHECK_STATUS(xnn_session_set_input(s, 1, x, 3 * 12 * 12), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_session_set_input(s, -1, x, 3 * 12 * 12), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_session_output(s, 2, NULL, NULL), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_session_set_num_threads(s, 100000), XNN_ERROR_INVALID_ARGUMENT);
  CHECK(xnn_session_num_threads(s) == 2, "num_threads changed by a failed call: %d", xnn_session_num_threads(s));

  /* Two channels: conv1 expects three. */
  const xnn_shape two = make_shape4(1, 2, 12, 12);
  CHECK_STATUS(xnn_session_reshape_input(s, 0, &two), XNN_ERROR_SHAPE);
  CHECK(strstr(xnn_last_error(), "conv1") != NULL, "reshape error '%s' does not name conv1", xnn_last_error());
  xnn_shape got;
  CHECK_OK(xnn_session_input_shape(s, 0, &got));
  CHECK(shape_equal(&got, &s1), "input shape changed by a failed reshape");
  check_run(s, m, &s1, 0, "after a failed reshape (channels)");

  CHECK_STATUS(xnn_session_reshape(s, &two), XNN_ERROR_SHAPE);
  CHECK(strstr(xnn_last_error(), "conv1") != NULL, "xnn_session_reshape error '%s' does not name conv1",
        xnn_last_error());
  CHECK_STATUS(xnn_session_reshape(s, NULL), XNN_ERROR_INVALID_ARGUMENT);
  check_run(s, m, &s1, 0, "after a failed xnn_session_reshape");

  /* Too small a spatial size: some layer's output would be empty. */
  const xnn_shape tiny = make_shape4(1, 3, 5, 5);
  CHECK_STATUS(xnn_session_reshape_input(s, 0, &tiny), XNN_ERROR_SHAPE);
  CHECK(strstr(xnn_last_error(), "layer '") != NULL, "reshape error '%s' does not name a layer", xnn_last_error());
  check_run(s, m, &s1, 0, "after a failed reshape (too small)");

  /* Invalid shapes are rejected up front. */
  xnn_shape zero = make_shape4(1, 3, 0, 12), neg = make_shape4(-1, 3, 12, 12), huge = make_shape4(1, 3, 12, 12);
  huge.dims[2] = (int64_t)1 << 40;
  CHECK(xnn_session_reshape_input(s, 0, &zero) != XNN_OK, "zero dim accepted");
  CHECK(xnn_session_reshape_input(s, 0, &neg) != XNN_OK, "negative dim accepted");
  CHECK(xnn_session_reshape_input(s, 0, &huge) != XNN_OK, "2^40 dim accepted");
  xnn_shape nodims = s1;
  nodims.ndim = 0;
  CHECK_STATUS(xnn_session_reshape_input(s, 0, &nodims), XNN_ERROR_INVALID_ARGUMENT);
  nodims.ndim = XNN_MAX_DIMS + 1;
  CHECK_STATUS(xnn_session_reshape_input(s, 0, &nodims), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_session_reshape_input(s, 0, NULL), XNN_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(xnn_session_reshape_input(s, 3, &s1), XNN_ERROR_INVALID_ARGUMENT);
  /* A large but valid size overflows no arithmetic: 2^31 columns need a 2^33+ float output. */
  xnn_shape wide = make_shape4(1, 3, 12, (int64_t)1 << 31);
  CHECK(xnn_session_reshape_input(s, 0, &wide) != XNN_OK, "1x3x12x2^31 accepted");
  CHECK_OK(xnn_session_input_shape(s, 0, &got));
  CHECK(shape_equal(&got, &s1), "input shape changed by failed reshapes");
  check_run(s, m, &s1, 0, "after invalid reshapes");
  xnn_session_free(s);
}

/* ---------------------------------------------------------------- huge shapes
 * Shapes whose element counts do not fit 64 bits must be rejected with an error, without any signed
 * overflow on the way (UBSan checks this in the sanitizer build). One CTest test per case. */

static size_t put_varint(unsigned char* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (unsigned char)v;
  return n;
}

/* Replaces the first `from` in `text` by `to`; the result is malloc'd. */
static char* replace_once(const char* text, size_t size, const char* from, const char* to, size_t* out_size) {
  const char* at = strstr(text, from);
  REQUIRE(at, "'%s' not found", from);
  const size_t head = (size_t)(at - text), nf = strlen(from), nt = strlen(to);
  char* out = malloc(size - nf + nt + 1);
  REQUIRE(out, "out of memory");
  memcpy(out, text, head);
  memcpy(out + head, to, nt);
  memcpy(out + head + nt, at + nf, size - head - nf);
  *out_size = size - nf + nt;
  out[*out_size] = '\0';
  return out;
}

/* A weightless prototxt given as a string literal; exits when it does not load. */
static xnn_model* load_text(const char* text, size_t size) {
  xnn_model* m = NULL;
  CHECK_OK(xnn_model_load_caffe_memory(text, size, NULL, 0, &m));
  REQUIRE(m, "load failed");
  return m;
}

static void expect_load_error(const char* text, size_t np, const void* bin, size_t nc, const char* what) {
  xnn_model* m = NULL;
  const xnn_status st = xnn_model_load_caffe_memory(text, np, bin, nc, &m);
  CHECK(st != XNN_OK && m == NULL, "%s: loaded (status %d)", what, (int)st);
  CHECK(st == XNN_ERROR_SHAPE || st == XNN_ERROR_INVALID_MODEL || st == XNN_ERROR_UNSUPPORTED ||
            st == XNN_ERROR_OUT_OF_MEMORY,
        "%s: status %d (%s)", what, (int)st, xnn_status_string(st));
  printf("%s: status %d, '%s'\n", what, (int)st, xnn_last_error());
  xnn_model_free(m);
}

static int run_huge_case(const char* name, const char* prototxt, const char* caffemodel) {
  size_t np = 0, nc = 0;
  char* text = read_file(prototxt, &np);
  unsigned char* bin = read_file(caffemodel, &nc);
  REQUIRE(text && bin, "cannot read the model");
  const int64_t big = (int64_t)1 << 31;
  if (strcmp(name, "reshape") == 0) {
    /* det1 reshaped to 1x3x2^31x2^31, then 2^31x3x2^31x12: every dim is allowed, their product is not. */
    xnn_model* m = NULL;
    CHECK_OK(xnn_model_load_caffe_memory(text, np, bin, nc, &m));
    REQUIRE(m, "load failed");
    xnn_session* s = NULL;
    CHECK_OK(xnn_session_create(m, 1, &s));
    REQUIRE(s, "no session");
    const xnn_shape a = make_shape4(1, 3, big, big), b = make_shape4(big, 3, big, 12), s1 = make_shape4(1, 3, 12, 12);
    CHECK_STATUS(xnn_session_reshape_input(s, 0, &a), XNN_ERROR_SHAPE);
    CHECK_STATUS(xnn_session_reshape_input(s, 0, &b), XNN_ERROR_SHAPE);
    check_run(s, m, &s1, 0, "after huge reshapes");
    xnn_session_free(s);
    xnn_model_free(m);
  } else if (strcmp(name, "input_dim") == 0) {
    /* input_dim: 2000000000 for H and W in the prototxt. */
    size_t n2;
    char* t2 = replace_once(text, np, "input_dim: 12\ninput_dim: 12", "input_dim: 2000000000\ninput_dim: 2000000000", &n2);
    expect_load_error(t2, n2, bin, nc, "input_dim 2e9 x 2e9");
    free(t2);
  } else if (strcmp(name, "blob_dims") == 0) {
    /* A first 'conv1' layer in the caffemodel (matched before the real one) whose two blobs have shape
     * 2^32 x 2^32 and no data. */
    unsigned char shape[32], blob[40], layer[128], prefix[160];
    size_t ns = 0, nb = 0, nl = 0, npre = 0;
    for (int i = 0; i < 2; i++) {
      shape[ns++] = 0x08; /* dim, varint */
      ns += put_varint(shape + ns, (uint64_t)1 << 32);
    }
    blob[nb++] = 0x3a; /* BlobProto.shape, field 7 */
    nb += put_varint(blob + nb, ns);
    memcpy(blob + nb, shape, ns);
    nb += ns;
    layer[nl++] = 0x0a; /* LayerParameter.name, field 1 */
    nl += put_varint(layer + nl, 5);
    memcpy(layer + nl, "conv1", 5);
    nl += 5;
    for (int i = 0; i < 2; i++) {
      layer[nl++] = 0x3a; /* LayerParameter.blobs, field 7 */
      nl += put_varint(layer + nl, nb);
      memcpy(layer + nl, blob, nb);
      nl += nb;
    }
    npre += put_varint(prefix, (100u << 3) | 2u); /* NetParameter.layer, field 100 */
    npre += put_varint(prefix + npre, nl);
    memcpy(prefix + npre, layer, nl);
    npre += nl;
    unsigned char* b2 = malloc(npre + nc);
    REQUIRE(b2, "out of memory");
    memcpy(b2, prefix, npre);
    memcpy(b2 + npre, bin, nc);
    expect_load_error(text, np, b2, npre + nc, "conv1 blob of 2^32 x 2^32");
    free(b2);
  } else if (strcmp(name, "input_shape") == 0) {
    /* A weightless net whose declared input has four dims of 2^31. */
    static const char net[] =
        "input: \"data\"\n"
        "input_shape { dim: 2147483648 dim: 2147483648 dim: 2147483648 dim: 2147483648 }\n"
        "layer { name: \"relu\" type: \"ReLU\" bottom: \"data\" top: \"r\" }\n";
    expect_load_error(net, sizeof(net) - 1, NULL, 0, "input_shape 2^31 x 2^31 x 2^31 x 2^31");
  } else if (strcmp(name, "reshape_layer") == 0) {
    /* A Reshape layer to 2^31 x 2^31 x 2^31 of a 120-value input. */
    static const char net[] =
        "input: \"data\"\n"
        "input_shape { dim: 1 dim: 4 dim: 6 dim: 5 }\n"
        "layer { name: \"resh\" type: \"Reshape\" bottom: \"data\" top: \"resh\"\n"
        "        reshape_param { shape { dim: 2147483648 dim: 2147483648 dim: 2147483648 } } }\n";
    expect_load_error(net, sizeof(net) - 1, NULL, 0, "Reshape to 2^31 x 2^31 x 2^31");
  } else if (strcmp(name, "global_pool") == 0) {
    /* Global pooling of a 2^31 x 2^31 plane (and of a 2^20 x 2^20 one: 4 TiB of input, which must fail
     * cleanly, as a shape error or out of memory). */
    static const char net[] =
        "input: \"data\"\n"
        "input_shape { dim: 1 dim: 1 dim: 4 dim: 4 }\n"
        "layer { name: \"gp\" type: \"Pooling\" bottom: \"data\" top: \"gp\"\n"
        "        pooling_param { pool: AVE global_pooling: true } }\n";
    xnn_model* m = load_text(net, sizeof(net) - 1);
    xnn_session* s = NULL;
    CHECK_OK(xnn_session_create(m, 1, &s));
    REQUIRE(s, "no session");
    const xnn_shape a = make_shape4(1, 1, (int64_t)1 << 20, (int64_t)1 << 20), b = make_shape4(1, 1, big, big);
    xnn_status st = xnn_session_reshape_input(s, 0, &a);
    CHECK(st == XNN_ERROR_SHAPE || st == XNN_ERROR_OUT_OF_MEMORY, "1x1x2^20x2^20: status %d", (int)st);
    CHECK_STATUS(xnn_session_reshape_input(s, 0, &b), XNN_ERROR_SHAPE);
    float x[16] = {0};
    CHECK_OK(xnn_session_set_input(s, 0, x, 16));
    CHECK_OK(xnn_session_run(s));
    xnn_session_free(s);
    xnn_model_free(m);
  } else if (strcmp(name, "wrap_input") == 0) {
    /* 1 x 27905 x 1718039348 x 384773 = 2^64 + 4 elements: every dim is <= 2^31, and a wrapping product
     * makes it 4 elements; global pooling then reads planes of 6.6e14 values from a 4-value tensor. */
    static const char net[] =
        "input: \"data\"\n"
        "input_shape { dim: 1 dim: 1 dim: 4 dim: 4 }\n"
        "layer { name: \"gp\" type: \"Pooling\" bottom: \"data\" top: \"gp\"\n"
        "        pooling_param { pool: AVE global_pooling: true } }\n";
    static const char declared[] =
        "input: \"data\"\n"
        "input_shape { dim: 1 dim: 27905 dim: 1718039348 dim: 384773 }\n"
        "layer { name: \"gp\" type: \"Pooling\" bottom: \"data\" top: \"gp\"\n"
        "        pooling_param { pool: AVE global_pooling: true } }\n";
    expect_load_error(declared, sizeof(declared) - 1, NULL, 0, "declared input of 2^64 + 4 elements");
    xnn_model* m = load_text(net, sizeof(net) - 1);
    xnn_session* s = NULL;
    CHECK_OK(xnn_session_create(m, 1, &s));
    REQUIRE(s, "no session");
    const xnn_shape wrap = make_shape4(1, 27905, 1718039348, 384773);
    CHECK_STATUS(xnn_session_reshape_input(s, 0, &wrap), XNN_ERROR_SHAPE);
    xnn_shape got;
    CHECK_OK(xnn_session_input_shape(s, 0, &got));
    if (shape_equal(&got, &wrap)) {
      printf("the 2^64 + 4 element input was accepted; running it (out-of-bounds read expected)\n");
      fflush(stdout);
      float x[4] = {1, 2, 3, 4};
      if (xnn_session_set_input(s, 0, x, 4) == XNN_OK) xnn_session_run(s);
    }
    xnn_session_free(s);
    xnn_model_free(m);
  } else if (strcmp(name, "wrap_reshape") == 0) {
    /* A Reshape layer of a 120-value input to 30 x 27905 x 1718039348 x 384773 (= 120 modulo 2^64),
     * then global pooling: it must be rejected at load, not read out of bounds when run. */
    static const char net[] =
        "input: \"data\"\n"
        "input_shape { dim: 1 dim: 4 dim: 6 dim: 5 }\n"
        "layer { name: \"resh\" type: \"Reshape\" bottom: \"data\" top: \"resh\"\n"
        "        reshape_param { shape { dim: 30 dim: 27905 dim: 1718039348 dim: 384773 } } }\n"
        "layer { name: \"gp\" type: \"Pooling\" bottom: \"resh\" top: \"gp\"\n"
        "        pooling_param { pool: MAX global_pooling: true } }\n";
    xnn_model* m = NULL;
    const xnn_status st = xnn_model_load_caffe_memory(net, sizeof(net) - 1, NULL, 0, &m);
    CHECK(st == XNN_ERROR_SHAPE || st == XNN_ERROR_INVALID_MODEL, "Reshape to 2^64 + 120 elements: status %d",
          (int)st);
    if (m) {
      xnn_session* s = NULL;
      if (xnn_session_create(m, 1, &s) == XNN_OK) {
        printf("the Reshape was accepted; running it (out-of-bounds read expected)\n");
        fflush(stdout);
        float x[120];
        lcg_input(x, 120);
        if (xnn_session_set_input(s, 0, x, 120) == XNN_OK) xnn_session_run(s);
        xnn_session_free(s);
      }
      xnn_model_free(m);
    }
  } else {
    fprintf(stderr, "unknown huge case '%s'\n", name);
    g_failures++;
  }
  free(text);
  free(bin);
  if (g_failures) {
    fprintf(stderr, "test_c_api huge %s: %d check(s) failed\n", name, g_failures);
    return 1;
  }
  printf("test_c_api huge %s: all checks passed\n", name);
  return 0;
}

/* DetectionOutput through the C API: the planned shape is the most rows there can be, a run writes its
 * row count into the output's shape, and nothing detected gives Caffe's placeholder row. */
static void test_detection_output(void) {
  static const char net[] =
      "input: \"loc\" input_shape { dim: 1 dim: 8 }\n"
      "input: \"conf\" input_shape { dim: 1 dim: 4 }\n"
      "input: \"prior\" input_shape { dim: 1 dim: 2 dim: 8 }\n"
      "layer { name: \"det\" type: \"DetectionOutput\" bottom: \"loc\" bottom: \"conf\" bottom: \"prior\"\n"
      "        top: \"det\" detection_output_param { num_classes: 2 confidence_threshold: 0.5 } }\n";
  xnn_model* m = load_text(net, sizeof(net) - 1);
  xnn_shape declared;
  CHECK_OK(xnn_model_output(m, 0, NULL, &declared));
  CHECK(declared.ndim == 4 && declared.dims[2] == 2 && declared.dims[3] == 7, "declared %lld rows",
        (long long)declared.dims[2]);
  xnn_session* s = NULL;
  CHECK_OK(xnn_session_create(m, 1, &s));
  REQUIRE(s, "no session");
  const float loc[8] = {0}, prior[16] = {0, 0, 0.5f, 0.5f, 0.5f, 0.5f, 1, 1, 0.1f, 0.1f, 0.2f, 0.2f, 0.1f, 0.1f, 0.2f, 0.2f};
  const float conf[2][4] = {{0.2f, 0.8f, 0.9f, 0.1f}, {0.6f, 0.4f, 0.9f, 0.1f}};
  const float want[2][7] = {{0, 1, 0.8f, 0, 0, 0.5f, 0.5f}, {0, -1, -1, -1, -1, -1, -1}};
  for (int round = 0; round < 2; round++) {
    CHECK_OK(xnn_session_set_input(s, 0, loc, 8));
    CHECK_OK(xnn_session_set_input(s, 1, conf[round], 4));
    CHECK_OK(xnn_session_set_input(s, 2, prior, 16));
    CHECK_OK(xnn_session_run(s));
    const float* out = NULL;
    xnn_shape shape;
    CHECK_OK(xnn_session_output(s, 0, &out, &shape));
    CHECK(shape.ndim == 4 && shape.dims[2] == 1 && shape.dims[3] == 7, "round %d: %lld rows", round,
          (long long)shape.dims[2]);
    for (int i = 0; out && i < 7; i++) CHECK(out[i] == want[round][i], "round %d value %d: %g", round, i, out[i]);
  }
  xnn_session_free(s);
  xnn_model_free(m);
}

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s det1.prototxt det1.caffemodel reference_dir [huge case]\n", argv[0]);
    return 2;
  }
  const double t0 = test_now_s();
  g_ref_dir = argv[3];
  if (argc == 5) return run_huge_case(argv[4], argv[1], argv[2]);
  xnn_model* m = NULL;
  CHECK_OK(xnn_model_load_caffe(argv[1], argv[2], &m));
  REQUIRE(m, "cannot load %s + %s: %s", argv[1], argv[2], xnn_last_error());
  test_model_info(m);
  test_session(m);
  test_errors(m, argv[1]);
  xnn_model_free(m);
  test_memory_load(argv[1], argv[2]);
  test_detection_output();
  if (g_failures) {
    fprintf(stderr, "test_c_api: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("test_c_api: all checks passed (%.2f s, xnn %s, cpu: %s)\n", test_now_s() - t0, xnn_version(),
         xnn_cpu_features());
  return 0;
}
