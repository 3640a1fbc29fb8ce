/* Kernel tester in C, for every kernel set of this build on this CPU (also under qemu-aarch64): the
 * GEMM family against a double-precision loop on shapes with every row/column tail and K chunking;
 * the 3x3 depthwise, padded max-pool, Winograd, SpMM, LSTM cell and LRN families against loops. Same cases
 * as tests/test_kernels.py, which cannot run where there is no Python. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels.h"
#include "core/testing.h"
#include "kernels/dwconv.h"
#include "kernels/winograd.h"
#include "test_util.h"

static uint32_t g_rng = 12345;
static float frand(void) {
  g_rng = g_rng * 1664525u + 1013904223u;
  return (float)(g_rng >> 8) / 8388608.0f - 1.0f;
}

static double act(double y, const xnn_f32_act_params* p) {
  y = y > 0 ? y : y * p->slope;
  return y < p->min ? p->min : y > p->max ? p->max : y;
}

/* Identity, ReLU, leaky, ReLU6, and the simplified forms (slope 1 with a clamp) the plans pass. */
static const xnn_f32_act_params acts[] = {{1.0f, -INFINITY, INFINITY}, {0.0f, -INFINITY, INFINITY},
                                          {0.1f, -INFINITY, INFINITY}, {0.0f, -INFINITY, 6.0f},
                                          {1.0f, 0.0f, INFINITY},      {1.0f, -0.5f, 0.5f}};
#define N_ACTS (sizeof(acts) / sizeof(acts[0]))

static void test_gemm(const char* isa) {
  /* m, n, k: every tile of every set, whole and partial (n = 2, 3, 6, 7 reach the narrow tiles' edges; the
   * tail tiles run on pairs of row panels: an odd number of panels, a partial second one, 4 and 17 tails). */
  static const size_t shapes[][3] = {{1, 1, 1},    {3, 5, 7},     {8, 12, 16},  {8, 32, 16},  {9, 13, 17},
                                     {17, 47, 64}, {5, 100, 300}, {25, 13, 3},  {40, 64, 1},  {16, 24, 0},
                                     {8, 2, 9},    {9, 3, 5},     {16, 7, 33},  {3, 6, 70},   {40, 49, 33},
                                     {24, 36, 70}, {21, 196, 19}, {13, 55, 8}};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
    const size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    float* a = malloc((m * k + 1) * sizeof(float));
    float* b = malloc((k * n + 1) * sizeof(float));
    float* bias = malloc(m * sizeof(float));
    float* c = malloc(m * n * sizeof(float));
    for (size_t i = 0; i < m * k; i++) a[i] = frand();
    for (size_t i = 0; i < k * n; i++) b[i] = frand();
    for (size_t i = 0; i < m; i++) bias[i] = frand();
    for (size_t ai = 0; ai < N_ACTS; ai++) {
      const size_t kcs[] = {0, 7, 64};
      for (size_t kci = 0; kci < 6; kci++) {
        const int in_place = kci >= 3;
        const int r = xnn_testing_gemm(isa, m, n, k, kcs[kci % 3], in_place, a, b, bias, NULL, &acts[ai], c);
        CHECK(r == 1, "%s gemm: kernel set missing", isa);
        double err = 0;
        for (size_t i = 0; i < m; i++)
          for (size_t j = 0; j < n; j++) {
            double y = bias[i];
            for (size_t p = 0; p < k; p++) y += (double)a[i * k + p] * b[p * n + j];
            err = fmax(err, fabs(act(y, &acts[ai]) - c[i * n + j]));
          }
        CHECK(err <= 1e-4 * (1.0 + sqrt((double)k)),
              "%s gemm m=%zu n=%zu k=%zu kc=%zu in_place=%d act=%zu: max error %g",
              isa, m, n, k, kcs[kci % 3], in_place, ai, err);
      }
    }
    free(a);
    free(b);
    free(bias);
    free(c);
  }
}

