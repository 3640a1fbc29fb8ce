/* Embed (Caffe's, and ONNX's Gather from a constant table): each input value picks a row of the
 * [input_dim, num_output] table (plus the bias); with `wrap`, values in [-input_dim, 0) count from the
 * end. A value that is not a valid integer index gives a row of zeros: the run cannot fail, and no
 * index reaches outside the table. */
#include <stdint.h>
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
  const float lo = p->wrap ? -(float)p->input_dim : 0.0f;
  for (size_t i = 0; i < count; i++, y += m) {
    const float v = in->data[i];
    /* The float tests first: they reject NaN and what int32 cannot hold. */
    int32_t r = v >= lo && v < (float)p->input_dim && v == (float)(int32_t)v ? (int32_t)v : INT32_MAX;
    if (r < 0) r = r >= -p->input_dim ? r + p->input_dim : INT32_MAX;
    if (r < 0 || r >= p->input_dim) {
      memset(y, 0, m * sizeof(float));
      continue;
    }
    const float* row = n->weights[0] + (size_t)r * m;
    for (size_t j = 0; j < m; j++) y[j] = row[j] + (b ? b[j] : 0.0f);
  }
}

const xnn_op_def xnn_op_embed = {.reshape = embed_reshape, .run = embed_run};
