/* Winograd F(4x4, 3x3) and F(2x2, 3x3) convolution, NCHW.
 *
 * Tasks take a block of output tiles: each transforms its tiles' 6x6 (4x4) patches for every input
 * channel into 36 (16) GEMM operands V_e [cin][tiles] (NR-wide panels, the GEMM family's B layout),
 * multiplies them by the transformed filters U_e [oc][cin] (packed at load, the GEMM family's A layout)
 * with the GEMM micro-kernel into M_e [oc][tiles], and transforms M back into 4x4 (2x2) output tiles with
 * bias and activation. Output channels go in chunks so that the M block stays in L2. The input is never padded as a
 * whole: a task pads the rows its tiles read of one input channel into a plane of its own scratch just
 * before transforming them (also where the threads share one block by output channels: each then makes
 * its own V). */
#include "ops/conv_winograd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { SKEW = 16 };

/* Operands per tile: (m + 2)^2 for output tiles of m x m. */
static size_t operands(size_t m) { return (m + 2) * (m + 2); }

static size_t div_up(size_t x, size_t q) { return (x + q - 1) / q; }
static size_t round_up(size_t x, size_t q) { return div_up(x, q) * q; }

int xnn_conv_winograd_fits(const xnn_conv_params* c, const xnn_kernels* k, int64_t oh, int64_t ow) {
  const char* off = getenv("XNN_WINOGRAD");
  if (off && strcmp(off, "0") == 0) return 0; /* to compare with the direct path */
  if (!k->wino43_input || c->kh != 3 || c->kw != 3 || c->sh != 1 || c->sw != 1 || c->dh != 1 || c->dw != 1)
    return 0;
  /* Few channels (per group): the transforms cost more than the multiplications saved. Few tiles: the
   * GEMM's column panels would be mostly padding. */
  if (c->cin / c->group < 16 || c->num_output / c->group < 16) return 0;
  /* At least half a column panel of tiles, at most 16 (AVX-512's panel is 48 wide: a 14x14 map's 16 tiles
   * of 4x4 run on its 8x16 tile). */
  const int64_t min_tiles = (int64_t)XNN_MIN(k->gemm.nr, 32) / 2;
  const int64_t t4 = ((oh + 3) / 4) * ((ow + 3) / 4), t2 = ((oh + 1) / 2) * ((ow + 1) / 2);
  const int64_t ic = c->cin / c->group, oc = c->num_output / c->group;
  /* F(2x2, 3x3) where F(4x4, 3x3) has too few tiles (a 7x7 map has 4 of 4x4, 16 of 2x2) and its 16
   * transformed weights per 9 stay within the set's wino23_max_weight_bytes: GoogLeNet's 7x7 160 -> 320 and
   * 192 -> 384 layers (3.3 and 4.7 MB) took 0.164 and 0.222 ms so against 0.205 and 0.290 as im2col GEMMs
   * (1% of the network). ResNet-50's 7x7 512 -> 512 layers (16.8 MB) took 0.66 ms so against 0.89 alone
   * on Zen 5, but 1.25 against 0.98 in the network, where each tile's weights come from memory for only 16
   * columns (an im2col GEMM uses its 9.4 MB for 49); on Zen 4, whose GEMM runs at half that rate, 1.84
   * against 2.16 in the network. Elsewhere F(4x4, 3x3): on a 14x14 256 -> 256 layer F(2x2, 3x3) took
   * 0.50 ms against 0.40 on Zen 5; where the set's narrow tiles are slow it needs more tiles
   * (wino43_min_tiles). */
  const int f23 = k->wino23_input && t2 >= min_tiles &&
                  16 * ic * oc * c->group * (int64_t)sizeof(float) <= (int64_t)k->wino23_max_weight_bytes;
  if (t4 >= XNN_MAX(min_tiles, (int64_t)k->wino43_min_tiles)) return 4;
  return f23 ? 2 : t4 >= min_tiles ? 4 : 0;
}

