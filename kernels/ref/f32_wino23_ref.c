/* Portable Winograd F(2x2, 3x3) transforms (kernels/winograd.h). */
#include "kernels/winograd.h"

void xnn_f32_wino23_input__ref(const float* in, size_t in_stride, size_t tiles, float* out, size_t out_stride) {
  for (size_t t = 0; t < tiles; t++) {
    const float* p = in + 2 * t;
    float tmp[4][4]; /* tmp = B^T d */
    for (int j = 0; j < 4; j++) {
      const float d0 = p[j], d1 = p[in_stride + j], d2 = p[2 * in_stride + j], d3 = p[3 * in_stride + j];
      tmp[0][j] = d0 - d2, tmp[1][j] = d1 + d2, tmp[2][j] = d2 - d1, tmp[3][j] = d1 - d3;
    }
    for (int i = 0; i < 4; i++) {
      const float* r = tmp[i];
      float* o = out + (size_t)(4 * i) * out_stride + t;
      o[0] = r[0] - r[2], o[out_stride] = r[1] + r[2], o[2 * out_stride] = r[2] - r[1], o[3 * out_stride] = r[1] - r[3];
    }
  }
}

void xnn_f32_wino23_output__ref(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params) {
  for (size_t t = 0; t < tiles; t++) {
    float tmp[2][4]; /* A^T M */
    for (int j = 0; j < 4; j++) {
      const float m0 = m[(size_t)j * m_stride + t], m1 = m[(size_t)(4 + j) * m_stride + t];
      const float m2 = m[(size_t)(8 + j) * m_stride + t], m3 = m[(size_t)(12 + j) * m_stride + t];
      tmp[0][j] = m0 + m1 + m2, tmp[1][j] = m1 - m2 - m3;
    }
    for (size_t i = 0; i < rows; i++) {
      const float y[2] = {tmp[i][0] + tmp[i][1] + tmp[i][2], tmp[i][1] - tmp[i][2] - tmp[i][3]};
      for (size_t j = 0; j < 2 && 2 * t + j < cols; j++)
        out[i * out_stride + 2 * t + j] = xnn_f32_act_apply(y[j] + bias, params);
    }
  }
}

void xnn_f32_wino23_filter(const float* g, float* u) {
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  double tmp[4][3];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++) tmp[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      u[4 * i + j] = (float)(tmp[i][0] * G[j][0] + tmp[i][1] * G[j][1] + tmp[i][2] * G[j][2]);
}