/* The scratch bound against every block width up to `cols`, which it skips. */
static void test_packed_width_max(const char* isa) {
  const xnn_f32_gemm_config* g = &xnn_kernels_for_isa(isa)->gemm;
  size_t want = 0;
  for (size_t cols = 1; cols <= 600; cols++) {
    const size_t w = xnn_f32_gemm_packed_width(g, cols);
    want = w > want ? w : want;
    CHECK(xnn_f32_gemm_packed_width_max(g, cols) == want, "%s packed_width_max(%zu)", isa, cols);
  }
}

static void test_dwconv(const char* isa) {
  /* oh 1-7: the two-row steps alone, with the one-row remainder, and several of each; ow 1-18 and a few
   * wider: every column tail of 4-, 8- and 16-wide steps after zero, one and more whole steps. */
  static const size_t wide[] = {23, 31, 33, 46, 64};
  const size_t n_ow = 18 + sizeof(wide) / sizeof(wide[0]);
  const float junk = 1e4f; /* what lies outside the taps: any use of it shows in the error */
  for (size_t stride = 1; stride <= 2; stride++) {
    for (size_t oh = 1; oh <= 7; oh++) {
      for (size_t o = 0; o < n_ow; o++) {
        const size_t ow = o < 18 ? o + 1 : wide[o - 18];
        const size_t ih = (oh - 1) * stride + 3, iw = (ow - 1) * stride + 3, is = iw + 1 + (oh + o) % 6;
        /* Exactly what the contract lets a kernel read: XNN_DWCONV_EXTRA floats past the last tap. */
        const size_t n_in = (ih - 1) * is + iw + XNN_DWCONV_EXTRA;
        float* in = malloc(n_in * sizeof(float));
        float* out = malloc((oh * ow + 8) * sizeof(float));
        for (size_t i = 0; i < n_in; i++) in[i] = junk * frand();
        for (size_t y = 0; y < ih; y++)
          for (size_t x = 0; x < iw; x++) in[y * is + x] = frand();
        float w[9];
        for (int i = 0; i < 9; i++) w[i] = frand();
        const float bias = frand();
        for (size_t ai = 0; ai < N_ACTS; ai++) {
          for (size_t i = 0; i < oh * ow + 8; i++) out[i] = -junk;
          if (xnn_testing_dwconv3x3(isa, stride, oh, ow, in, is, w, bias, &acts[ai], out) != 1) break;
          double err = 0;
          int outside = 0;
          for (size_t y = 0; y < oh; y++)
            for (size_t x = 0; x < ow; x++) {
              double acc = bias;
              for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) acc += w[ky * 3 + kx] * in[(y * stride + ky) * is + x * stride + kx];
              const double e = fabs(act(acc, &acts[ai]) - out[y * ow + x]);
              err = e > err || e != e ? e : err; /* NaN is an error too */
            }
          for (size_t i = oh * ow; i < oh * ow + 8; i++) outside += out[i] != -junk;
          CHECK(err <= 1e-5 && outside == 0, "%s dwconv3x3 s%zu %zux%zu act=%zu: max error %g, %d written past the end",
                isa, stride, oh, ow, ai, err, outside);
        }
        free(in);
        free(out);
      }
    }
  }
}

