/* Embed (Caffe's): each input value picks a row of the [input_dim, num_output] table (plus the bias).
 * A value that is not an integer in [0, input_dim) gives a row of zeros: the run cannot fail, and no
 * index reaches outside the table. */
#include <string.h>

#include "ops/ops.h"

static xnn_status embed_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_shape* in = &t[n->inputs[0]].shape;
  xnn_shape* out = &t[n->outputs[0]].shape;
  char buf[128];
  if (in->ndim >= XNN_MAX_DIMS)
    return xnn_shape_error("input %s has no room for the embedding axis", xnn_shape_str(in, buf, sizeof(buf)));
  *out = *in;
  out->dims[out->ndim++] = n->p.embed.num_output;
  plan->macs = xnn_shape_numel(out);
  plan->workspace_bytes = 0;
  return XNN_OK;
}

static void embed_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_embed_params* p = &n->p.embed;
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  float* y = ctx->tensors[n->outputs[0]].data;
  const size_t m = (size_t)p->num_output, count = (size_t)xnn_shape_numel(&in->shape);
  const float* b = p->has_bias ? n->weights[1] : NULL;
  for (size_t i = 0; i < count; i++, y += m) {
    const float v = in->data[i];
    /* The float test first: it rejects NaN and what int32 cannot hold. */
    if (!(v >= 0.0f && v < (float)p->input_dim) || v != (float)(int32_t)v || (int32_t)v >= p->input_dim) {
      memset(y, 0, m * sizeof(float));
      continue;
    }
    const float* row = n->weights[0] + (size_t)(int32_t)v * m;
    for (size_t j = 0; j < m; j++) y[j] = row[j] + (b ? b[j] : 0.0f);
  }
}

const xnn_op_def xnn_op_embed = {.reshape = embed_reshape, .run = embed_run};
