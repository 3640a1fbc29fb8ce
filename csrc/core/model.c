#include "core/model.h"

#include "core/kernels.h"
#include "ops/ops.h"

#include <stdlib.h>
#include <string.h>

xnn_status xnn_model_create(xnn_graph* graph, xnn_model** out) {
  *out = NULL;
  xnn_model* m = xnn_alloc(sizeof(*m));
  if (!m) {
    xnn_graph_free(graph);
    return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  m->graph = *graph;
  memset(graph, 0, sizeof(*graph));
  m->kernels = xnn_kernels_select();
  for (int32_t i = 0; i < m->graph.num_nodes; i++) {
    const xnn_node* n = &m->graph.nodes[i];
    if (!xnn_op_get(n->op)) {
      const xnn_status st = xnn_error(XNN_ERROR_UNSUPPORTED,
                                      "layer '%s' (%s): this library was built without the '%s' operator (XNN_OPS)",
                                      n->name, n->type, xnn_op_file(n->op));
      xnn_model_free(m);
      return st;
    }
  }
  /* A DetectionOutput writes a number of rows that depends on the data (its plan reserves the most there
   * can be): only the caller reads them. */
  for (int32_t i = 0; i < m->graph.num_nodes; i++) {
    const xnn_node* n = &m->graph.nodes[i];
    for (int32_t j = 0; j < n->num_inputs; j++) {
      const int32_t producer = m->graph.tensors[n->inputs[j]].producer;
      if (producer < 0 || m->graph.nodes[producer].op != XNN_OP_DETECTION_OUTPUT) continue;
      const xnn_status st = xnn_error(XNN_ERROR_UNSUPPORTED,
                                      "layer '%s' (%s): reads the detections of '%s', whose row count depends on "
                                      "the data: they can only be a net output",
                                      n->name, n->type, m->graph.nodes[producer].name);
      xnn_model_free(m);
      return st;
    }
  }
  xnn_status fst = xnn_graph_fuse(&m->graph);
  if (fst == XNN_OK) fst = xnn_model_choose_and_pack(m);
  if (fst != XNN_OK) {
    xnn_model_free(m);
    return fst;
  }
  m->output_shapes = xnn_alloc((size_t)m->graph.num_outputs * sizeof(xnn_shape));
  if (!m->output_shapes) {
    xnn_model_free(m);
    return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  /* Shape inference at load: a model that cannot run with its own declared inputs is rejected now. */
  xnn_session* s = NULL;
  xnn_status st = xnn_session_create(m, 1, &s);
  if (st != XNN_OK) {
    xnn_model_free(m);
    return st;
  }
  for (int32_t i = 0; i < m->graph.num_outputs; i++) xnn_session_output(s, i, NULL, &m->output_shapes[i]);
  xnn_session_free(s);
  *out = m;
  return XNN_OK;
}

void xnn_model_free(xnn_model* m) {
  if (!m) return;
  xnn_graph_free(&m->graph);
  free(m->output_shapes);
  free(m);
}

int32_t xnn_model_num_inputs(const xnn_model* m) { return m ? m->graph.num_inputs : 0; }
int32_t xnn_model_num_outputs(const xnn_model* m) { return m ? m->graph.num_outputs : 0; }
const char* xnn_model_isa(const xnn_model* m) { return m ? m->kernels->isa : ""; }

const char* xnn_model_input_layout(const xnn_model* m) { return m && m->graph.nhwc ? "NHWC" : "NCHW"; }

int32_t xnn_model_num_layers(const xnn_model* m) { return m ? m->graph.num_nodes : 0; }

xnn_status xnn_model_input(const xnn_model* m, int32_t index, const char** name, xnn_shape* shape) {
  if (!m) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "NULL model");
  if (index < 0 || index >= m->graph.num_inputs)
    return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "input index %d out of range (the model has %d)", index,
                     m->graph.num_inputs);
  if (name) *name = m->graph.tensors[m->graph.inputs[index]].name;
  if (shape) *shape = m->graph.input_shapes[index];
  return XNN_OK;
}

xnn_status xnn_model_output(const xnn_model* m, int32_t index, const char** name, xnn_shape* shape) {
  if (!m) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "NULL model");
  if (index < 0 || index >= m->graph.num_outputs)
    return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "output index %d out of range (the model has %d)", index,
                     m->graph.num_outputs);
  if (name) *name = m->graph.tensors[m->graph.outputs[index]].name;
  if (shape) *shape = m->output_shapes[index];
  return XNN_OK;
}

xnn_status xnn_model_layer(const xnn_model* m, int32_t index, xnn_layer_info* info) {
  if (!m || !info) return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "NULL argument");
  if (index < 0 || index >= m->graph.num_nodes)
    return xnn_error(XNN_ERROR_INVALID_ARGUMENT, "layer index %d out of range (the model has %d)", index,
                     m->graph.num_nodes);
  const xnn_node* n = &m->graph.nodes[index];
  info->name = n->name;
  info->type = n->type;
  info->num_params = n->num_params;
  return XNN_OK;
}
