#include "kernels/vaddc.h"

void xnn_f32_vaddc__ref(size_t n, const float* x, float c, float* y) {
  /* Vectorized where the compiler may: y is x or apart, never a partial overlap. */
  if (x == y) {
    for (size_t i = 0; i < n; i++) y[i] += c;
  } else {
    const float* restrict in = x;
    float* restrict out = y;
    for (size_t i = 0; i < n; i++) out[i] = in[i] + c;
  }
}
