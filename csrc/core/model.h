/* A loaded model: the graph with packed weights. Immutable after load; sessions read it. */
#pragma once
#include "core/graph.h"

struct xnn_model {
  xnn_graph graph;
  const struct xnn_kernels* kernels; /* chosen at load; weights are packed for them */
  xnn_shape* output_shapes; /* for the declared input shapes */
};

/* Plans the declared input shapes once, lets each op choose its algorithm from them, then packs the
 * weights for the chosen kernels. */
XNN_INTERNAL xnn_status xnn_model_choose_and_pack(xnn_model* model);

/* Takes ownership of a finalized graph: fuses, packs, and checks it plans with its declared shapes. */
XNN_INTERNAL xnn_status xnn_model_create(xnn_graph* graph, xnn_model** model);
