/* Pooling, NCHW, with Caffe's output size: ceil rounding by default, and the last window dropped when
 * it would start in the padding only. Max pooling with stride 1 or 2 runs a vector kernel without bounds
 * checks: on the plane itself where nothing is padded at the top or left, else on a copy of it in -INF
 * padded scratch. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ops/ops.h"

static int64_t pooled_size(int64_t in, int32_t k, int32_t s, int32_t pad_begin, int32_t pad_end, int ceil_mode,
                           int any_pad) {
  const int64_t span = in + pad_begin + pad_end - k;
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  /* Caffe checks this on both axes as soon as either axis is padded. */
  if (any_pad && (out - 1) * s >= in + pad_begin) out--;
  return out;
}

static void pool_geometry(const xnn_pool_params* p, const xnn_shape* in, xnn_pool_params* g) {
  *g = *p;
  if (p->global) {
    g->kh = (int32_t)in->dims[2];
    g->kw = (int32_t)in->dims[3];
    g->sh = g->sw = 1;
    g->pad_top = g->pad_left = g->pad_bottom = g->pad_right = 0;
  }
}

typedef struct padded_geometry {
  size_t rows, stride; /* of the padded plane */
} padded_geometry;

static int use_padded(const xnn_pool_params* g, const xnn_kernels* k) {
  return g->method == XNN_POOL_MAX && k->maxpool_padded && g->sh == g->sw && (g->sh == 1 || g->sh == 2);
}

static padded_geometry padded_plane(const xnn_pool_params* g, size_t ih, size_t iw, size_t oh, size_t ow) {
  padded_geometry p;
  p.rows = XNN_MAX((oh - 1) * (size_t)g->sh + (size_t)g->kh, ih + (size_t)g->pad_top);
  p.stride = XNN_MAX((ow - 1) * (size_t)g->sw + (size_t)g->kw, iw + (size_t)g->pad_left) + 1;
  return p;
}

static xnn_status pool_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  char buf[128];
  if (in->ndim != 4) return xnn_shape_error("input must be 4-D NCHW, got %s", xnn_shape_str(in, buf, sizeof(buf)));
  xnn_pool_params g;
  pool_geometry(&n->p.pool, in, &g);
  if (in->dims[2] + g.pad_top + g.pad_bottom < g.kh || in->dims[3] + g.pad_left + g.pad_right < g.kw)
    return xnn_shape_error("input %s is smaller than the %dx%d window", xnn_shape_str(in, buf, sizeof(buf)), g.kh,
                           g.kw);
  xnn_shape* out = &t[n->outputs[0]].shape;
  *out = *in;
  const int any_pad = g.pad_top || g.pad_left || g.pad_bottom || g.pad_right;
  out->dims[2] = pooled_size(in->dims[2], g.kh, g.sh, g.pad_top, g.pad_bottom, g.ceil_mode, any_pad);
  out->dims[3] = pooled_size(in->dims[3], g.kw, g.sw, g.pad_left, g.pad_right, g.ceil_mode, any_pad);
  plan->macs = xnn_mul_sat(xnn_shape_numel(out), (int64_t)g.kh * g.kw);
  plan->workspace_bytes = 0;
  /* Each thread pools a range of the planes: of one image, a range of the channels. */
  plan->output_by_channels = in->dims[0] == 1;
  if (use_padded(&g, plan->kernels)) {
    const padded_geometry p = padded_plane(&g, (size_t)in->dims[2], (size_t)in->dims[3], (size_t)out->dims[2],
                                           (size_t)out->dims[3]);
    plan->workspace_bytes = plan->num_threads * ((p.rows * p.stride + XNN_POOL_EXTRA) * sizeof(float) + 64);
  }
  return XNN_OK;
}

typedef struct pool_job {
  xnn_pool_geometry geo;
  xnn_f32_pool_fn fn;
  const float* in;
  float* out;
  xnn_f32_maxpool_padded_fn padded_fn;
  padded_geometry pg;
  size_t stride;
  float* workspace;
  size_t workspace_stride;
  size_t in_place_planes; /* planes [0, this) are pooled without the padded copy */
  int exclude_pad;
} pool_job;

