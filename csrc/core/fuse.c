/* Load-time fusion pass: a Convolution or InnerProduct absorbs the per-channel affine ops that follow it
 * (BatchNorm, Scale, Bias folded into its weights and bias) and then a ReLU (its kernels' epilogue); a
 * (non-depthwise) Convolution also absorbs an Eltwise SUM of its output and a tensor computed before it
 * (a residual connection: the GEMM accumulates onto it) and a ReLU after that; an Eltwise absorbs a
 * following ReLU; all as long as nothing else reads the intermediate tensors. The result is the same up
 * to float rounding. */
#include <stdlib.h>
#include <string.h>

#include "core/graph.h"

static int is_output(const xnn_graph* g, int32_t t) {
  for (int32_t i = 0; i < g->num_outputs; i++)
    if (g->outputs[i] == t) return 1;
  return 0;
}

/* Folds y = a*x + b (per output channel) into the node's weights [oc][k] and bias [oc]. */
static xnn_status fold_affine(xnn_node* n, const xnn_node* affine, int32_t oc, int64_t k, int32_t* has_bias) {
  const float* a = affine->weights[0];
  const float* b = affine->weights[1];
  if (!*has_bias) {
    float* bias = xnn_alloc_aligned((size_t)oc * sizeof(float));
    if (!bias) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
    memset(bias, 0, (size_t)oc * sizeof(float));
    n->weights[1] = bias;
    n->weight_size[1] = oc;
    n->num_weights = 2;
    *has_bias = 1;
  }
  float* w = n->weights[0];
  float* bias = n->weights[1];
  for (int32_t o = 0; o < oc; o++) {
    for (int64_t i = 0; i < k; i++) w[(int64_t)o * k + i] *= a[o];
    bias[o] = bias[o] * a[o] + b[o];
  }
  return XNN_OK;
}

/* m = Eltwise SUM (all coefficients 1) of t (n's output) and another tensor that exists before node i
 * runs (a graph input, or written by an earlier node): nodes run in order, and the other operand may be
 * a later node's output, as in a ResNet block whose shortcut convolution comes first. */
static int residual_sum(const xnn_graph* g, const xnn_node* n, int32_t i, const xnn_node* m, int32_t t) {
  if (m->op != XNN_OP_ELTWISE || m->p.eltwise.op != XNN_ELTWISE_SUM || m->num_inputs != 2 || m->num_outputs != 1)
    return 0;
  if (m->p.eltwise.coeffs && (m->p.eltwise.coeffs[0] != 1.0f || m->p.eltwise.coeffs[1] != 1.0f)) return 0;
  if ((m->inputs[0] == t) == (m->inputs[1] == t)) return 0; /* t + t, or t not an operand */
  const xnn_conv_params* c = &n->p.conv;
  if (c->group > 1 && c->group == c->cin && c->group == c->num_output) return 0; /* depthwise */
  const int32_t other = m->inputs[0] == t ? m->inputs[1] : m->inputs[0];
  const int32_t producer = g->tensors[other].producer;
  return producer == XNN_TENSOR_INPUT || (producer >= 0 && producer < i);
}

