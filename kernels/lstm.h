/* f32 LSTM cell family: the gate non-linearities and the cell update of one item at one step, fused so
 * the 4H pre-activations are read once.
 *
 *  gates   4 blocks of `h` pre-activations (the input and recurrent products and the biases, summed), in
 *          the order i, f, o, g; each is first clamped to [params->min, params->max] (ONNX's clip).
 *  c       the cell state, updated in place: c = sigmoid(f) * c + sigmoid(i) * tanh(g).
 *  h_out   the new hidden state: sigmoid(o) * tanh(c). It must not overlap gates or c.
 *
 * Sequence markers (Caffe's cont, ONNX's lengths) are the operator's business: it scales or skips the
 * state before calling. */
#pragma once
#include <stddef.h>

typedef struct xnn_f32_lstm_params {
  float min, max; /* -INF, +INF: no clip */
} xnn_f32_lstm_params;

typedef void (*xnn_f32_lstm_cell_fn)(size_t h, const float* gates, float* c, float* h_out,
                                     const xnn_f32_lstm_params* params);

void xnn_f32_lstm_cell__ref(size_t h, const float* gates, float* c, float* h_out, const xnn_f32_lstm_params* params);
void xnn_f32_lstm_cell__avx2(size_t h, const float* gates, float* c, float* h_out, const xnn_f32_lstm_params* params);
void xnn_f32_lstm_cell__avx512(size_t h, const float* gates, float* c, float* h_out,
                               const xnn_f32_lstm_params* params);
void xnn_f32_lstm_cell__neon_asm(size_t h, const float* gates, float* c, float* h_out,
                                 const xnn_f32_lstm_params* params);
