#include "core/testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels.h"
#include "ops/ops.h"

int xnn_testing_gemm(const char* isa, size_t m, size_t n, size_t k, size_t kc, int in_place, const float* a,
                     const float* b, const float* bias, const float* residual, const xnn_f32_act_params* act,
                     float* c) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  const xnn_f32_gemm_config* g = &ks->gemm;
  if (residual && (!g->add_bias || !bias)) return 0;
  if (residual) memcpy(c, residual, m * n * sizeof(float));
  const size_t mr = g->mr, mp = (m + mr - 1) / mr, width = xnn_f32_gemm_packed_width(g, n);
  float* pa = calloc(mp * mr * k + 1, sizeof(float));
  float* pbias = calloc(mp * mr + 1, sizeof(float));
  float* pb = calloc(width * k + 1, sizeof(float));
  if (!pa || !pbias || !pb) {
    free(pa);
    free(pbias);
    free(pb);
    return -1;
  }
  xnn_pack_f32_gemm_a(m, k, mr, a, k, bias, pa, pbias);
  /* B in the operators' block layout: the panels of xnn_f32_gemm_panel, each k groups of its row stride. */
  for (size_t s = 0; s < n;) {
    const xnn_f32_gemm_tile t = xnn_f32_gemm_panel(g, n - s);
    const size_t ld = xnn_f32_gemm_tile_ld(t);
    for (size_t kk = 0; kk < k; kk++)
      for (size_t j = 0; j < ld; j++) pb[s * k + kk * ld + j] = s + j < n ? b[kk * n + s + j] : 0.0f;
    s += t.nr;
  }
  if (kc == 0) kc = k;
  for (size_t k0 = 0; k0 < k || k0 == 0; k0 += kc) {
    const size_t kk = k0 + kc <= k ? kc : k - k0;
    const uint32_t flags = (k0 || residual ? XNN_GEMM_ACCUMULATE : 0) | (k0 + kk >= k ? XNN_GEMM_LAST : 0) |
                           (!k0 && residual ? XNN_GEMM_ADD_BIAS : 0);
    for (size_t i = 0; i < mp; i++) {
      for (size_t s = 0; s < n;) {
        const xnn_f32_gemm_tile t = xnn_f32_gemm_panel(g, n - s);
        const int direct = in_place && s + t.nr <= n;
        const size_t ld = xnn_f32_gemm_tile_ld(t);
        const float* bt = direct ? b + k0 * n + s : pb + s * k + k0 * ld;
        if (t.ukernel) {
          t.ukernel(XNN_MIN(mr, m - i * mr), XNN_MIN(t.nr, n - s), kk, pa + i * mr * k + k0 * mr, bt,
                    direct ? n : ld, c + i * mr * n + s, n, bias ? pbias + i * mr : NULL, act,
                    flags | (s == 0 ? XNN_GEMM_STREAM_A : 0)); /* as the operators flag a row's first tile */
        } else {
          /* The tail tile, on pairs of row panels as the operators run it. */
          const size_t r = xnn_f32_gemm_tail_rows(i * mr, 0, m, mr);
          if (r != SIZE_MAX)
            g->tail(XNN_MIN(2 * mr, m - r), n - s, kk, pa + r * k + k0 * mr, mr * k, bt, direct ? n : t.nr,
                    c + r * n + s, n, bias ? pbias + r : NULL, act, flags);
        }
        s += t.nr;
      }
    }
    if (k == 0) break;
  }
  free(pa);
  free(pbias);
  free(pb);
  return 1;
}

int xnn_testing_gemv(const char* isa, size_t m, size_t k, const float* a, const float* x, float* y) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  const size_t mr = ks->gemm.mr, mp = (m + mr - 1) / mr;
  float* pa = calloc(mp * mr * k + 1, sizeof(float));
  float* pbias = calloc(mp * mr + 1, sizeof(float));
  float* acc = calloc(XNN_GEMV_MAX_PANELS * mr, sizeof(float));
  if (!pa || !pbias || !acc) {
    free(pa);
    free(pbias);
    free(acc);
    return -1;
  }
  xnn_pack_f32_gemm_a(m, k, mr, a, k, NULL, pa, pbias);
  /* As the operators call it: stripe i of q holds panels i, i + q, ... (every count up to the most). */
  const size_t q = (mp + XNN_GEMV_MAX_PANELS - 1) / XNN_GEMV_MAX_PANELS;
  for (size_t i = 0; i < q; i++) {
    const size_t count = (mp - i + q - 1) / q;
    ks->gemm.gemv(mr, k, count, pa + i * mr * k, q * mr * k, x, acc);
    for (size_t j = 0; j < count; j++)
      for (size_t r = 0; r < mr && (i + j * q) * mr + r < m; r++) y[(i + j * q) * mr + r] = acc[j * mr + r];
  }
  free(pa);
  free(pbias);
  free(acc);
  return 1;
}