xnn_status xnn_graph_fuse(xnn_graph* g) {
  int32_t* uses = calloc((size_t)g->num_tensors + 1, sizeof(int32_t));
  int32_t* consumer = calloc((size_t)g->num_tensors + 1, sizeof(int32_t));
  char* dead = calloc((size_t)g->num_nodes + 1, 1);
  xnn_status st = XNN_OK;
  if (!uses || !consumer || !dead) st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  for (int32_t i = 0; st == XNN_OK && i < g->num_nodes; i++)
    for (int32_t j = 0; j < g->nodes[i].num_inputs; j++) {
      uses[g->nodes[i].inputs[j]]++;
      consumer[g->nodes[i].inputs[j]] = i;
    }
  for (int32_t i = 0; st == XNN_OK && i < g->num_nodes; i++) {
    xnn_node* n = &g->nodes[i];
    if (n->op != XNN_OP_CONVOLUTION && n->op != XNN_OP_INNER_PRODUCT && n->op != XNN_OP_ELTWISE) continue;
    const int conv = n->op == XNN_OP_CONVOLUTION;
    xnn_act* act = conv ? &n->p.conv.act : n->op == XNN_OP_ELTWISE ? &n->p.eltwise.act : &n->p.fc.act;
    /* Eltwise takes only the ReLU: it has no weights to fold an affine op into. */
    const int32_t oc = conv ? n->p.conv.num_output : n->op == XNN_OP_ELTWISE ? -1 : n->p.fc.num_output;
    for (;;) {
      const int32_t t = n->outputs[0];
      if (n->num_outputs != 1 || uses[t] != 1 || is_output(g, t)) break;
      xnn_node* m = &g->nodes[consumer[t]];
      const int residual = conv && n->p.conv.residual;
      if (m->op == XNN_OP_AFFINE && xnn_f32_act_is_identity(act) && !residual && m->weight_size[0] == oc) {
        const int64_t k = conv ? (int64_t)(n->p.conv.cin / n->p.conv.group) * n->p.conv.kh * n->p.conv.kw : n->p.fc.k;
        st = fold_affine(n, m, oc, k, conv ? &n->p.conv.has_bias : &n->p.fc.has_bias);
      } else if (m->op == XNN_OP_RELU && xnn_f32_act_is_identity(act)) {
        *act = xnn_f32_act_simplify(m->p.act);
      } else if (conv && !residual && xnn_f32_act_is_identity(act) && residual_sum(g, n, i, m, t)) {
        const int32_t other = m->inputs[0] == t ? m->inputs[1] : m->inputs[0];
        int32_t* inputs = realloc(n->inputs, 2 * sizeof(int32_t));
        if (!inputs) {
          st = xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
          break;
        }
        n->inputs = inputs;
        n->inputs[1] = other;
        n->num_inputs = 2;
        n->p.conv.residual = 1;
        consumer[other] = i; /* read by n now instead of m (same count) */
        *act = xnn_f32_act_simplify(m->p.eltwise.act);
      } else {
        break;
      }
      if (st == XNN_OK) st = xnn_node_append_type(n, "+", m->type);
      if (st != XNN_OK) break;
      /* Splice m out: n now writes m's output; n's old output is dropped. */
      g->tensors[t].producer = XNN_TENSOR_DEAD;
      n->outputs[0] = m->outputs[0];
      dead[consumer[t]] = 1;
    }
  }
  for (int32_t i = 0; st == XNN_OK && i < g->num_nodes; i++) {
    xnn_node* n = &g->nodes[i];
    if (dead[i] || n->op != XNN_OP_CONVOLUTION || n->num_outputs != 1) continue;
    const int32_t t = n->outputs[0];
    const xnn_node* m = &g->nodes[consumer[t]];
    const int to_conv = uses[t] == 1 && !is_output(g, t) && !dead[consumer[t]] && m->op == XNN_OP_CONVOLUTION;
    n->p.conv.feeds_depthwise = to_conv && m->p.conv.group > 1 && m->p.conv.group == m->p.conv.cin &&
                                        m->p.conv.group == m->p.conv.num_output
                                    ? m->p.conv.sh
                                    : 0;
    n->p.conv.feeds_narrowing = to_conv && m->p.conv.group == 1 && m->p.conv.kh == 1 && m->p.conv.kw == 1 &&
                                m->p.conv.sh == 1 && m->p.conv.sw == 1 &&
                                3 * (int64_t)m->p.conv.num_output <= (int64_t)m->p.conv.cin;
  }
  if (st == XNN_OK) {
    int32_t kept = 0;
    for (int32_t i = 0; i < g->num_nodes; i++) {
      if (dead[i]) {
        xnn_node_free(&g->nodes[i]);
        continue;
      }
      g->nodes[kept] = g->nodes[i];
      for (int32_t o = 0; o < g->nodes[kept].num_outputs; o++) g->tensors[g->nodes[kept].outputs[o]].producer = kept;
      kept++;
    }
    g->num_nodes = kept;
  }
  free(uses);
  free(consumer);
  free(dead);
  return st;
}