static void test_maxpool(const char* isa) {
  /* oh, ow, kh, kw, stride: each window with a path of its own (3x3/2, 3x3/1, 2x2/2), with vector tails
   * of 0-7 outputs, and others through the generic loops. */
  static const size_t cases[][5] = {{1, 1, 2, 2, 2}, {5, 7, 3, 3, 2},  {9, 17, 3, 3, 1}, {4, 33, 2, 2, 2},
                                    {3, 15, 3, 4, 2}, {7, 55, 3, 3, 2}, {6, 9, 2, 2, 1},  {3, 5, 5, 5, 2},
                                    {2, 3, 1, 1, 2},  {4, 12, 3, 3, 1}, {2, 6, 2, 2, 2},  {2, 1, 3, 3, 2},
                                    {3, 8, 3, 3, 2},  {2, 18, 3, 3, 2}, {2, 20, 3, 3, 2}, {2, 27, 3, 3, 2},
                                    {2, 28, 3, 3, 2}, {2, 13, 3, 3, 2}, {2, 14, 3, 3, 2}};
  for (size_t s = 0; s < sizeof(cases) / sizeof(cases[0]); s++) {
    const size_t oh = cases[s][0], ow = cases[s][1], kh = cases[s][2], kw = cases[s][3], st = cases[s][4];
    const size_t ih = (oh - 1) * st + kh, iw = (ow - 1) * st + kw, is = iw + 70;
    float* in = malloc(((ih + 1) * is) * sizeof(float));
    float* out = malloc((oh * ow + 8) * sizeof(float));
    for (size_t i = oh * ow; i < oh * ow + 8; i++) out[i] = 1e30f; /* stores past the end show */
    for (size_t i = 0; i < (ih + 1) * is; i++) in[i] = 1e4f; /* outside the windows: any use shows */
    for (size_t y = 0; y < ih; y++)
      for (size_t x = 0; x < iw; x++) in[y * is + x] = frand();
    if (xnn_testing_maxpool(isa, oh, ow, kh, kw, st, in, is, out) == 1) {
      int bad = 0;
      for (size_t y = 0; y < oh; y++)
        for (size_t x = 0; x < ow; x++) {
          float m = -INFINITY;
          for (size_t ky = 0; ky < kh; ky++)
            for (size_t kx = 0; kx < kw; kx++) m = fmaxf(m, in[(y * st + ky) * is + x * st + kx]);
          bad += m != out[y * ow + x];
        }
      for (size_t i = oh * ow; i < oh * ow + 8; i++) bad += out[i] != 1e30f;
      CHECK(bad == 0, "%s maxpool %zux%zu/%zu %zux%zu: %d wrong", isa, kh, kw, st, oh, ow, bad);
    }
    free(in);
    free(out);
  }
}

/* Winograd F(4x4, 3x3) transforms against the family's matrices in double precision (written out here,
 * independently of the kernels): 1-16 tiles (vector tails), partial rows and columns (nothing written
 * past them), and the activations whose epilogue paths differ (leaky, ReLU as slope 1, clamp). */