xnn_status xnn_conv_winograd_pack(xnn_node* n, const xnn_kernels* k) {
  const xnn_conv_params* c = &n->p.conv;
  const size_t groups = (size_t)c->group, mr = k->gemm.mr, E = operands((size_t)c->wino_tile);
  const size_t oc = (size_t)c->num_output / groups, ic = (size_t)c->cin / groups; /* per group */
  const size_t per_e = round_up(oc, mr) * ic;
  float* u = xnn_alloc_aligned(E * oc * ic * sizeof(float));
  float* a = xnn_alloc_aligned(groups * E * per_e * sizeof(float));
  float* bias = xnn_alloc_aligned(groups * oc * sizeof(float) + 64);
  float* scratch = xnn_alloc_aligned(round_up(oc, mr) * sizeof(float));
  if (!u || !a || !bias || !scratch) {
    xnn_free_aligned(u);
    xnn_free_aligned(a);
    xnn_free_aligned(bias);
    xnn_free_aligned(scratch);
    return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory packing Winograd weights");
  }
  float t[36];
  for (size_t g = 0; g < groups; g++) {
    for (size_t o = 0; o < oc; o++) {
      for (size_t i = 0; i < ic; i++) {
        const float* f = n->weights[0] + ((g * oc + o) * ic + i) * 9;
        if (c->wino_tile == 2)
          xnn_f32_wino23_filter(f, t);
        else
          xnn_f32_wino43_filter(f, t);
        for (size_t e = 0; e < E; e++) u[(e * oc + o) * ic + i] = t[e];
      }
    }
    /* Group g's 36 operands follow each other: a[g][e][packed oc x ic]. */
    for (size_t e = 0; e < E; e++)
      xnn_pack_f32_gemm_a(oc, ic, mr, u + e * oc * ic, ic, NULL, a + (g * E + e) * per_e, scratch);
  }
  memset(bias, 0, groups * oc * sizeof(float));
  if (c->has_bias) memcpy(bias, n->weights[1], groups * oc * sizeof(float));
  xnn_free_aligned(u);
  xnn_free_aligned(scratch);
  xnn_free_aligned(n->weights[0]);
  xnn_free_aligned(n->weights[1]);
  n->weights[0] = a;
  n->weights[1] = bias;
  n->weight_size[0] = (int64_t)(groups * E * per_e);
  n->weight_size[1] = (int64_t)(groups * oc);
  n->num_weights = 2;
  return XNN_OK;
}

typedef struct wino_plan {
  size_t tile, e;              /* output tile (4 or 2) and operands per tile ((tile + 2)^2) */
  size_t tiles_x, tiles_y, tiles;
  size_t pad_rows, pad_stride; /* zero-padded input plane */
  size_t nb;                   /* tiles per task block but the last, which holds the rest: a multiple of
                                  nr unless one block holds all */
  size_t mc;                   /* output channels per GEMM chunk, a multiple of mr */
  size_t n_blocks, m_groups, group_rows; /* output channels per group, a multiple of mr */
  size_t v_floats, m_floats; /* per thread */
  size_t plane_floats; /* a task's padded input plane and the slack a transform reads past it */
} wino_plan;

