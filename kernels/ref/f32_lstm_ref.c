/* Portable LSTM cell: the fallback and the oracle of the vector kernels. */
#include <math.h>

#include "kernels/lstm.h"

static inline float clamp(float x, const xnn_f32_lstm_params* p) { return x < p->min ? p->min : x > p->max ? p->max : x; }
static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

void xnn_f32_lstm_cell__ref(size_t h, const float* gates, float* c, float* h_out, const xnn_f32_lstm_params* params) {
  for (size_t j = 0; j < h; j++) {
    const float i = sigmoid(clamp(gates[j], params)), f = sigmoid(clamp(gates[h + j], params));
    const float o = sigmoid(clamp(gates[2 * h + j], params)), g = tanhf(clamp(gates[3 * h + j], params));
    c[j] = f * c[j] + i * g;
    h_out[j] = o * tanhf(c[j]);
  }
}
