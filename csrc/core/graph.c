#include "core/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xnn_node_free(xnn_node* n) {
  free(n->name);
  free(n->type);
  free(n->inputs);
  free(n->outputs);
  for (int i = 0; i < n->num_weights; i++) xnn_free_aligned(n->weights[i]);
  if (n->op == XNN_OP_ELTWISE) free(n->p.eltwise.coeffs);
  if (n->op == XNN_OP_SLICE) free(n->p.axis.points);
}

xnn_status xnn_node_append_type(xnn_node* n, const char* separator, const char* what) {
  const size_t len = strlen(n->type) + strlen(separator) + strlen(what) + 1;
  char* t = malloc(len);
  if (!t) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  snprintf(t, len, "%s%s%s", n->type, separator, what);
  free(n->type);
  n->type = t;
  return XNN_OK;
}

/* Floats a weight of `size` takes in the block: 64-byte aligned, with at least 16 zeros after it (a kernel
 * may load a vector past the end and never use it). */
static size_t gathered_floats(int64_t size) { return ((size_t)size + 31) / 16 * 16; }

void xnn_graph_gather_weights(xnn_graph* g) {
  size_t total = 0;
  for (int i = 0; i < g->num_nodes; i++)
    for (int w = 0; w < g->nodes[i].num_weights; w++) total += gathered_floats(g->nodes[i].weight_size[w]);
  float* block = total ? xnn_alloc_aligned(total * sizeof(float)) : NULL;
  if (!block) return;
  float* at = block;
  for (int i = 0; i < g->num_nodes; i++) {
    xnn_node* n = &g->nodes[i];
    for (int w = 0; w < n->num_weights; w++) {
      if (!n->weights[w]) continue;
      const size_t size = (size_t)n->weight_size[w], floats = gathered_floats(n->weight_size[w]);
      memcpy(at, n->weights[w], size * sizeof(float));
      memset(at + size, 0, (floats - size) * sizeof(float));
      xnn_free_aligned(n->weights[w]);
      n->weights[w] = at;
      at += floats;
    }
  }
  g->weight_block = block;
}

void xnn_graph_free(xnn_graph* g) {
  if (!g) return;
  if (g->weight_block)
    for (int i = 0; i < g->num_nodes; i++) memset(g->nodes[i].weights, 0, sizeof(g->nodes[i].weights));
  xnn_free_aligned(g->weight_block);
  for (int i = 0; i < g->num_nodes; i++) xnn_node_free(&g->nodes[i]);
  for (int i = 0; i < g->num_tensors; i++) free(g->tensors[i].name);
  free(g->nodes);
  free(g->tensors);
  free(g->inputs);
  free(g->input_shapes);
  free(g->outputs);
  memset(g, 0, sizeof(*g));
}

int32_t xnn_graph_add_tensor(xnn_graph* g, const char* name, int32_t producer) {
  if (g->num_tensors == g->cap_tensors) {
    int32_t cap = g->cap_tensors ? g->cap_tensors * 2 : 64;
    xnn_tensor_info* t = realloc(g->tensors, (size_t)cap * sizeof(*t));
    if (!t) return -1;
    g->tensors = t;
    g->cap_tensors = cap;
  }
  char* copy = xnn_strdup(name);
  if (!copy) return -1;
  g->tensors[g->num_tensors].name = copy;
  g->tensors[g->num_tensors].producer = producer;
  return g->num_tensors++;
}

xnn_status xnn_graph_add_input(xnn_graph* g, int32_t tensor, const xnn_shape* shape) {
  int32_t* inputs = realloc(g->inputs, (size_t)(g->num_inputs + 1) * sizeof(int32_t));
  if (inputs) g->inputs = inputs;
  xnn_shape* shapes = inputs ? realloc(g->input_shapes, (size_t)(g->num_inputs + 1) * sizeof(xnn_shape)) : NULL;
  if (shapes) g->input_shapes = shapes;
  if (!inputs || !shapes) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  g->inputs[g->num_inputs] = tensor;
  g->input_shapes[g->num_inputs] = *shape;
  g->num_inputs++;
  return XNN_OK;
}

xnn_node* xnn_graph_add_node(xnn_graph* g, const char* name, const char* type, int32_t num_inputs,
                             int32_t num_outputs) {
  if (g->num_nodes == g->cap_nodes) {
    int32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 32;
    xnn_node* n = realloc(g->nodes, (size_t)cap * sizeof(*n));
    if (!n) return NULL;
    g->nodes = n;
    g->cap_nodes = cap;
  }
  xnn_node* n = &g->nodes[g->num_nodes];
  memset(n, 0, sizeof(*n));
  n->name = xnn_strdup(name);
  n->type = xnn_strdup(type);
  n->inputs = calloc((size_t)num_inputs + 1, sizeof(int32_t));
  n->outputs = calloc((size_t)num_outputs + 1, sizeof(int32_t));
  n->num_inputs = num_inputs;
  n->num_outputs = num_outputs;
  g->num_nodes++;
  if (!n->name || !n->type || !n->inputs || !n->outputs) return NULL;
  return n;
}

xnn_status xnn_graph_finalize(xnn_graph* g) {
  int32_t* uses = calloc((size_t)g->num_tensors + 1, sizeof(int32_t));
  if (!uses) return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  for (int i = 0; i < g->num_nodes; i++)
    for (int j = 0; j < g->nodes[i].num_inputs; j++) uses[g->nodes[i].inputs[j]]++;
  int32_t count = 0;
  for (int t = 0; t < g->num_tensors; t++) count += uses[t] == 0 && g->tensors[t].producer >= 0;
  free(g->outputs);
  g->outputs = calloc((size_t)count + 1, sizeof(int32_t));
  if (!g->outputs) {
    free(uses);
    return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  g->num_outputs = 0;
  for (int t = 0; t < g->num_tensors; t++)
    if (uses[t] == 0 && g->tensors[t].producer >= 0) g->outputs[g->num_outputs++] = t;
  free(uses);
  if (g->num_outputs == 0) return xnn_error(XNN_ERROR_INVALID_MODEL, "the network has no output");
  return XNN_OK;
}

xnn_status xnn_shape_expect(xnn_status code, const char* what, const xnn_shape* s, int32_t ndim, const int64_t* dims) {
  int ok = s->ndim == ndim;
  for (int32_t i = 0; ok && i < ndim; i++) ok = dims[i] < 0 ? s->dims[i] >= 1 : s->dims[i] == dims[i];
  if (ok) return XNN_OK;
  xnn_shape want = {ndim, {0}};
  for (int32_t i = 0; i < ndim; i++) want.dims[i] = dims[i];
  char buf[128], wbuf[128];
  return xnn_error(code, "%s has shape %s, expected %s (-1: any)", what, xnn_shape_str(s, buf, sizeof(buf)),
                   xnn_shape_str(&want, wbuf, sizeof(wbuf)));
}