static wino_plan make_plan(const xnn_conv_params* c, const xnn_kernels* k, size_t threads, size_t oh, size_t ow) {
  wino_plan p;
  const size_t ic = (size_t)(c->cin / c->group), oc = (size_t)(c->num_output / c->group);
  const size_t nr = k->gemm.nr, mr = k->gemm.mr, E = operands((size_t)c->wino_tile);
  p.tile = (size_t)c->wino_tile;
  p.e = E;
  p.tiles_x = div_up(ow, p.tile);
  p.tiles_y = div_up(oh, p.tile);
  p.tiles = p.tiles_x * p.tiles_y;
  p.pad_rows = p.tiles_y * p.tile + 2;
  /* No slack per row: what an input transform reads past a row's last patch column (XNN_WINO43_EXTRA) lands
   * in the next row and only in lanes of tiles it does not store, so the planes need it once, after the
   * last. With it in every row, a 28x28 plane took 110 floats a row instead of 30: 3.7x the cache. */
  p.pad_stride = p.tiles_x * p.tile + 2;
  /* V block (36 x cin x nb) about 512 KB; M chunk (36 x mc x nb) about 256 KB. */
  size_t nb = (131072 / (E * ic)) / nr * nr;
  nb = XNN_MAX(nb, nr);
  nb = XNN_MIN(nb, XNN_MAX((size_t)256 / nr, (size_t)1) * nr); /* whole panels only */
  p.n_blocks = div_up(p.tiles, nb);
  /* A last block of less than half a block joins the one before, up to 256 tiles: a 28x28 map's 49 tiles
   * would be blocks of 48 and 1, the second transforming its input and streaming every weight for one
   * column, and at two threads one thread would run it while the other ran the 48 (a 28x28 128 -> 128
   * layer: 0.79 ms as one block against 0.95 at one thread, 0.60 against 0.91 at two). */
  if (p.n_blocks > 1 && p.tiles - (p.n_blocks - 1) * nb < nb / 2 && p.tiles - (p.n_blocks - 2) * nb <= 256)
    p.n_blocks--;
  if (p.n_blocks == 1) nb = p.tiles; /* one block, narrow tail panels */
  /* One block for several threads but tiles for three 32-wide panels each (two of AVX-512's 48; SqueezeNet's
   * 56x56 maps: 196 tiles): a block of whole panels per thread, the last one with the tail, each thread
   * transforming only its own tiles' input, where splitting the output channels made each repeat the whole
   * input transform (SqueezeNet 1.1 fire2/expand3x3 0.072 -> 0.068 ms at 2 threads; on 28x28 maps, 49 tiles,
   * splitting the tiles was 12% slower than the channel ranges). Whole panels: every column runs the same
   * micro-kernel as in one block, so the result is the same bit for bit whatever the threads (equal halves of
   * 98 tiles ran 0.063 ms but moved columns between micro-kernels). */
  const size_t per_thread = XNN_MAX(3 * XNN_MIN(nr, (size_t)32), 2 * nr);
  if (threads > 1 && (size_t)c->group == 1 && nb == p.tiles && p.tiles >= per_thread * threads) {
    nb = p.tiles / nr / threads * nr;
    p.n_blocks = threads;
  }
  p.nb = nb;
  const size_t nbp = xnn_f32_gemm_packed_width_max(&k->gemm, XNN_MAX(nb, p.tiles - (p.n_blocks - 1) * nb));
  /* Few tile blocks (a 14x14 map is one): output channels go to `groups` equal ranges, one task each.
   * Equal ranges: 3 chunks split 2 + 1 made 2 threads only 1.2x faster. Each range pads and transforms
   * every input channel itself. One V made once, channel by channel, by all the threads in a job of its
   * own, and then read by all, cost more: the lines of V written by one core and read by the others in the
   * run before change hands (the job took 2-3x as long at two threads as at one). Intel Xeon, two threads,
   * per-layer minima: ResNet-50's 28x28 128 -> 128 layers 0.42-0.43 -> 0.39-0.40 ms, 14x14 256 -> 256 0.49
   * -> 0.47-0.49, SqueezeNet 1.1's 13x13 48 -> 192 alone 0.089 -> 0.074, GoogLeNet 1.2% faster. (Before the
   * padding moved into the tasks, ranges transforming every channel from planes that a job had padded,
   * reading the lines the other threads wrote, were slower than the one V: ResNet-50's 28x28 128 -> 128
   * layer 0.402 -> 0.454 ms.) */
  size_t groups = 1;
  while ((size_t)c->group * p.n_blocks * groups < threads && (groups * 2) * mr <= oc) groups *= 2;
  p.m_groups = groups;
  /* No job of its own pads the input: each task pads the rows its tiles read of a channel into its scratch
   * just before it transforms them, so the padded rows never leave L1. A job padding every channel into one
   * padded input first took 40-77 us on 56x56 maps of 64 channels (ResNet-50's res2 layers, GoogLeNet's
   * conv2) and 13-31 us on SqueezeNet's 55x55 ones, writing and reading back the whole of it beyond L1. */
  p.plane_floats = p.pad_rows * p.pad_stride + XNN_WINO43_EXTRA;
  p.group_rows = round_up(div_up(oc, groups), mr);
  size_t mc = (65536 / (E * nbp)) / mr * mr;
  mc = XNN_MAX(mc, mr);
  p.mc = XNN_MIN(mc, p.group_rows);
  /* The 36 operands sit SKEW floats further apart than their size: at a power-of-two distance they
   * would all map to the same L1 set, and the transforms touch all 36 at once. */
  p.v_floats = E * (ic * nbp + SKEW);
  p.m_floats = E * (p.mc * nbp + SKEW);
  return p;
}

