/* Readers: a model file into the graph IR and nothing else (no fusion, no packing, no kernel choice);
 * xnn_model_create takes it from there. */
#pragma once
#include "core/graph.h"

/* Caffe deploy prototxt + caffemodel (NULL: no weights, for weightless nets). */
XNN_INTERNAL xnn_status xnn_read_caffe(const char* prototxt, size_t prototxt_size, const void* caffemodel,
                                       size_t caffemodel_size, xnn_graph* graph);
/* A .xnn file (docs/FORMAT.md) in memory. */
XNN_INTERNAL xnn_status xnn_read_xnn(const void* data, size_t size, xnn_graph* graph);
