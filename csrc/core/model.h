/* A loaded model: the graph with packed weights. Immutable after load; sessions read it. */
#pragma once
#include "core/graph.h"

struct xnn_model {
  xnn_graph graph;
  xnn_shape* output_shapes; /* for the declared input shapes */
};

/* Takes ownership of a finalized graph: checks it plans with its declared input shapes. */
XNN_INTERNAL xnn_status xnn_model_create(xnn_graph* graph, xnn_model** model);