/* Floats of one thread's scratch (V, M, its padded plane and 32 to spare), whole cache lines so that each
 * thread's starts on one. */
static size_t scratch_floats(const wino_plan* p) {
  return round_up(p->v_floats + p->m_floats + p->plane_floats + 32, 16);
}

size_t xnn_conv_winograd_workspace(const xnn_conv_params* c, const xnn_kernels* k, size_t threads, size_t oh,
                                   size_t ow) {
  const wino_plan p = make_plan(c, k, threads, oh, ow);
  return threads * scratch_floats(&p) * sizeof(float) + 64;
}

typedef struct wino_job {
  const xnn_conv_params* c;
  const xnn_kernels* k;
  wino_plan p;
  const float* in;
  float* out;
  float* scratch;
  size_t scratch_stride;
  const float* weights;
  const float* bias;
  size_t ih, iw, oh, ow;
} wino_job;

/* Rows [y0, y1) of input channel ch (of all the convolution groups' channels) zero-padded into `plane`, at
 * their own rows of the padded plane. */
static void pad_rows(const wino_job* j, size_t ch, size_t y0, size_t y1, float* plane) {
  const size_t top = (size_t)j->c->pad_top, skip = y0 > top ? XNN_MIN(y0 - top, j->ih) : 0;
  xnn_pad_plane(plane + y0 * j->p.pad_stride, y1 - y0, j->p.pad_stride, j->in + (ch * j->ih + skip) * j->iw,
                j->ih - skip, j->iw, top > y0 ? top - y0 : 0, (size_t)j->c->pad_left);
}

/* The input transform of channel c (of its convolution group) for a block's tiles t0 .. t0 + count - 1
 * into V (operands v_stride floats apart), in runs of tiles that share a tile row and a column panel; on
 * maps of at most 7 tiles a row, two whole tile rows a call where the set has that kernel (16 lanes of
 * AVX-512 held 7 or 4 tiles one row at a time). Zen 4, one layer alone: 28x28 128 -> 128 0.648 -> 0.619 ms
 * at one thread, 0.368 -> 0.343 at two (each thread transforms every input channel there); 14x14 256 -> 256
 * 0.797 -> 0.751 and 0.443 -> 0.411. */
static void transform_channel(const wino_job* j, const float* plane, size_t c, size_t t0, size_t count,
                              const xnn_f32_gemm_tile* tiles, size_t ntiles, float* v, size_t v_stride) {
  const wino_plan* p = &j->p;
  const size_t ic = (size_t)(j->c->cin / j->c->group), T = p->tile;
  const xnn_f32_wino43_input_fn input = T == 2 ? j->k->wino23_input : j->k->wino43_input;
  const xnn_f32_wino43_input_rows2_fn rows2 = T == 4 && p->tiles_x <= 7 ? j->k->wino43_input_rows2 : NULL;
  for (size_t i = 0, s = 0; i < ntiles; s += tiles[i++].nr) {
    const size_t w = xnn_f32_gemm_tile_ld(tiles[i]), end = XNN_MIN(count, s + tiles[i].nr);
    for (size_t l = s; l < end;) {
      const size_t t = t0 + l, ty = t / p->tiles_x, tx = t % p->tiles_x;
      if (rows2 && tx == 0 && l + 2 * p->tiles_x <= end) {
        const float* patch = plane + ty * T * p->pad_stride;
        rows2(patch, patch + T * p->pad_stride, p->pad_stride, p->tiles_x, v + s * ic + c * w + (l - s), v_stride);
        l += 2 * p->tiles_x;
        continue;
      }
      const size_t run = XNN_MIN(XNN_MIN(end - l, p->tiles_x - tx), (size_t)XNN_WINO43_TILES);
      input(plane + ty * T * p->pad_stride + tx * T, p->pad_stride, run, v + s * ic + c * w + (l - s), v_stride);
      l += run;
    }
  }
}