static void test_wino43(const char* isa) {
  static const double BT[6][6] = {{1, -1.5, -2, 1.5, 1, 0}, {0, -1, 0.5, 2.5, 1, 0}, {0, 1, -2.5, 0.5, 1, 0},
                                  {0, -2, -1, 2, 1, 0},     {0, 0.5, -1, -0.5, 1, 0}, {0, 1, -1.5, -2, 1.5, 1}};
  static const double AT[4][6] = {
      {1, 1, 1, 1, 1, 0}, {0, 1, -1, 0.5, -2, 0}, {0, 1, 1, 0.25, 4, 0}, {0, 1, -1, 0.125, -8, 1}};
  const xnn_f32_act_params acts[3] = {{0.1f, -INFINITY, INFINITY}, {1.0f, 0.0f, INFINITY}, {1.0f, -0.5f, 0.75f}};
  enum { T = XNN_WINO43_TILES, IS = 4 * T + 2 + XNN_WINO43_EXTRA, OS = 4 * T + 3 };
  static float in[6 * IS], v[36 * T], m[36 * T], out[5 * OS];
  for (size_t i = 0; i < 6 * IS; i++) in[i] = frand();
  for (size_t i = 0; i < 36 * T; i++) m[i] = frand();
  for (size_t tiles = 1; tiles <= T; tiles++) {
    const size_t shapes[3][2] = {{4, 4 * tiles}, {3, 4 * tiles - 1}, {1, tiles > 1 ? 4 * tiles - 6 : 2}};
    for (size_t sh = 0; sh < 3; sh++) {
      const size_t rows = shapes[sh][0], cols = shapes[sh][1];
      const xnn_f32_act_params* a = &acts[(tiles + sh) % 3];
      for (size_t i = 0; i < 36 * T; i++) v[i] = NAN;
      for (size_t i = 0; i < 5 * OS; i++) out[i] = NAN;
      CHECK(xnn_testing_winograd(isa, 4, tiles, in, IS, v, m, 0.5f, a, out, OS, rows, cols) == 1,
            "%s wino43: set missing", isa);
      double err = 0;
      int bad = 0;
      for (size_t t = 0; t < tiles; t++) {
        double d[6][6], tmp[6][6], mt[6][6], y[4][6];
        for (int r = 0; r < 6; r++)
          for (int c = 0; c < 6; c++) d[r][c] = in[r * IS + 4 * t + c], mt[r][c] = m[(6 * r + c) * T + t];
        for (int r = 0; r < 6; r++)
          for (int c = 0; c < 6; c++) {
            tmp[r][c] = 0;
            for (int k = 0; k < 6; k++) tmp[r][c] += BT[r][k] * d[k][c];
          }
        for (int r = 0; r < 6; r++)
          for (int c = 0; c < 6; c++) {
            double x = 0;
            for (int k = 0; k < 6; k++) x += tmp[r][k] * BT[c][k];
            err = fmax(err, fabs(x - v[(6 * r + c) * T + t]) / 64);
          }
        for (int r = 0; r < 4; r++)
          for (int c = 0; c < 6; c++) {
            y[r][c] = 0;
            for (int k = 0; k < 6; k++) y[r][c] += AT[r][k] * mt[k][c];
          }
        for (size_t r = 0; r < 4; r++)
          for (size_t c = 0; c < 4; c++) {
            double x = 0.5;
            for (int k = 0; k < 6; k++) x += y[r][k] * AT[c][k];
            const float got = out[r * OS + 4 * t + c];
            if (r < rows && 4 * t + c < cols)
              err = fmax(err, fabs(act(x, a) - got) / 64);
            else
              bad += !isnan(got);
          }
      }
      for (size_t r = 0; r < 5; r++)
        for (size_t c = 4 * tiles; c < OS; c++) bad += !isnan(out[r * OS + c]);
      for (size_t e = 0; e < 36; e++)
        for (size_t t = tiles; t < T; t++) bad += !isnan(v[e * T + t]);
      CHECK(err <= 1e-5 && bad == 0, "%s wino43 tiles=%zu rows=%zu cols=%zu: max error %g, %d written outside", isa,
            tiles, rows, cols, err, bad);
    }
  }
}

static void test_im2col(const char* isa) {
  float src[140], dst[3 * 72];
  for (size_t i = 0; i < 140; i++) src[i] = frand();
  int bad = 0;
  for (size_t stride = 1; stride <= 3; stride++)
    for (size_t len = 1; len <= 40; len++) {
      const size_t span = (len - 1) * stride + 1, offsets[3] = {0, 7, 3};
      const size_t width = len + len % 5;
      for (size_t i = 0; i < 3 * 72; i++) dst[i] = -1.0f;
      /* Runs end at the last source value: nothing past them may be read (ASan build). */
      xnn_testing_im2col_panel(isa, 3, len, src + 140 - span - 7, offsets, stride, dst, width);
      for (size_t p = 0; p < 3; p++)
        for (size_t q = 0; q < width; q++) {
          const float want = q < len ? src[140 - span - 7 + offsets[p] + q * stride] : -1.0f;
          bad += dst[p * width + q] != want;
        }
    }
  CHECK(bad == 0, "%s im2col_panel: %d wrong values", isa, bad);
}

/* Weights with a given share of zeros, against a double-precision loop; every buffer has its exact size,
 * so that the sanitizer build catches a read or write past a row's last pixel. Variant 0 is the set's
 * kernel, 1 its wide one, 2 its blocked one on weights pruned in blocks of four channels (a zero left
 * inside a kept block too). */