/* The max of window (oy, ox) clipped to a plane without top or left padding, as the reference kernel. */
static float clipped_max(const xnn_pool_geometry* g, const float* in, size_t oy, size_t ox) {
  const size_t y0 = oy * g->sh, x0 = ox * g->sw;
  const size_t y1 = XNN_MIN(y0 + g->kh, g->ih), x1 = XNN_MIN(x0 + g->kw, g->iw);
  float m = -FLT_MAX;
  for (size_t y = y0; y < y1; y++)
    for (size_t x = x0; x < x1; x++) m = in[y * g->iw + x] > m ? in[y * g->iw + x] : m;
  return m;
}

/* The kernels' geometry of a layer (g from pool_geometry) with input and output shapes in, out. */
static xnn_pool_geometry kernel_geometry(const xnn_pool_params* g, const xnn_shape* in, const xnn_shape* out) {
  return (xnn_pool_geometry){(size_t)in->dims[2], (size_t)in->dims[3], (size_t)out->dims[2], (size_t)out->dims[3],
                             (size_t)g->kh, (size_t)g->kw, (size_t)g->sh, (size_t)g->sw, (size_t)g->pad_top,
                             (size_t)g->pad_left, (size_t)g->pad_bottom, (size_t)g->pad_right};
}

int xnn_maxpool_rows_geometry(const xnn_node* n, const xnn_tensor_rt* t, const xnn_kernels* k, xnn_pool_geometry* g) {
  const xnn_pool_params* p = &n->p.pool;
  if (p->global || p->pad_top || p->pad_left || !use_padded(p, k)) return 0;
  *g = kernel_geometry(p, &t[n->inputs[0]].shape, &t[n->outputs[0]].shape);
  return 1;
}

void xnn_maxpool_rows(xnn_f32_maxpool_padded_fn fn, const xnn_pool_geometry* g, const float* in, size_t y0, size_t y1,
                      float* out) {
  fn(y1 - y0, g->ow, g->kh, g->kw, g->sh, in + y0 * g->sh * g->iw, g->iw, out + y0 * g->ow);
  if ((g->ow - 1) * g->sw + g->kw > g->iw)
    for (size_t oy = y0; oy < y1; oy++) out[oy * g->ow + g->ow - 1] = clipped_max(g, in, oy, g->ow - 1);
  if (y1 == g->oh && (g->oh - 1) * g->sh + g->kh > g->ih)
    for (size_t ox = 0; ox < g->ow; ox++) out[(g->oh - 1) * g->ow + ox] = clipped_max(g, in, g->oh - 1, ox);
}

/* Copies one plane into the thread's -INF padded scratch and pools it. The scratch was filled with -INF
 * before the layer and only its interior is ever written, so per plane only the rows are copied. Without
 * top or left padding (SqueezeNet's, GoogLeNet's and ResNet-50's 3x3/2 pools) the plane is pooled where
 * it is instead, as long as the kernel's reads past it (a ceil-mode overhang, XNN_POOL_EXTRA) stay inside
 * the tensor: the copy cost about as much as the pooling. The windows of an overhang then read the next
 * row or plane, so the last output column and row are redone clipped to the plane. */
static void pool_plane_padded(void* ctx, size_t thread, size_t i) {
  const pool_job* j = ctx;
  const xnn_pool_geometry* g = &j->geo;
  if (i < j->in_place_planes) {
    xnn_maxpool_rows(j->padded_fn, g, j->in + i * g->ih * g->iw, 0, g->oh, j->out + i * g->oh * g->ow);
    return;
  }
  float* pad = j->workspace + thread * j->workspace_stride;
  xnn_copy_rows(pad + g->pad_top * j->pg.stride + g->pad_left, j->pg.stride, j->in + i * g->ih * g->iw, g->ih,
                g->iw);
  j->padded_fn(g->oh, g->ow, g->kh, g->kw, j->stride, pad, j->pg.stride, j->out + i * g->oh * g->ow);
}

/* Taps of window [o*s - pad, + k) along one axis: inside [-pad, in + pad_end) (what the kernel divides by)
 * and inside the input. */