int xnn_testing_fc(const char* isa, size_t batch, size_t n, size_t k, const float* x, const float* w,
                   const float* bias, const xnn_f32_act_params* act, float* y) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  ks->fc(batch, n, k, x, w, bias, y, n, act);
  return 1;
}

int xnn_testing_lstm_cell(const char* isa, size_t h, const float* gates, float* c, float* h_out, float clip_min,
                          float clip_max) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  const xnn_f32_lstm_params p = {clip_min, clip_max};
  ks->lstm_cell(h, gates, c, h_out, &p);
  return 1;
}

const char* xnn_testing_gemm_tiles(const char* isa) {
  static _Thread_local char buf[64];
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  buf[0] = '\0';
  if (!ks) return buf;
  const xnn_f32_gemm_config* g = &ks->gemm;
  snprintf(buf, sizeof(buf), "%ux%u", g->mr, g->nr);
  for (int i = 0; i < XNN_GEMM_MAX_NARROW && g->narrow[i].nr; i++)
    snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %ux%u", g->mr, g->narrow[i].nr);
  if (g->tail) snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " tail %ux%u", 2 * g->mr, g->tail_nr);
  if (g->wide.ukernel) snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " wide %ux%u", g->mr, g->wide.nr);
  return buf;
}

int xnn_testing_dwconv3x3p1(const char* isa, size_t stride, size_t ih, size_t iw, const float* in, const float* w,
                             float bias, const xnn_f32_act_params* act, float* out, size_t oy0, size_t oy1) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  xnn_f32_dwconv3x3p1_fn fn = stride == 1 ? ks->dwconv3x3p1s1 : ks->dwconv3x3p1s2;
  if (!fn) return 0;
  fn(ih, iw, in, w, bias, out, oy0, oy1, act);
  return 1;
}

int xnn_testing_dwconv3x3(const char* isa, size_t stride, size_t oh, size_t ow, const float* in, size_t in_stride,
                          const float* w, float bias, const xnn_f32_act_params* act, float* out) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  xnn_f32_dwconv3x3_fn fn = stride == 1 ? ks->dwconv3x3s1 : ks->dwconv3x3s2;
  if (!fn) return 0;
  fn(oh, ow, in, in_stride, w, bias, out, act);
  return 1;
}

int xnn_testing_dwconv(const char* isa, const size_t geometry[12], const float* in, const float* w, float bias,
                       const xnn_f32_act_params* act, float* out) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  const xnn_dwconv_geometry g = {geometry[0], geometry[1], geometry[2], geometry[3], geometry[4],  geometry[5],
                                 geometry[6], geometry[7], geometry[8], geometry[9], geometry[10], geometry[11]};
  ks->dwconv(&g, in, w, bias, out, act);
  return 1;
}

int xnn_testing_conv_chw_s2(const char* isa, const size_t geometry[7], size_t oc, const float* in, const float* w,
                            const float* bias, const xnn_f32_act_params* act, float* out) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks || !ks->conv_chw_s2) return 0;
  const size_t cin = geometry[0], ih = geometry[1], iw = geometry[2], kh = geometry[3], kw = geometry[4];
  const size_t pt = geometry[5], pl = geometry[6], k = cin * kh * kw, mr = ks->gemm.mr, mp = (oc + mr - 1) / mr;
  const size_t oh = (ih + 2 * pt - kh) / 2 + 1, ow = (iw + 2 * pl - kw) / 2 + 1;
  const xnn_conv_chw_geometry g = {cin, ih, iw, oh, ow, kh, kw, pt, pl};
  /* The operators' packing: panels of the GEMM's MR rows, the bias padded with zeros. */
  float* pa = xnn_alloc_aligned(mp * mr * k * sizeof(float));
  float* pbias = xnn_alloc_aligned(mp * mr * sizeof(float));
  if (!pa || !pbias) {
    xnn_free_aligned(pa);
    xnn_free_aligned(pbias);
    return -1;
  }
  xnn_pack_f32_gemm_a(oc, k, mr, w, k, bias, pa, pbias);
  for (size_t oy = 0; oy < oh; oy += 2) ks->conv_chw_s2(&g, oc, oy, in, pa, pbias, out + oy * ow, oh * ow, act);
  xnn_free_aligned(pa);
  xnn_free_aligned(pbias);
  return 1;
}

const char* xnn_testing_families(const char* isa) {
  static _Thread_local char buf[192];
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  buf[0] = '\0';
  if (!ks) return buf;
  if (ks->dwconv3x3s1 && ks->dwconv3x3s2) strcat(buf, "dwconv3x3 ");
  if (ks->dwconv3x3p1s1) strcat(buf, "dwconv3x3p1s1 ");
  if (ks->dwconv3x3p1s2) strcat(buf, "dwconv3x3p1s2 ");
  if (ks->conv_chw_s2) strcat(buf, "conv_chw_s2 ");
  if (ks->maxpool_padded) strcat(buf, "maxpool_padded ");
  if (ks->wino43_input) strcat(buf, "wino43 ");
  if (ks->wino43_input_rows2) strcat(buf, "wino43_rows2 ");
  if (ks->wino43_output_rows) strcat(buf, "wino43_output_rows ");
  if (ks->wino23_input) strcat(buf, "wino23 ");
  if (ks->spmm.wide) strcat(buf, "spmm_wide ");
  if (ks->spmm.blocked) strcat(buf, "spmm_blocked ");
  return buf;
}

