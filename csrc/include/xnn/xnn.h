/* xnn: a small CPU inference engine. Public C API.
 *
 * A model (graph + pre-packed weights) is loaded once and is immutable; a session binds it to concrete
 * input shapes, owns the memory arena and the thread pool, and runs it. Several sessions may share one
 * model (one per thread, or one per input shape).
 *
 * Every call returns an xnn_status; on failure xnn_last_error() gives a message for the calling thread
 * that names the layer and field at fault.
 */
#ifndef XNN_XNN_H
#define XNN_XNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define XNN_API __declspec(dllexport)
#else
#define XNN_API __attribute__((visibility("default")))
#endif

#define XNN_MAX_DIMS 8

typedef enum xnn_status_code {
  XNN_OK = 0,
  XNN_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, an index out of range, a wrong element count */
  XNN_ERROR_IO = 2,               /* a file could not be opened or read */
  XNN_ERROR_PARSE = 3,            /* a model file is malformed (syntax, truncation, bad wire data) */
  XNN_ERROR_UNSUPPORTED = 4,      /* a layer type or parameter the engine does not implement */
  XNN_ERROR_INVALID_MODEL = 5,    /* well-formed but inconsistent: missing blob, wrong blob size, bad graph */
  XNN_ERROR_SHAPE = 6,            /* an input shape the network cannot accept */
  XNN_ERROR_OUT_OF_MEMORY = 7,
} xnn_status;

typedef struct xnn_model xnn_model;
typedef struct xnn_session xnn_session;

/* Shape of a tensor: up to XNN_MAX_DIMS dimensions, outermost first (NCHW for images). */
typedef struct xnn_shape {
  int32_t ndim;
  int64_t dims[XNN_MAX_DIMS];
} xnn_shape;

/* Message for the last failed call on this thread ("" if none). Valid until the next failing call. */
XNN_API const char* xnn_last_error(void);
XNN_API const char* xnn_status_string(xnn_status status);
XNN_API const char* xnn_version(void);

/* ---- model ---- */

/* Loads a Caffe model: deploy prototxt (text) + caffemodel (binary protobuf). */
XNN_API xnn_status xnn_model_load_caffe(const char* prototxt_path, const char* caffemodel_path, xnn_model** model);
/* The same from memory buffers; the buffers may be freed once the call returns. */
XNN_API xnn_status xnn_model_load_caffe_memory(const char* prototxt, size_t prototxt_size, const void* caffemodel,
                                               size_t caffemodel_size, xnn_model** model);
/* Loads a .xnn model (docs/FORMAT.md): written by `xnn convert` or `xnn compress`; its weights, coded in
 * whatever form the file uses (float16, codebooks, sparse, Huffman), are decoded once here. */
XNN_API xnn_status xnn_model_load(const char* path, xnn_model** model);
XNN_API xnn_status xnn_model_load_memory(const void* data, size_t size, xnn_model** model);
XNN_API void xnn_model_free(xnn_model* model);

XNN_API int32_t xnn_model_num_inputs(const xnn_model* model);
XNN_API int32_t xnn_model_num_outputs(const xnn_model* model);
/* Name and declared shape (as written in the model file) of input/output `index`. */
XNN_API xnn_status xnn_model_input(const xnn_model* model, int32_t index, const char** name, xnn_shape* shape);
XNN_API xnn_status xnn_model_output(const xnn_model* model, int32_t index, const char** name, xnn_shape* shape);
/* How the model's 4-D inputs hold an image: "NCHW" (Caffe, ONNX) or "NHWC" (Keras; a .xnn file's
 * "layout" metadata). */
XNN_API const char* xnn_model_input_layout(const xnn_model* model);

/* The kernel set chosen for this CPU at load ("avx512", "avx2", "neon", "ref"). The XNN_ISA environment
 * variable, read at load, caps it (e.g. XNN_ISA=avx2 on an AVX-512 machine). */
XNN_API const char* xnn_model_isa(const xnn_model* model);

/* Number of layers after loading (after fusion: a Convolution that absorbed a BatchNorm, Scale and ReLU
 * is one layer whose type reads "Convolution+BatchNorm+Scale+ReLU"; a layer whose pruned weights run on
 * the sparse kernels adds its density: "Convolution+ReLU [sparse: 18.5% nonzero]"), and a description
 * of layer `index` for tools (`xnn info`). */
