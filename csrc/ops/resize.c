/* Spatial resize of NCHW planes (ONNX Resize and Upsample): nearest or bilinear, with the coordinate
 * transforms and nearest rounding modes ONNX models use. Linear sampling clamps the source coordinate to
 * the plane, as ONNX Runtime does. */
#include <math.h>

#include "ops/ops.h"

static int64_t resized(int64_t in, int32_t size, float scale) {
  return size > 0 ? size : (int64_t)floor((double)in * (double)scale);
}

static xnn_status resize_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  char buf[128];
  if (in->ndim != 4) return xnn_shape_error("input must be 4-D NCHW, got %s", xnn_shape_str(in, buf, sizeof(buf)));
  const xnn_resize_params* p = &n->p.resize;
  xnn_shape* out = &t[n->outputs[0]].shape;
  *out = *in;
  out->dims[2] = resized(in->dims[2], p->oh, p->sh);
  out->dims[3] = resized(in->dims[3], p->ow, p->sw);
  if (out->dims[2] < 1 || out->dims[3] < 1 || out->dims[2] > XNN_MAX_DIM || out->dims[3] > XNN_MAX_DIM)
    return xnn_shape_error("output size %lldx%lld for input %s is out of range", (long long)out->dims[2],
                           (long long)out->dims[3], xnn_shape_str(in, buf, sizeof(buf)));
  plan->macs = xnn_mul_sat(xnn_shape_numel(out), p->mode == XNN_RESIZE_LINEAR ? 4 : 1);
  plan->workspace_bytes = 0;
  return XNN_OK;
}

typedef struct resize_job {
  const xnn_resize_params* p;
  const float* x;
  float* y;
  int64_t ih, iw, oh, ow;
  float sh, sw; /* the scales the coordinate transform divides by */
} resize_job;

/* `out` is ONNX's length_resized: in * scale before rounding down. */
static float source_coord(int32_t coord, int64_t x, float scale, int64_t in, float out) {
  switch (coord) {
    case XNN_COORD_ASYMMETRIC: return (float)x / scale;
    case XNN_COORD_ALIGN_CORNERS: return out > 1.0f ? (float)x * (float)(in - 1) / (out - 1.0f) : 0.0f;
    case XNN_COORD_PYTORCH_HALF_PIXEL:
      if (out <= 1.0f) return 0.0f;
      /* fall through */
    default: return ((float)x + 0.5f) / scale - 0.5f;
  }
}

static int64_t clamp_index(float x, int64_t in) {
  return x <= 0.0f ? 0 : x >= (float)(in - 1) ? in - 1 : (int64_t)x;
}

static int64_t nearest_index(int32_t mode, float x, int64_t in) {
  switch (mode) {
    case XNN_NEAREST_ROUND_PREFER_FLOOR: x = ceilf(x - 0.5f); break;
    case XNN_NEAREST_ROUND_PREFER_CEIL: x = floorf(x + 0.5f); break;
    case XNN_NEAREST_FLOOR: x = floorf(x); break;
    default: x = ceilf(x); break;
  }
  return clamp_index(x, in);
}

/* The two taps and the weight of the second for one axis. */
static void linear_taps(float x, int64_t in, int64_t* i0, int64_t* i1, float* w) {
  x = x < 0.0f ? 0.0f : x > (float)(in - 1) ? (float)(in - 1) : x;
  *i0 = (int64_t)x;
  *i1 = *i0 + 1 < in ? *i0 + 1 : *i0;
  *w = x - (float)*i0;
}

static void resize_plane(void* ctx, size_t plane) {
  const resize_job* j = ctx;
  const xnn_resize_params* p = j->p;
  const float* x = j->x + plane * (size_t)(j->ih * j->iw);
  float* y = j->y + plane * (size_t)(j->oh * j->ow);
  for (int64_t oy = 0; oy < j->oh; oy++, y += j->ow) {
    const float sy = source_coord(p->coord, oy, j->sh, j->ih, (float)j->ih * j->sh);
    if (p->mode == XNN_RESIZE_NEAREST) {
      const float* row = x + nearest_index(p->nearest, sy, j->ih) * j->iw;
      for (int64_t ox = 0; ox < j->ow; ox++)
        y[ox] = row[nearest_index(p->nearest, source_coord(p->coord, ox, j->sw, j->iw, (float)j->iw * j->sw), j->iw)];
      continue;
    }
    int64_t y0, y1, x0, x1;
    float wy, wx;
    linear_taps(sy, j->ih, &y0, &y1, &wy);
    const float *r0 = x + y0 * j->iw, *r1 = x + y1 * j->iw;
    for (int64_t ox = 0; ox < j->ow; ox++) {
      linear_taps(source_coord(p->coord, ox, j->sw, j->iw, (float)j->iw * j->sw), j->iw, &x0, &x1, &wx);
      const float top = r0[x0] + wx * (r0[x1] - r0[x0]), bottom = r1[x0] + wx * (r1[x1] - r1[x0]);
      y[ox] = top + wy * (bottom - top);
    }
  }
}

static void resize_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_tensor_rt* out = &ctx->tensors[n->outputs[0]];
  const xnn_resize_params* p = &n->p.resize;
  resize_job j = {p, in->data, out->data, in->shape.dims[2], in->shape.dims[3], out->shape.dims[2],
                  out->shape.dims[3], p->sh, p->sw};
  /* A size without a scale: the transform uses out / in. */
  if (!(p->sh > 0.0f)) j.sh = (float)j.oh / (float)j.ih;
  if (!(p->sw > 0.0f)) j.sw = (float)j.ow / (float)j.iw;
  xnn_parallelize(ctx->pool, resize_plane, &j, (size_t)(in->shape.dims[0] * in->shape.dims[1]));
}

const xnn_op_def xnn_op_resize = {.reshape = resize_reshape, .run = resize_run};