static void test_spmm(const char* isa) {
  static const size_t shapes[][3] = {{1, 1, 1},    {1, 9, 2000}, {3, 5, 7},     {8, 12, 16}, {17, 4, 33},
                                     {31, 3, 64},  {32, 7, 9},   {33, 2, 5},    {49, 16, 100}, {70, 5, 3},
                                     {64, 3, 20},  {97, 4, 40},  {127, 2, 17}, {5, 8, 64},  {47, 12, 300}};
  const float zero_shares[] = {0.0f, 0.5f, 0.9f, 1.0f};
  const xnn_f32_act_params relu = {0.0f, -INFINITY, INFINITY};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
    const size_t pixels = shapes[s][0], channels = shapes[s][1], k = shapes[s][2];
    for (size_t z = 0; z < sizeof(zero_shares) / sizeof(zero_shares[0]); z++) {
      float* in = malloc(k * pixels * sizeof(float));
      float* w = malloc(channels * k * sizeof(float));
      float* bias = malloc(channels * sizeof(float));
      float* res = malloc(channels * pixels * sizeof(float));
      float* out = malloc(channels * pixels * sizeof(float));
      for (size_t i = 0; i < k * pixels; i++) in[i] = frand();
      for (size_t i = 0; i < channels; i++) bias[i] = frand();
      for (size_t i = 0; i < channels * pixels; i++) res[i] = frand();
      const float* residual = s % 2 ? res : NULL;
      for (int variant = 0; variant <= 2; variant++) {
        for (size_t o = 0; o < channels; o++)
          for (size_t i = 0; i < k; i++) {
            /* Blocked: one draw per block of four channels and column. */
            const size_t at = variant == 2 ? o / 4 * 4 * k + i : o * k + i;
            w[o * k + i] = variant == 2 && o % 4 ? (w[at] == 0.0f ? 0.0f : frand()) : frand();
            if (!(variant == 2 && o % 4) && (frand() + 1.0f) * 0.5f < zero_shares[z]) w[o * k + i] = 0.0f;
          }
        if (variant == 2 && channels > 1 && k > 1 && w[1] != 0.0f) w[k + 1] = 0.0f; /* a zero in a kept block */
        const int r = xnn_testing_spmm(isa, variant, pixels, channels, k, in, pixels, w, bias, residual, &relu, out,
                                       pixels);
        CHECK(r == 1 || (r == 0 && variant), "%s spmm: kernel set missing", isa);
        CHECK(r == 1 || variant != 2 || channels % 4 || !strstr(xnn_testing_families(isa), "spmm_blocked"),
              "%s spmm blocked: kernel refused %zu channels", isa, channels);
        if (r != 1) continue;
        double err = 0;
        for (size_t o = 0; o < channels; o++)
          for (size_t p = 0; p < pixels; p++) {
            double y = bias[o] + (residual ? residual[o * pixels + p] : 0.0);
            for (size_t i = 0; i < k; i++) y += (double)w[o * k + i] * in[i * pixels + p];
            err = fmax(err, fabs(act(y, &relu) - out[o * pixels + p]));
          }
        CHECK(err <= 1e-4 * (1.0 + sqrt((double)k)),
              "%s spmm variant %d pixels=%zu channels=%zu k=%zu zeros=%.2f: max error %g", isa, variant, pixels,
              channels, k, zero_shares[z], err);
      }
      free(in);
      free(w);
      free(bias);
      free(res);
      free(out);
    }
  }
}