static void tile_task(void* ctx, size_t thread, size_t index) {
  const wino_job* j = ctx;
  const wino_plan* p = &j->p;
  const size_t ic = (size_t)(j->c->cin / j->c->group), oc = (size_t)(j->c->num_output / j->c->group);
  const size_t mr = j->k->gemm.mr;
  const size_t per_group = p->n_blocks * p->m_groups, cg = index / per_group;
  const size_t block = index % per_group / p->m_groups, group = index % p->m_groups;
  /* Convolution group cg: its input planes, output planes, weights and bias. */
  float* out = j->out + cg * oc * j->oh * j->ow;
  const float* bias = j->bias + cg * oc;
  const size_t t0 = block * p->nb, count = block + 1 == p->n_blocks ? p->tiles - t0 : p->nb;
  const xnn_f32_gemm_config* gc = &j->k->gemm;
  const size_t nbp = xnn_f32_gemm_packed_width(gc, count);
  float* v = j->scratch + thread * j->scratch_stride;
  float* m = v + p->v_floats;
  float* plane = m + p->m_floats;
  const size_t v_stride = ic * nbp + SKEW; /* between the operands */
  xnn_f32_gemm_tile tiles[256 / 4 + 32]; /* a block has at most 256 tiles (columns) */
  const size_t ntiles = xnn_f32_gemm_panels(gc, count, tiles);
  size_t tail_start;
  const xnn_f32_gemm_tail_ukernel_fn tail = xnn_f32_gemm_block_tail(gc, tiles, ntiles, &tail_start);
  const size_t tail_nr = tiles[ntiles - 1].nr;

  const size_t T = p->tile, E = p->e;
  const xnn_f32_wino43_output_fn output = T == 2 ? j->k->wino23_output : j->k->wino43_output;
  /* The padded rows the block's tiles read; the rest of the plane (and the slack past it, read only into
   * lanes that are not stored) zero. */
  const size_t y0 = t0 / p->tiles_x * T, y1 = XNN_MIN((t0 + count - 1) / p->tiles_x * T + T + 2, p->pad_rows);
  memset(plane, 0, p->plane_floats * sizeof(float));
  for (size_t c = 0; c < ic; c++) {
    pad_rows(j, cg * ic + c, y0, y1, plane);
    transform_channel(j, plane, c, t0, count, tiles, ntiles, v, v_stride);
  }

  const size_t per_e = round_up(oc, mr) * ic;
  const xnn_f32_act_params identity = xnn_f32_act_identity();
  const size_t m_end = XNN_MIN(oc, (group + 1) * p->group_rows);
  for (size_t m0 = group * p->group_rows; m0 < m_end; m0 += p->mc) {
    const size_t rows = XNN_MIN(p->mc, m_end - m0);
    const size_t m_stride = p->mc * nbp + SKEW; /* between the products */
    for (size_t e = 0; e < E; e++) {
      const float* a = j->weights + (cg * E + e) * per_e;
      const float* b = v + e * v_stride;
      /* K in chunks of up to 512: the weights of a 7x7 map's layer come from memory for 16 columns, and
       * a tile's call then reads its panel's 16 KB in one run, the panels one after another. In chunks of
       * 256 (8 KB runs 16 KB apart) ResNet-50's 7x7 512 -> 512 layers took 1.78 ms on Zen 4, in one 1.45
       * (0.94 -> 0.78 at two threads); the network 2% faster, the other models level. */
      for (size_t k0 = 0; k0 < ic; k0 += 512) {
        const size_t kc = XNN_MIN((size_t)512, ic - k0);
        /* Never LAST: the products are stored as they are (bias and activation come after the output
         * transform), so the tiles skip their activation epilogue. */
        const uint32_t flags = k0 ? XNN_GEMM_ACCUMULATE : 0;
        for (size_t r = 0; r < rows; r += mr) {
          for (size_t i = 0, s = 0; i < ntiles - (tail != NULL); s += tiles[i++].nr) {
            const xnn_f32_gemm_tile t = tiles[i];
            const size_t ld = xnn_f32_gemm_tile_ld(t);
            t.ukernel(XNN_MIN(mr, rows - r), XNN_MIN(t.nr, count - s), kc, a + (m0 + r) * ic + k0 * mr,
                      b + s * ic + k0 * ld, ld, m + e * m_stride + r * nbp + s, nbp, NULL, &identity,
                      flags | (i == 0 ? XNN_GEMM_STREAM_A : 0));
          }
          const size_t tr = tail ? xnn_f32_gemm_tail_rows(r, 0, rows, mr) : SIZE_MAX;
          if (tr != SIZE_MAX)
            tail(XNN_MIN(2 * mr, rows - tr), count - tail_start, kc, a + (m0 + tr) * ic + k0 * mr, mr * ic,
                 b + tail_start * ic + k0 * tail_nr, tail_nr, m + e * m_stride + tr * nbp + tail_start, nbp, NULL,
                 &identity, flags);
        }
      }
    }
    /* Output transform, same runs of tiles; on maps of at most 8 tiles a row, whole tile rows as many as
     * fill 16 lanes a call where the set has that kernel (one row a call, a 14x14 map's 4 tiles left 12 of
     * 16 lanes idle). */
    const xnn_f32_wino43_output_rows_fn rows_fn = T == 4 && p->tiles_x <= 8 ? j->k->wino43_output_rows : NULL;
    for (size_t r = 0; r < rows; r++) {
      const size_t o = m0 + r;
      float* plane = out + o * j->oh * j->ow;
      for (size_t l = 0; l < count;) {
        const size_t t = t0 + l, ty = t / p->tiles_x, tx = t % p->tiles_x;
        if (rows_fn && tx == 0 && l + 2 * p->tiles_x <= count) {
          const size_t n = XNN_MIN((count - l) / p->tiles_x, XNN_WINO43_TILES / p->tiles_x);
          rows_fn(m + r * nbp + l, m_stride, p->tiles_x, n, bias[o], plane + ty * T * j->ow, j->ow,
                  XNN_MIN(T, j->oh - (ty + n - 1) * T), XNN_MIN(p->tiles_x * T, j->ow), &j->c->act);
          l += n * p->tiles_x;
          continue;
        }
        size_t run = XNN_MIN(XNN_MIN(count - l, p->tiles_x - tx), (size_t)XNN_WINO43_TILES);
        output(m + r * nbp + l, m_stride, run, bias[o], plane + ty * T * j->ow + tx * T, j->ow,
               XNN_MIN(T, j->oh - ty * T), XNN_MIN(run * T, j->ow - tx * T), &j->c->act);
        l += run;
      }
    }
  }
}