static void window_taps(size_t o, size_t s, size_t k, size_t pad, size_t pad_end, size_t in, ptrdiff_t* all,
                        ptrdiff_t* inside) {
  const ptrdiff_t a = (ptrdiff_t)(o * s) - (ptrdiff_t)pad;
  const ptrdiff_t b = XNN_MIN(a + (ptrdiff_t)k, (ptrdiff_t)(in + pad_end));
  *all = b - a;
  *inside = XNN_MIN(b, (ptrdiff_t)in) - XNN_MAX(a, (ptrdiff_t)0);
}

static void pool_plane(void* ctx, size_t i) {
  const pool_job* j = ctx;
  const xnn_pool_geometry* g = &j->geo;
  float* out = j->out + i * g->oh * g->ow;
  j->fn(g, j->in + i * g->ih * g->iw, out);
  if (!j->exclude_pad) return;
  /* Rescale the windows that overlap the padding from the kernel's divisor to the count of real taps. */
  for (size_t oy = 0; oy < g->oh; oy++) {
    ptrdiff_t hall, hin, wall, win;
    window_taps(oy, g->sh, g->kh, g->pad_top, g->pad_bottom, g->ih, &hall, &hin);
    for (size_t ox = 0; ox < g->ow; ox++) {
      window_taps(ox, g->sw, g->kw, g->pad_left, g->pad_right, g->iw, &wall, &win);
      if (hin > 0 && win > 0 && (hin != hall || win != wall))
        out[oy * g->ow + ox] *= (float)(hall * wall) / (float)(hin * win);
    }
  }
}

static void pool_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_tensor_rt* out = &ctx->tensors[n->outputs[0]];
  xnn_pool_params g;
  pool_geometry(&n->p.pool, &in->shape, &g);
  pool_job j = {kernel_geometry(&g, &in->shape, &out->shape),
                g.method == XNN_POOL_MAX ? ctx->kernels->maxpool : ctx->kernels->avgpool, in->data, out->data,
                NULL, {0, 0}, (size_t)g.sh, ctx->workspace, 0, 0,
                g.method == XNN_POOL_AVE && g.exclude_pad && !g.global};
  const size_t planes = (size_t)(in->shape.dims[0] * in->shape.dims[1]);
  if (use_padded(&g, ctx->kernels)) {
    j.padded_fn = ctx->kernels->maxpool_padded;
    j.pg = padded_plane(&g, j.geo.ih, j.geo.iw, j.geo.oh, j.geo.ow);
    j.workspace_stride = j.pg.rows * j.pg.stride + XNN_POOL_EXTRA + 16;
    const xnn_pool_geometry* q = &j.geo;
    const size_t plane = q->ih * q->iw;
    const size_t rows_over = (q->oh - 1) * q->sh + q->kh > q->ih ? (q->oh - 1) * q->sh + q->kh - q->ih : 0;
    /* An overhang's outputs redone one by one cost more than the copy on small maps (GoogLeNet's 14x14 ->
     * 7x7 pool: 13 of 49 outputs); from an eighth of the outputs down, the copy costs more. */
    const int overhang = rows_over > 0 || (q->ow - 1) * q->sw + q->kw > q->iw;
    if (!q->pad_top && !q->pad_left && (!overhang || (q->oh + q->ow) * 8 <= q->oh * q->ow)) {
      /* Floats the kernel may read past a plane: the rows of a bottom overhang, a window, XNN_POOL_EXTRA. */
      const size_t past = rows_over * q->iw + q->kw + XNN_POOL_EXTRA;
      j.in_place_planes = planes - XNN_MIN(planes, (past + plane - 1) / plane);
    }
    const size_t fill = (size_t)xnn_threadpool_size(ctx->pool) * j.workspace_stride;
    for (size_t p = 0; p < fill; p++) j.workspace[p] = -INFINITY;
    xnn_parallelize_thread(ctx->pool, pool_plane_padded, &j, planes);
    return;
  }
  xnn_parallelize(ctx->pool, pool_plane, &j, planes);
}

const xnn_op_def xnn_op_pooling = {.reshape = pool_reshape, .run = pool_run};