/* The LSTM cell against double-precision libm: H with every vector tail, clipped and not, large gates. */
static void test_lstm_cell(const char* isa) {
  static const size_t sizes[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100};
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    const size_t h = sizes[s];
    float* gates = malloc(4 * h * sizeof(float));
    float* c = malloc(h * sizeof(float));
    float* c0 = malloc(h * sizeof(float));
    float* ho = malloc(h * sizeof(float));
    for (size_t i = 0; i < 4 * h; i++) gates[i] = 6.0f * frand() * (i % 5 == 0 ? 20.0f : 1.0f);
    for (size_t i = 0; i < h; i++) c0[i] = 3.0f * frand();
    for (int clip = 0; clip < 2; clip++) {
      const double lim = clip ? 2.5 : INFINITY;
      memcpy(c, c0, h * sizeof(float));
      CHECK(xnn_testing_lstm_cell(isa, h, gates, c, ho, (float)-lim, (float)lim) == 1, "%s lstm_cell: set missing",
            isa);
      double err = 0;
      for (size_t j = 0; j < h; j++) {
        double g[4];
        for (int q = 0; q < 4; q++) g[q] = fmin(fmax(gates[q * h + j], -lim), lim);
        const double cn = c0[j] / (1 + exp(-g[1])) + tanh(g[3]) / (1 + exp(-g[0]));
        err = fmax(err, fmax(fabs(cn - c[j]), fabs(tanh(cn) / (1 + exp(-g[2])) - ho[j])));
      }
      CHECK(err <= 1e-5, "%s lstm_cell h=%zu clip=%d: max error %g", isa, h, clip, err);
    }
    free(gates);
    free(c);
    free(c0);
    free(ho);
  }
}

/* The LRN family against double-precision libm: rows with every vector tail, windows of 1 to 7 channels, the
 * vector kernels' beta 0.75 and the portable fallback's other betas. */
static void test_lrn(const char* isa) {
  static const size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 33, 100, 301};
  static const float params[][3] = {{1.0f, 2e-5f, 0.75f}, {2.0f, 0.3f, 0.75f}, {0.5f, 0.01f, 0.5f}, {1.0f, 0.1f, 0.6f}};
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    const size_t n = sizes[s], stride = n + 3;
    float* rows = malloc(7 * stride * sizeof(float) + 4);
    float* y = malloc((n + 1) * sizeof(float));
    for (size_t i = 0; i < 7 * stride; i++) rows[i] = 4.0f * frand();
    for (size_t taps = 1; taps <= 7; taps += 2) {
      for (size_t q = 0; q < sizeof(params) / sizeof(params[0]); q++) {
        const float k = params[q][0], alpha = params[q][1], beta = params[q][2];
        const float* x = rows + taps / 2 * stride;
        y[n] = 7.0f;
        CHECK(xnn_testing_lrn(isa, n, taps, rows, stride, x, k, alpha, beta, y) == 1, "%s lrn: set missing", isa);
        double err = 0;
        for (size_t i = 0; i < n; i++) {
          double sum = 0;
          for (size_t t = 0; t < taps; t++) sum += (double)rows[t * stride + i] * rows[t * stride + i];
          const double want = x[i] * pow(k + alpha * sum, -beta);
          err = fmax(err, fabs(want - y[i]) / fmax(fabs(want), 1e-30));
        }
        CHECK(err <= 2e-6 && y[n] == 7.0f, "%s lrn n=%zu taps=%zu beta=%g: relative error %g", isa, n, taps,
              (double)beta, err);
      }
    }
    free(rows);
    free(y);
  }
}

int main(void) {
  char isas[64];
  snprintf(isas, sizeof(isas), "%s", xnn_available_isas());
  int tested = 0;
  for (char* isa = strtok(isas, " "); isa; isa = strtok(NULL, " ")) {
    test_gemm(isa);
    test_packed_width_max(isa);
    test_dwconv(isa);
    test_maxpool(isa);
    test_im2col(isa);
    test_wino43(isa);
    test_spmm(isa);
    test_lstm_cell(isa);
    test_lrn(isa);
    printf("kernel set %s: tested\n", isa);
    tested++;
  }
  CHECK(tested >= 1, "no kernel set");
  if (g_failures) {
    fprintf(stderr, "test_kernels: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("test_kernels: all checks passed (%s)\n", xnn_available_isas());
  return 0;
}