void xnn_conv_winograd_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_conv_params* c = &n->p.conv;
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_tensor_rt* out = &ctx->tensors[n->outputs[0]];
  wino_job j;
  memset(&j, 0, sizeof(j));
  j.c = c;
  j.k = ctx->kernels;
  j.ih = (size_t)in->shape.dims[2];
  j.iw = (size_t)in->shape.dims[3];
  j.oh = (size_t)out->shape.dims[2];
  j.ow = (size_t)out->shape.dims[3];
  const size_t threads = (size_t)xnn_threadpool_size(ctx->pool);
  j.p = make_plan(c, ctx->kernels, threads, j.oh, j.ow);
  j.weights = n->weights[0];
  j.bias = n->weights[1];
  j.scratch = (float*)(((uintptr_t)ctx->workspace + 63) & ~(uintptr_t)63);
  j.scratch_stride = scratch_floats(&j.p);
  for (int64_t b = 0; b < in->shape.dims[0]; b++) {
    j.in = in->data + (size_t)b * (size_t)c->cin * j.ih * j.iw;
    j.out = out->data + (size_t)b * (size_t)c->num_output * j.oh * j.ow;
    xnn_parallelize_thread(ctx->pool, tile_task, &j, (size_t)c->group * j.p.n_blocks * j.p.m_groups);
  }
}
