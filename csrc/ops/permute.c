/* Permute (Caffe) / Transpose (ONNX): output dim i is input dim order[i].
 *
 * At run time the permutation is first simplified: dims of size 1 are dropped and input dims that stay
 * neighbours in the output are merged, so NCHW -> NHWC becomes [N, C, HW] -> [N, HW, C]. What is left is
 * either a copy of contiguous rows (the innermost dim did not move) or, for every index of the other
 * dims, a 2-D transpose between the input's innermost dim and the output's, done in small tiles so that
 * both the reads and the writes stay in cache lines. A permutation that simplifies to nothing moves no
 * data: reshape marks it as an alias and the planner gives the output the input's storage. */
#include <string.h>

#include "ops/ops.h"

static xnn_status permute_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_permute_params* p = &n->p.permute;
  const xnn_shape* in = &t[n->inputs[0]].shape;
  if (p->ndim != in->ndim)
    return xnn_shape_error("order has %d entries but the input is %d-D", p->ndim, in->ndim);
  xnn_shape* out = &t[n->outputs[0]].shape;
  out->ndim = in->ndim;
  /* Moved dims of size > 1 must keep their relative order for the data to stay where it is. */
  int32_t last = -1;
  plan->alias = 1;
  for (int32_t i = 0; i < in->ndim; i++) {
    out->dims[i] = in->dims[p->order[i]];
    if (out->dims[i] == 1) continue;
    if (p->order[i] < last) plan->alias = 0;
    last = p->order[i];
  }
  plan->macs = 0;
  plan->workspace_bytes = 0;
  return XNN_OK;
}

/* The simplified permutation: `outer` output dims (outermost first) with their input and output
 * strides, then the innermost part. With j_count == 0 every outer index is a contiguous row of
 * i_count floats; otherwise out[j * j_out + i] = in[i * i_in + j] for i < i_count, j < j_count. */
typedef struct permute_job {
  const float* x;
  float* y;
  int32_t outer;
  int64_t dims[XNN_MAX_DIMS], in_stride[XNN_MAX_DIMS], out_stride[XNN_MAX_DIMS];
  int64_t i_count, i_in, j_count, j_out;
  size_t j_blocks, rows, rows_per_task;
} permute_job;

enum { TILE = 8, J_BLOCK = 32 };

static void outer_offsets(const permute_job* j, size_t index, int64_t* xo, int64_t* yo) {
  int64_t a = 0, b = 0;
  for (int32_t d = j->outer - 1; d >= 0; d--) {
    const int64_t c = (int64_t)(index % (size_t)j->dims[d]);
    index /= (size_t)j->dims[d];
    a += c * j->in_stride[d];
    b += c * j->out_stride[d];
  }
  *xo = a;
  *yo = b;
}

static void permute_rows(void* ctx, size_t task) {
  const permute_job* j = ctx;
  const size_t first = task * j->rows_per_task, end = XNN_MIN(first + j->rows_per_task, j->rows);
  for (size_t r = first; r < end; r++) {
    int64_t xo, yo;
    outer_offsets(j, r, &xo, &yo);
    memcpy(j->y + yo, j->x + xo, (size_t)j->i_count * sizeof(float));
  }
}

static void permute_tiles(void* ctx, size_t task) {
  const permute_job* j = ctx;
  int64_t xo, yo;
  outer_offsets(j, task / j->j_blocks, &xo, &yo);
  const float* x = j->x + xo;
  float* y = j->y + yo;
  const int64_t j0 = (int64_t)(task % j->j_blocks) * J_BLOCK, j1 = XNN_MIN(j0 + J_BLOCK, j->j_count);
  const int64_t ni = j->i_count, si = j->i_in, sj = j->j_out;
  for (int64_t i0 = 0; i0 < ni; i0 += TILE) {
    const int64_t i1 = XNN_MIN(i0 + TILE, ni);
    for (int64_t jb = j0; jb < j1; jb += TILE) {
      const int64_t je = XNN_MIN(jb + TILE, j1);
      if (i1 - i0 == TILE && je - jb == TILE) {
        /* A full tile with constant trip counts, which compilers unroll and vectorize. */
        for (int64_t jj = 0; jj < TILE; jj++)
          for (int64_t ii = 0; ii < TILE; ii++) y[(jb + jj) * sj + i0 + ii] = x[(i0 + ii) * si + jb + jj];
      } else {
        for (int64_t jj = jb; jj < je; jj++)
          for (int64_t ii = i0; ii < i1; ii++) y[jj * sj + ii] = x[ii * si + jj];
      }
    }
  }
}

