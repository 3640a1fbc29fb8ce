/* Convolution, NCHW. Three paths chosen from the geometry: depthwise (one plane per channel), 1x1
 * stride 1 without padding (the input already is the GEMM's B), and im2col + GEMM for the rest. */
#include <string.h>

#include "ops/ops.h"

enum { TILE_M = 16, TILE_N = 256 };

static int is_depthwise(const xnn_conv_params* c) {
  return c->group > 1 && c->group == c->cin && c->group == c->num_output;
}

static int is_pointwise(const xnn_conv_params* c) {
  return c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && c->pad_top == 0 && c->pad_left == 0 &&
         c->pad_bottom == 0 && c->pad_right == 0;
}

static xnn_status conv_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_conv_params* c = &n->p.conv;
  const xnn_shape* in = &t[n->inputs[0]].shape;
  char buf[128];
  if (in->ndim != 4) return xnn_shape_error("input must be 4-D NCHW, got %s", xnn_shape_str(in, buf, sizeof(buf)));
  if (in->dims[1] != c->cin)
    return xnn_shape_error("input has %lld channels, the weights expect %d", (long long)in->dims[1], c->cin);
  const int64_t ekh = (int64_t)c->dh * (c->kh - 1) + 1, ekw = (int64_t)c->dw * (c->kw - 1) + 1;
  const int64_t ph = in->dims[2] + c->pad_top + c->pad_bottom, pw = in->dims[3] + c->pad_left + c->pad_right;
  if (ph < ekh || pw < ekw)
    return xnn_shape_error("input %s is smaller than the %dx%d kernel (dilation %dx%d)",
                           xnn_shape_str(in, buf, sizeof(buf)), c->kh, c->kw, c->dh, c->dw);
  xnn_shape* out = &t[n->outputs[0]].shape;
  out->ndim = 4;
  out->dims[0] = in->dims[0];
  out->dims[1] = c->num_output;
  out->dims[2] = (ph - ekh) / c->sh + 1;
  out->dims[3] = (pw - ekw) / c->sw + 1;
  const int64_t kdim = (int64_t)(c->cin / c->group) * c->kh * c->kw;
  plan->macs = xnn_mul_sat(xnn_mul_sat(out->dims[0] * c->num_output, out->dims[2] * out->dims[3]), kdim);
  plan->workspace_bytes =
      is_depthwise(c) || is_pointwise(c) ? 0 : (size_t)(kdim * c->group * out->dims[2] * out->dims[3]) * sizeof(float);
  return XNN_OK;
}

typedef struct conv_job {
  const xnn_conv_params* c;
  const xnn_kernels* k;
  const float* in;  /* one image */
  float* out;       /* one image */
  float* cols;      /* im2col buffer, or the input for 1x1 */
  const float* weights;
  const float* bias;
  size_t ih, iw, oh, ow;
  size_t m_tiles, n_tiles;
} conv_job;

/* Column buffer rows for input channel ic: [ic][ky][kx] x [oy*ow + ox]. */
static void im2col_channel(void* ctx, size_t ic) {
  const conv_job* j = ctx;
  const xnn_conv_params* c = j->c;
  const float* plane = j->in + ic * j->ih * j->iw;
  float* dst = j->cols + ic * (size_t)c->kh * c->kw * j->oh * j->ow;
  for (int ky = 0; ky < c->kh; ky++) {
    for (int kx = 0; kx < c->kw; kx++) {
      for (size_t oy = 0; oy < j->oh; oy++) {
        const ptrdiff_t y = (ptrdiff_t)(oy * c->sh) - c->pad_top + (ptrdiff_t)ky * c->dh;
        if (y < 0 || y >= (ptrdiff_t)j->ih) {
          memset(dst, 0, j->ow * sizeof(float));
          dst += j->ow;
          continue;
        }
        const float* row = plane + (size_t)y * j->iw;
        for (size_t ox = 0; ox < j->ow; ox++) {
          const ptrdiff_t x = (ptrdiff_t)(ox * c->sw) - c->pad_left + (ptrdiff_t)kx * c->dw;
          *dst++ = x >= 0 && x < (ptrdiff_t)j->iw ? row[x] : 0.0f;
        }
      }
    }
  }
}

static void gemm_tile(void* ctx, size_t index) {
  const conv_job* j = ctx;
  const xnn_conv_params* c = j->c;
  const size_t per_group = j->m_tiles * j->n_tiles;
  const size_t g = index / per_group, mt = index % per_group / j->n_tiles, nt = index % j->n_tiles;
  const size_t mg = (size_t)(c->num_output / c->group), kdim = (size_t)(c->cin / c->group) * c->kh * c->kw;
  const size_t pixels = j->oh * j->ow;
  const size_t m0 = mt * TILE_M, n0 = nt * TILE_N;
  const size_t m = XNN_MIN((size_t)TILE_M, mg - m0), n = XNN_MIN((size_t)TILE_N, pixels - n0);
  const size_t row = g * mg + m0;
  j->k->gemm(m, n, kdim, j->weights + row * kdim, kdim, j->cols + g * kdim * pixels + n0, pixels,
             j->out + row * pixels + n0, pixels, j->bias ? j->bias + row : NULL, &c->act);
}

static void dw_channel(void* ctx, size_t ch) {
  const conv_job* j = ctx;
  const xnn_conv_params* c = j->c;
  const xnn_dwconv_geometry geo = {j->ih, j->iw, j->oh, j->ow, (size_t)c->kh, (size_t)c->kw, (size_t)c->sh,
                                   (size_t)c->sw, (size_t)c->dh, (size_t)c->dw, (size_t)c->pad_top,
                                   (size_t)c->pad_left};
  j->k->dwconv(&geo, j->in + ch * j->ih * j->iw, j->weights + ch * (size_t)c->kh * c->kw,
               j->bias ? j->bias[ch] : 0.0f, j->out + ch * j->oh * j->ow, &c->act);
}

static void conv_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_conv_params* c = &n->p.conv;
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_tensor_rt* out = &ctx->tensors[n->outputs[0]];
  conv_job j = {c, ctx->kernels, NULL, NULL, NULL, n->weights[0], c->has_bias ? n->weights[1] : NULL,
                (size_t)in->shape.dims[2], (size_t)in->shape.dims[3], (size_t)out->shape.dims[2],
                (size_t)out->shape.dims[3], 0, 0};
  const size_t pixels = j.oh * j.ow;
  j.m_tiles = ((size_t)(c->num_output / c->group) + TILE_M - 1) / TILE_M;
  j.n_tiles = (pixels + TILE_N - 1) / TILE_N;
  for (int64_t b = 0; b < in->shape.dims[0]; b++) {
    j.in = in->data + (size_t)b * c->cin * j.ih * j.iw;
    j.out = out->data + (size_t)b * c->num_output * pixels;
    if (is_depthwise(c)) {
      xnn_parallelize(ctx->pool, dw_channel, &j, (size_t)c->cin);
      continue;
    }
    if (is_pointwise(c)) {
      j.cols = (float*)j.in;
    } else {
      j.cols = ctx->workspace;
      xnn_parallelize(ctx->pool, im2col_channel, &j, (size_t)c->cin);
    }
    xnn_parallelize(ctx->pool, gemm_tile, &j, (size_t)c->group * j.m_tiles * j.n_tiles);
  }
}

const xnn_op_def xnn_op_convolution = {conv_reshape, conv_run};