typedef struct xnn_layer_info {
  const char* name;
  const char* type;      /* Caffe type name, e.g. "Convolution" */
  int64_t num_params;    /* learnable scalars */
} xnn_layer_info;
XNN_API int32_t xnn_model_num_layers(const xnn_model* model);
XNN_API xnn_status xnn_model_layer(const xnn_model* model, int32_t index, xnn_layer_info* info);

/* ---- session ---- */

/* Creates a session for the model with its declared input shapes; `num_threads` <= 0 means one per core. */
XNN_API xnn_status xnn_session_create(const xnn_model* model, int32_t num_threads, xnn_session** session);
XNN_API void xnn_session_free(xnn_session* session);

/* Changes the shape of input `index` (another batch size, another spatial size for a fully convolutional
 * net). Shapes and the memory plan are recomputed; XNN_ERROR_SHAPE names the layer that cannot accept it. */
XNN_API xnn_status xnn_session_reshape_input(xnn_session* session, int32_t index, const xnn_shape* shape);
/* Changes the shapes of all inputs at once (`shapes` has xnn_model_num_inputs entries): for nets whose
 * inputs must change together, such as two inputs summed by an Eltwise layer. */
XNN_API xnn_status xnn_session_reshape(xnn_session* session, const xnn_shape* shapes);
XNN_API xnn_status xnn_session_set_num_threads(xnn_session* session, int32_t num_threads);
XNN_API int32_t xnn_session_num_threads(const xnn_session* session);

/* Copies `count` floats into input `index`; count must equal the input's element count. */
XNN_API xnn_status xnn_session_set_input(xnn_session* session, int32_t index, const float* data, size_t count);
XNN_API xnn_status xnn_session_input_shape(const xnn_session* session, int32_t index, xnn_shape* shape);
XNN_API xnn_status xnn_session_run(xnn_session* session);
/* Output `index` after run: a pointer into the session (valid until the next run/reshape/free) and its shape.
 *
 * The shape is the one the last run produced. It is the planned shape for every output but an SSD
 * DetectionOutput's, whose number of rows depends on the data: [1, 1, K, 7], one row (image, label,
 * score, xmin, ymin, xmax, ymax) per detection, coordinates relative to the image, by image, label, then
 * decreasing score. Memory for the most rows there can be is planned (that maximum is the shape
 * xnn_model_output and xnn_session_layer_stats report before a run), the run writes K of them and sets
 * dim 2 to K; no allocation happens. When no image has a detection, K = N (the batch) and row i is
 * (i, -1, -1, -1, -1, -1, -1), Caffe's placeholder. */
XNN_API xnn_status xnn_session_output(const xnn_session* session, int32_t index, const float** data, xnn_shape* shape);

/* Per-layer shapes and multiply-accumulate counts of the current plan, for tools. */
typedef struct xnn_layer_stats {
  const char* name;
  const char* type;
  xnn_shape output_shape; /* first output */
  int64_t macs;
  double last_time_ms;    /* time of the layer in the last profiled run; 0 if not profiled */
  int32_t with_previous;  /* 1: runs as one with the layer before it, its time counted in that layer's */
} xnn_layer_stats;
XNN_API xnn_status xnn_session_layer_stats(const xnn_session* session, int32_t index, xnn_layer_stats* stats);
/* Enables per-layer timing of runs (off by default: it costs two clock reads per layer). */
XNN_API xnn_status xnn_session_set_profiling(xnn_session* session, int32_t enabled);
/* Bytes of the activation arena of the current plan (intermediate tensors after liveness reuse). */
XNN_API size_t xnn_session_arena_bytes(const xnn_session* session);

/* CPU features detected once per process, as a string such as "avx2 fma avx512f" or "neon". */
XNN_API const char* xnn_cpu_features(void);
/* The kernel sets this build can use on this CPU, best last, e.g. "ref avx2 avx512". */
XNN_API const char* xnn_available_isas(void);

#ifdef __cplusplus
}
#endif
#endif /* XNN_XNN_H */