static void permute_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_permute_params* p = &n->p.permute;
  const xnn_shape* in = &ctx->tensors[n->inputs[0]].shape;
  permute_job j;
  memset(&j, 0, sizeof(j));
  j.x = ctx->tensors[n->inputs[0]].data;
  j.y = ctx->tensors[n->outputs[0]].data;
  /* Input strides, then the output dims as runs of consecutive input dims of size > 1. */
  int64_t stride[XNN_MAX_DIMS];
  int64_t s = 1;
  for (int32_t d = in->ndim - 1; d >= 0; d--) stride[d] = s, s *= in->dims[d];
  int64_t dims[XNN_MAX_DIMS], from[XNN_MAX_DIMS]; /* merged dim: size, input stride of its last part */
  int32_t m = 0;
  for (int32_t i = 0; i < in->ndim; i++) {
    const int32_t d = p->order[i];
    if (in->dims[d] == 1) continue;
    if (m > 0 && from[m - 1] == stride[d] * in->dims[d]) {
      dims[m - 1] *= in->dims[d];
      from[m - 1] = stride[d];
    } else {
      dims[m] = in->dims[d];
      from[m] = stride[d];
      m++;
    }
  }
  int64_t ostride[XNN_MAX_DIMS];
  s = 1;
  for (int32_t d = m - 1; d >= 0; d--) ostride[d] = s, s *= dims[d];
  if (m == 0 || from[m - 1] == 1) {
    /* The innermost dim stays innermost: copy rows. */
    j.i_count = m ? dims[m - 1] : 1;
    j.outer = m ? m - 1 : 0;
    for (int32_t d = 0; d < j.outer; d++)
      j.dims[d] = dims[d], j.in_stride[d] = from[d], j.out_stride[d] = ostride[d];
    j.rows = 1;
    for (int32_t d = 0; d < j.outer; d++) j.rows *= (size_t)j.dims[d];
    /* Tasks of at least 16K floats, so that short rows are not one task each. */
    j.rows_per_task = (size_t)XNN_MAX(1, (16384 + j.i_count - 1) / j.i_count);
    xnn_parallelize(ctx->pool, permute_rows, &j, (j.rows + j.rows_per_task - 1) / j.rows_per_task);
    return;
  }
  /* q: the output position of the input's innermost dim (input stride 1). */
  int32_t q = 0;
  while (from[q] != 1) q++;
  j.i_count = dims[m - 1];
  j.i_in = from[m - 1];
  j.j_count = dims[q];
  j.j_out = ostride[q];
  for (int32_t d = 0; d < m - 1; d++) {
    if (d == q) continue;
    j.dims[j.outer] = dims[d];
    j.in_stride[j.outer] = from[d];
    j.out_stride[j.outer] = ostride[d];
    j.outer++;
  }
  int64_t outer = 1;
  for (int32_t d = 0; d < j.outer; d++) outer *= j.dims[d];
  j.j_blocks = (size_t)((j.j_count + J_BLOCK - 1) / J_BLOCK);
  xnn_parallelize(ctx->pool, permute_tiles, &j, (size_t)outer * j.j_blocks);
}

const xnn_op_def xnn_op_permute = {.reshape = permute_reshape, .run = permute_run};