int xnn_testing_vaddc(const char* isa, size_t n, const float* x, float c, float* y, int in_place) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  if (in_place) {
    memcpy(y, x, n * sizeof(float));
    ks->vaddc(n, y, c, y);
  } else {
    ks->vaddc(n, x, c, y);
  }
  return 1;
}

int xnn_testing_lrn(const char* isa, size_t n, size_t taps, const float* rows, size_t stride, const float* x, float k,
                    float alpha, float beta, float* y) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  ks->lrn(n, taps, rows, stride, x, k, alpha, beta, y);
  return 1;
}

void xnn_testing_pad_plane(float* dst, size_t rows, size_t stride, const float* src, size_t ih, size_t iw, size_t top,
                           size_t left) {
  xnn_pad_plane(dst, rows, stride, src, ih, iw, top, left);
}

int xnn_testing_maxpool(const char* isa, size_t oh, size_t ow, size_t kh, size_t kw, size_t stride,
                        const float* in, size_t in_stride, float* out) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks || !ks->maxpool_padded) return 0;
  ks->maxpool_padded(oh, ow, kh, kw, stride, in, in_stride, out);
  return 1;
}

int xnn_testing_winograd(const char* isa, size_t tile, size_t tiles, const float* in, size_t in_stride, float* v,
                         const float* m, float bias, const xnn_f32_act_params* act, float* out, size_t out_stride,
                         size_t rows, size_t cols) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  const xnn_f32_wino43_input_fn input = tile == 2 ? ks->wino23_input : ks->wino43_input;
  const xnn_f32_wino43_output_fn output = tile == 2 ? ks->wino23_output : ks->wino43_output;
  if (!input || !output) return 0;
  input(in, in_stride, tiles, v, XNN_WINO43_TILES);
  output(m, XNN_WINO43_TILES, tiles, bias, out, out_stride, rows, cols, act);
  return 1;
}

int xnn_testing_winograd_rows2(const char* isa, size_t tiles, const float* in0, const float* in1, size_t in_stride,
                               float* v) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks || !ks->wino43_input_rows2) return 0;
  ks->wino43_input_rows2(in0, in1, in_stride, tiles, v, XNN_WINO43_TILES);
  return 1;
}

int xnn_testing_winograd_output_rows(const char* isa, size_t tiles_x, size_t tile_rows, const float* m, float bias,
                                     const xnn_f32_act_params* act, float* out, size_t out_stride, size_t rows,
                                     size_t cols) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks || !ks->wino43_output_rows) return 0;
  ks->wino43_output_rows(m, XNN_WINO43_TILES, tiles_x, tile_rows, bias, out, out_stride, rows, cols, act);
  return 1;
}

int xnn_testing_im2col_panel(const char* isa, size_t kc, size_t len, const float* src, const size_t* offsets,
                             size_t stride, float* dst, size_t dst_stride) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  ks->im2col_panel(kc, len, src, offsets, stride, dst, dst_stride);
  return 1;
}

int xnn_testing_spmm(const char* isa, int variant, size_t pixels, size_t channels, size_t k, const float* in,
                     size_t in_stride, const float* w, const float* bias, const float* residual,
                     const xnn_f32_act_params* act, float* out, size_t out_stride) {
  const xnn_kernels* ks = xnn_kernels_for_isa(isa);
  if (!ks) return 0;
  const xnn_f32_spmm_config* c = &ks->spmm;
  const xnn_f32_spmm_ukernel_fn kernel = variant == 2 ? c->blocked : variant == 1 ? c->wide : c->ukernel;
  const size_t block = variant == 2 ? c->block : 1;
  if (!kernel || channels % block) return 0;
  /* Kept columns: single weights, or blocks of `block` output channels at one input position. */
  size_t nonzeros = 0;
  if (block > 1)
    nonzeros = xnn_f32_spmm_block_columns(channels, k, block, w);
  else
    for (size_t i = 0; i < channels * k; i++) nonzeros += w[i] != 0.0f;
  float* values = malloc((channels + block * nonzeros) * sizeof(float));
  uint32_t* rows = malloc((nonzeros + 1) * sizeof(uint32_t));
  uint32_t* nnz = malloc((channels + 1) * sizeof(uint32_t));
  if (values && rows && nnz) {
    if (block > 1)
      xnn_pack_f32_spmm_blocked(channels, k, block, w, bias, values, rows, nnz);
    else
      xnn_pack_f32_spmm(channels, k, w, bias, values, rows, nnz);
    kernel(pixels, channels, in, in_stride, values, rows, nnz, out, out_stride, residual, act);
  }
  const int r = values && rows && nnz ? 1 : -1;
  free(values);
  free(rows);
  free(nnz);
  return r;
}
