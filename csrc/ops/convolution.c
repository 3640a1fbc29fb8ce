/* Convolution, NCHW.
 *
 * Depthwise convolutions run one channel plane at a time. Everything else is a GEMM per group:
 * C[oc][pixel] = W[oc][cin*kh*kw] * im2col[cin*kh*kw][pixel], with the weights packed at load into
 * MR-row panels and the im2col built directly in NR-column panels, one block of output pixels per task
 * (so no full im2col buffer is ever materialized). K is cut into chunks so that a chunk of weights and
 * a panel of columns stay in cache while the micro-kernel sweeps them.
 *
 * Pruned weights may run sparse instead (chosen at load, ops/sparse.h), on the same im2col (for a 1x1
 * convolution, the input itself) packed one kernel tile of pixels at a time with all of K. */
#include <stdint.h>
#include <string.h>

#include "core/cpu.h"
#include "ops/conv_winograd.h"
#include "ops/ops.h"
#include "ops/sparse.h"

static int is_depthwise(const xnn_conv_params* c) {
  return c->group > 1 && c->group == c->cin && c->group == c->num_output;
}

static int is_pointwise(const xnn_conv_params* c) {
  return c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && c->pad_top == 0 && c->pad_left == 0 &&
         c->pad_bottom == 0 && c->pad_right == 0;
}

/* Whether a pointwise convolution's GEMM reads its input in place (ldb = pixels) instead of packing
 * column panels. Zen 4 with the AVX2 tiles, one thread: 112x112 and 56x56 layers with K = 16-144 run
 * 5-25% faster so. On 14x14 to 28x28 maps it pays when few row tiles read each column (M <= 128: 3-16%
 * faster, e.g. MobileNet v2's 28x28 384 -> 64, ResNet-50's 28x28 512 -> 128); with many (M = 512, 1024)
 * packing once cost less than every row tile hopping between K rows, and a 7x7 map's 49 columns ran
 * 9-15% slower in place whatever M. Zen 5's AVX-512 tiles read every map in place (in_place_pixels 1):
 * 28x28 256 -> 256 2.4% faster than packed, 14x14 512 -> 512 and 7x7 1024 -> 1024 1.3%; MobileNet v1
 * and v2 1% at one thread, 1-2% at two. */
static int reads_in_place(const xnn_conv_params* c, const xnn_f32_gemm_config* g, size_t pixels, size_t m) {
  if (!is_pointwise(c)) return 0;
  /* Intel's tiles read rows that start off a 64-byte line at a loss (in_place_align), but with few row
   * tiles to share each packed column the packing costs more. Intel Xeon, one layer alone, in place
   * against packed: M <= 48, SqueezeNet's 27x27 and 55x55 squeeze layers (K = 96-384) 3-25% faster; on
   * maps up to 14x14, M <= 160: its 13x13 ones 11-17%, GoogLeNet's 14x14 480 -> 16 and 7x7 832 -> 48 35%
   * and 30%, MobileNet v2's 14x14 576 -> 96 and 7x7 960 -> 160 4%. Level at M = 192-256 there, 2-4% slower
   * at 512-576; on larger maps 27x27 384 -> 64 (in the network) and 256 -> 128 were slower (+3%, +12%). */
  if (g->in_place_align > 1 && (m <= 48 || (pixels <= 196 && m <= 160))) return 1;
  if (g->in_place_align > 1 && pixels % g->in_place_align) return 0;
  /* Below in_place_pixels only where the rows are whole 64-byte lines apart: Zen 3, one thread, MobileNet
   * v2's 14x14 576 -> 96 layers 0.272 -> 0.262 ms packed, its 28x28 ones faster in place (0.41 against
   * 0.48); SqueezeNet 1.1's 27x27 layers 1-5% faster packed. */
  return pixels >= g->in_place_pixels || (pixels >= 196 && m <= 128 && pixels % 16 == 0);
}

/* Whether a sparse pointwise convolution's kernel reads its input in place (rows `pixels` apart)
 * instead of a panel packed per tile. Zen 4, MobileNet v1 with its 1x1 layers at 80% zeros, one thread,
 * both ways in one process: in place, the 112x112 layer (K = 32) ran 4-16% faster and the 56x56 one with
 * K = 64 0-12%; with K = 128 it ran 2-7% slower (packing a tile's rows keeps them in L1 while the
 * kernel reads each many times), and 14x14 and 7x7 maps (rows not whole cache lines) 29-42% slower. */
static int sparse_reads_in_place(const xnn_conv_params* c, size_t pixels, size_t kdim) {
  /* The kernels index rows in 31 bits (kernels/spmm.h). */
  return is_pointwise(c) && pixels >= 1024 && kdim <= 64 && kdim * pixels < INT32_MAX;
}

/* Blocking of one group's GEMM: M rows (oc), N pixels, K = cin/group*kh*kw. */
enum { MAX_KC = 1024 }; /* the longest K chunk */
typedef struct blocking {
  size_t m, n, k;
  size_t mr, nr;
  size_t kc;        /* K chunk */
  size_t nc;        /* pixels of the widest task block */
  size_t mc;        /* rows per task, a multiple of mr */
  size_t n_blocks, m_blocks;
  size_t panels;    /* nr-wide column panels, spread evenly over the n_blocks (block_start) */
  int rows_outer;   /* tasks numbered row block first: each thread's contiguous range of tasks is its rows */
} blocking;

static size_t round_up(size_t x, size_t q) { return (x + q - 1) / q * q; }
static size_t div_up(size_t x, size_t q) { return (x + q - 1) / q; }

static blocking make_blocking(const xnn_conv_params* c, size_t pixels, const xnn_f32_gemm_config* g,
                              size_t threads) {
  blocking b;
  b.m = (size_t)(c->num_output / c->group);
  b.n = pixels;
  b.k = (size_t)(c->cin / c->group) * (size_t)c->kh * (size_t)c->kw;
  b.mr = g->mr;
  b.nr = g->nr;
  /* A task packs one K chunk of its columns at a time (kc x nc, half the L2) and runs every weight
   * panel of its rows over it, so each weight is read once per column block: small maps (7x7, 14x14)
   * fit one block and stream their (large) weights once. K up to 1024 in one chunk: C is then written
   * once (splitting K=512 in two cost 4% on a 14x14 map), and a row panel's weights are read in one run
   * (in chunks of 512, runs of 16 KB 32 KB apart). Zen 4, one thread, chunks of 512 -> 1024: MobileNet v1's
   * 7x7 1024 -> 1024 layer 0.94 -> 0.88 ms, ResNet-50's 7x7 1024 -> 2048 one 1.93 -> 1.82, its 14x14 1024 ->
   * 256 ones 2% faster, GoogLeNet's 528-832 -> N ones 3-6%; chunks of 2048 were slower (ResNet-50's 7x7
   * 2048 -> 512 layers 0.91 -> 0.97). */
  const size_t chunks = div_up(b.k, MAX_KC);
  b.kc = XNN_MAX(div_up(b.k, chunks), (size_t)1);
  const size_t budget = xnn_cpu_l2_bytes() / 2 / sizeof(float);
  size_t nc = budget / b.kc / b.nr * b.nr;
  nc = XNN_MAX(nc, b.nr);
  nc = XNN_MIN(nc, XNN_MAX((size_t)512 / b.nr, (size_t)1) * b.nr);
  size_t n_blocks = nc >= b.n ? 1 : div_up(b.n, nc); /* one block is cut into panels with narrow tails */
  const size_t panels = div_up(b.n, b.nr);
  /* Too few pixel blocks for the threads and few rows (weights small next to the columns): cut the
   * pixels finer. Every task streams the whole (small) weights, but each pixel is packed only once, where
   * splitting the rows would pack every pixel once per row block. (Splitting the rows of the small maps
   * read in place instead, which pack nothing, measured no faster on MobileNet v2 with two threads.) */
  if (threads > 1 && n_blocks * c->group < 4 * threads && 2 * b.m <= b.n) {
    const size_t nc2 = XNN_MAX(round_up(div_up(b.n, 4 * threads), b.nr), 2 * b.nr);
    if (nc2 < nc) n_blocks = div_up(b.n, nc2);
  }
  /* Several pixel blocks: as many as a multiple of the threads, so that equal tasks end together (the
   * blocks are of equal width: block_start). ResNet-50's 28x28 maps were 512 + 272 pixels, and with two
   * threads one thread ran both wide blocks' tasks: 1.5x scaling on those layers. */
  if (threads > 1 && n_blocks > 1)
    while ((c->group * n_blocks) % threads && n_blocks < panels) n_blocks++;
  /* Too few pixel blocks to keep every thread busy to the end: split the rows too, each task packing its
   * own columns. Packing an im2col costs about as much as 16 rows of GEMM, so such tasks keep at least
   * 128 rows; a 1x1 input packs at copy speed, and one read in place packs nothing: any row panel will do
   * (GoogLeNet's 7x7 832 -> 32 and 48 layers had been cut into 48 columns and 1, slower at two threads
   * than at one). */
  const size_t m_panels = div_up(b.m, b.mr);
  const size_t min_rows = reads_in_place(c, g, pixels, b.m) ? b.mr : is_pointwise(c) ? 32 : 128;
  const size_t min_panels = XNN_MAX(min_rows / b.mr, (size_t)1);
  /* One block of equal tasks needs one task per thread; uneven blocks need more, smaller ones. */
  const size_t want = n_blocks * c->group == 1 ? threads : 2 * threads;
  size_t m_blocks = 1;
  while (threads > 1 && n_blocks * c->group * m_blocks < want && m_panels / (m_blocks * 2) >= min_panels)
    m_blocks *= 2;
  b.mc = div_up(m_panels, m_blocks) * b.mr;
  b.m_blocks = div_up(b.m, b.mc);
  /* Still fewer tasks than threads (few rows, one pixel block: SqueezeNet's squeeze layers have 16-64
   * output channels): split the pixels, each task streaming the (small) weights. Where the pixels fill
   * fewer panels than there are threads, but for a part of one (a 7x7 map's 49 = 48 + 1), the rows
   * instead, each task packing the same columns: GoogLeNet's 7x7 5x5 layers 0.156 -> 0.107 ms and
   * 0.107 -> 0.076 at two threads (one was 0.159 and 0.108). */
  if (threads > 1 && n_blocks * c->group * b.m_blocks < threads) {
    if (c->group == 1 && b.n < threads * b.nr && m_panels >= threads) {
      b.mc = div_up(m_panels, threads) * b.mr;
      b.m_blocks = div_up(b.m, b.mc);
    } else {
      n_blocks = XNN_MAX(n_blocks, XNN_MIN(threads, panels));
    }
  }
  /* A pointwise layer split by rows and pixels, at least as many input as output channels: each thread its
   * range of the rows over all pixels, so that it streams half the weights and packs each column once,
   * where a column block's range of tasks streamed all the weights and packed its columns once per row
   * block. Zen 3, two threads: MobileNet v1's 14x14 512 -> 512 layers 0.593 -> 0.575 ms, the network 2%
   * faster; ResNet-50 level (its 256 -> 1024 layers, where the columns are the smaller part, lost as
   * much as its 1024 -> 256 ones gained, so they stay as they were). */
  b.rows_outer = threads > 1 && is_pointwise(c) && b.m_blocks > 1 && b.k >= b.m;
  /* A layer that widens the map for a depthwise one (MobileNet v2's expand layers) on maps up to 28x28:
   * each thread its range of the rows, all pixels, which the depthwise layer (split by channels) then reads
   * from its own core. Reading all the input's pixels, half of them written by the other core, costs less
   * than the depthwise layer reading half of the (wider) output so: MobileNet v2's 28x28 and 14x14
   * depthwise layers 0.039 -> 0.020 ms, 0.062 -> 0.047, their expand layers +0.003 or level; on 56x56 maps
   * the expand layers lost more (0.082 -> 0.102) than the depthwise ones gained. 1.2-1.5% on the network
   * at two threads (Intel Xeon). Before a stride-2 depthwise layer, which reads its whole input for a
   * quarter as many outputs, 56x56 maps too: MobileNet v2's 56x56 -> 28x28 depthwise layer 0.052 -> 0.028
   * ms, its expand layer 0.088 -> 0.094 (a stride-1 one, which splits by rows after a layer split by
   * pixels, gained 0.016 where its expand layer lost 0.019). */
  if (threads > 1 && c->feeds_depthwise && c->group == 1 && b.m >= 2 * b.k && m_panels >= threads &&
      (pixels <= 1024 || (c->feeds_depthwise == 2 && pixels <= 4096))) {
    b.mc = div_up(m_panels, threads) * b.mr;
    b.m_blocks = div_up(b.m, b.mc);
    n_blocks = nc >= b.n ? 1 : div_up(b.n, nc);
    b.rows_outer = 1;
  }
  /* A strided 1x1 layer (ResNet's downsampling ones) gathers its columns from every other row and column of
   * its input, which costs more than a copy: each thread its range of the pixels with all the rows, so that
   * no column is gathered twice, where the rules above would split the rows of its 14x14 maps and the rows
   * and pixels of its 28x28 ones. ResNet-50 at two threads, per-layer minima: res4a_branch2a (14x14 512 ->
   * 256) 0.243 -> 0.200 ms, res4a_branch1 (-> 1024) 0.672 -> 0.622, res3a_branch1 (28x28 256 -> 512) 0.638 ->
   * 0.601. Not on a 7x7 map (49 columns: halves of one panel each, and the 8 MB of res5a_branch1's weights
   * read by both threads: 0.77 -> 1.23 ms). */
  if (threads > 1 && c->group == 1 && c->kh == 1 && c->kw == 1 && (c->sh > 1 || c->sw > 1) && !b.rows_outer &&
      panels >= 2 * threads) {
    n_blocks = round_up(XNN_MAX(n_blocks, threads), threads);
    b.mc = round_up(b.m, b.mr);
    b.m_blocks = 1;
  }
  b.n_blocks = n_blocks;
  b.panels = panels;
  b.nc = XNN_MIN(div_up(panels, n_blocks) * b.nr, b.n);
  return b; /* nc <= 512 throughout: a block's segments fit gemm_task's fixed array */
}

/* Threads a convolution splits K over (1: none). Where each thread wrote a range of the input's channels (a
 * depthwise layer or a pool before it, or a layer split by rows), each computes the whole output from its
 * own channels, reading only what its core wrote, into its own partial sum; the partials are then added
 * and the activation applied (ksplit_sum). Split by pixels or rows, each thread read the channels the other
 * core wrote. Intel Xeon, two threads: MobileNet v2's 28x28 384 -> 64 project layers 0.174 -> 0.138-0.144
 * ms (0.27 at one thread), the network 6-7% faster; ResNet-50's 14x14 1024 -> 256 layers 0.37-0.38 ->
 * 0.35, the network 2%, and its 14x14 -> 7x7 1024 -> 512 one 0.28 -> 0.22; after a pool, SqueezeNet's
 * 13x13 squeeze layers 0.032 -> 0.022 and 0.065 -> 0.044 ms; MobileNet v2's 7x7 960 -> 320 layer 0.111 ->
 * 0.102. Only where the output is at most a third of the input (the partials are the output's size, and
 * their sum then costs about what reading the other core's channels did: MobileNet v1's 512 -> 512 layers
 * lost 2%, GoogLeNet's 28x28 192 -> 96 one 0.09 -> 0.105 ms) and the partials stay within a quarter of L2
 * for the sum (MobileNet v2's 112x112 32 -> 16 layer, 800 KB of them: 0.090 ms split by pixels, 0.097 by
 * K). */
static size_t splits_k(const xnn_conv_params* c, size_t pixels, size_t in_pixels, int input_by_channels,
                       size_t threads) {
  const size_t partial_bytes = (threads - 1) * (size_t)c->num_output * pixels * sizeof(float);
  if (threads < 2 || !input_by_channels || c->group != 1 ||
      3 * (size_t)c->num_output * pixels > (size_t)c->cin * in_pixels || c->algo != XNN_CONV_GEMM ||
      (size_t)c->cin < threads || partial_bytes > xnn_cpu_l2_bytes() / 4)
    return 1;
  return threads;
}

/* First pixel of column block nb: the blocks are whole nr-panels, as many each as can be. */
static size_t block_start(const blocking* b, size_t nb) { return b->nr * (nb * b->panels / b->n_blocks); }

static size_t packed_b_floats(const blocking* b, const xnn_f32_gemm_config* g) {
  return xnn_f32_gemm_packed_width_max(g, b->nc) * b->kc;
}

static int pads(const xnn_conv_params* c) {
  return c->pad_top || c->pad_left || c->pad_bottom || c->pad_right;
}

/* Floats of the zero-padded copy of the input (all channels), 0 when the convolution does not pad. */
static size_t padded_floats(const xnn_conv_params* c, size_t ih, size_t iw) {
  if (!pads(c)) return 0;
  return (size_t)c->cin * (ih + (size_t)c->pad_top + (size_t)c->pad_bottom) *
         (iw + (size_t)c->pad_left + (size_t)c->pad_right);
}

/* A 1x1 convolution that pads (SqueezeNet 1.0's last layer, 13x13 -> 15x15 with 1000 channels): its border
 * is the activated bias alone, so the GEMM runs on the unpadded problem into scratch, and the output is
 * that scratch in a frame of the activated bias (frame_channel): the GEMM a third smaller there. */
static int frames_pointwise(const xnn_conv_params* c) {
  return c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && pads(c) && c->group == 1 && !c->residual &&
         c->algo == XNN_CONV_GEMM;
}

static xnn_conv_params unpadded(const xnn_conv_params* c) {
  xnn_conv_params u = *c;
  u.pad_top = u.pad_left = u.pad_bottom = u.pad_right = 0;
  return u;
}

/* The 3x3 depthwise kernel for this geometry, or NULL for the general one. */
static xnn_f32_dwconv3x3_fn dw3x3_kernel(const xnn_conv_params* c, const xnn_kernels* k) {
  if (c->kh != 3 || c->kw != 3 || c->dh != 1 || c->dw != 1 || c->sh != c->sw) return NULL;
  return c->sh == 1 ? k->dwconv3x3s1 : c->sh == 2 ? k->dwconv3x3s2 : NULL;
}

/* The unpadded 3x3 depthwise kernel for this geometry (padding 1 on every side), or NULL. */
static xnn_f32_dwconv3x3p1_fn dw3x3p1_kernel(const xnn_conv_params* c, const xnn_kernels* k) {
  if (!XNN_DWCONV3X3P1 || c->kh != 3 || c->kw != 3 || c->dh != 1 || c->dw != 1 || c->sh != c->sw || c->pad_top != 1 ||
      c->pad_left != 1 || c->pad_bottom != 1 || c->pad_right != 1)
    return NULL;
  return c->sh == 1 ? k->dwconv3x3p1s1 : c->sh == 2 ? k->dwconv3x3p1s2 : NULL;
}

/* Row bands of a 3x3 depthwise layer split by rows, or 1 where it splits by channels. Where its input was
 * written by pixels (a pointwise layer split by columns, the first layer's direct kernel), each thread
 * then reads the rows its own core wrote, and its output is by rows for the next layer: split by
 * channels, each thread read half its channels' rows from the other core. Intel Xeon, two threads, per-layer
 * minima: MobileNet v2's 112x112 32-channel layer 0.082-0.086 -> 0.064-0.069 ms and the 32 -> 16 layer
 * after it 0.055-0.065 -> 0.051-0.055; MobileNet v1's 56x56 128 -> 128 layer after its depthwise one 0.342
 * -> 0.324 (the networks level within the noise of whole runs). Not where a narrowing 1x1
 * layer reads its output (by channels, that one splits K and reads its own core's channels: MobileNet
 * v2's 56x56 144 -> 24 layer lost more than its depthwise layer gained), nor at stride 2 (MobileNet v2's
 * 56x56 -> 28x28 one, the same). */
static size_t dw_row_bands(const xnn_conv_params* c, const xnn_op_plan* plan, size_t oh) {
  return plan->num_threads > 1 && !plan->input_by_channels && c->sh == 1 && !c->feeds_narrowing &&
                 oh >= 8 * plan->num_threads
             ? plan->num_threads
             : 1;
}

/* The direct kernel for a network's first layer (few input channels, stride 2), or NULL for the GEMM. It
 * spares the padded copy and the strided im2col but runs its FMAs less densely (a weight broadcast per two
 * or three FMAs; with a 3x3 kernel over 3 channels, K = 27, each tile's bias, activation and stores are a
 * large share). Zen 5, the 8 x 32 kernel before the present one, in the networks, one thread: 7x7 layers
 * ran 3-10% faster (SqueezeNet 1.0's 96 output channels to ResNet-50's and GoogLeNet's 64), MobileNet's 3x3
 * to 32 channels 25%, but SqueezeNet 1.1's unpadded 3x3 to 64 channels 2% slower (4% with the kernel's
 * split rows: 0.222 against 0.213 ms). With more input channels the im2col is a smaller share of the work. */
static xnn_f32_conv_chw_s2_fn chw_s2_kernel(const xnn_conv_params* c, const xnn_kernels* k, int pooled) {
  if (!XNN_CONV_CHW_S2 || !k->conv_chw_s2 || c->algo != XNN_CONV_GEMM || c->group != 1 ||
      c->residual || c->cin > 4 || c->kh > 7 || c->sh != 2 || c->sw != 2 || c->dh != 1 || c->dw != 1 ||
      (c->kw != 3 && c->kw != 5 && c->kw != 7))
    return NULL;
  /* In a pair with its max pool (`pooled`, chw_pool_job), its output staying in L2, it wins there too. */
  if (c->kw == 3 && c->num_output > 32 && !pooled) return NULL;
  return k->conv_chw_s2;
}

/* Floats of one zero-padded input plane for the 3x3 depthwise kernels. */
static size_t dw_padded_stride(const xnn_conv_params* c, size_t iw) {
  return iw + (size_t)c->pad_left + (size_t)c->pad_right + 1;
}

static size_t dw_padded_floats(const xnn_conv_params* c, size_t ih, size_t iw) {
  return (ih + (size_t)c->pad_top + (size_t)c->pad_bottom + 1) * dw_padded_stride(c, iw) + XNN_DWCONV_EXTRA;
}

static size_t kdim_of(const xnn_conv_params* c) {
  return (size_t)(c->cin / c->group) * (size_t)c->kh * (size_t)c->kw;
}

/* Bytes of the im2col paths' scratch (im2col_scratch): per_thread floats for each thread, and the padded input. */
static size_t im2col_workspace(size_t per_thread, size_t padded, const xnn_op_plan* plan) {
  return plan->num_threads * (per_thread * sizeof(float) + 64) + padded * sizeof(float) + 64;
}

static xnn_status conv_reshape(const xnn_node* n, xnn_tensor_rt* t, xnn_op_plan* plan) {
  const xnn_conv_params* c = &n->p.conv;
  const xnn_shape* in = &t[n->inputs[0]].shape;
  char buf[128];
  if (in->ndim != 4) return xnn_shape_error("input must be 4-D NCHW, got %s", xnn_shape_str(in, buf, sizeof(buf)));
  if (in->dims[1] != c->cin)
    return xnn_shape_error("input has %lld channels, the weights expect %d", (long long)in->dims[1], c->cin);
  const int64_t ekh = (int64_t)c->dh * (c->kh - 1) + 1, ekw = (int64_t)c->dw * (c->kw - 1) + 1;
  const int64_t ph = in->dims[2] + c->pad_top + c->pad_bottom, pw = in->dims[3] + c->pad_left + c->pad_right;
  if (ph < ekh || pw < ekw)
    return xnn_shape_error("input %s is smaller than the %dx%d kernel (dilation %dx%d)",
                           xnn_shape_str(in, buf, sizeof(buf)), c->kh, c->kw, c->dh, c->dw);
  xnn_shape* out = &t[n->outputs[0]].shape;
  out->ndim = 4;
  out->dims[0] = in->dims[0];
  out->dims[1] = c->num_output;
  out->dims[2] = (ph - ekh) / c->sh + 1;
  out->dims[3] = (pw - ekw) / c->sw + 1;
  if (c->residual) {
    const xnn_shape* r = &t[n->inputs[1]].shape;
    char buf2[128];
    int same = r->ndim == 4;
    for (int i = 0; same && i < 4; i++) same = r->dims[i] == out->dims[i];
    if (!same)
      return xnn_shape_error("the Eltwise SUM fused into it adds a %s tensor to a %s output",
                             xnn_shape_str(r, buf, sizeof(buf)), xnn_shape_str(out, buf2, sizeof(buf2)));
  }
  const int64_t kdim = (int64_t)(c->cin / c->group) * c->kh * c->kw;
  plan->macs = xnn_mul_sat(xnn_mul_sat(out->dims[0] * c->num_output, out->dims[2] * out->dims[3]), kdim);
  plan->workspace_bytes = 0;
  const size_t padded = padded_floats(c, (size_t)in->dims[2], (size_t)in->dims[3]);
  if (c->algo == XNN_CONV_SPARSE) {
    size_t tile;
    xnn_sparse_kernel(plan->kernels, kdim_of(c), (size_t)c->sparse_block, &tile);
    plan->workspace_bytes = im2col_workspace(kdim_of(c) * tile, padded, plan);
  } else if (c->algo == XNN_CONV_WINOGRAD) {
    plan->workspace_bytes =
        xnn_conv_winograd_workspace(c, plan->kernels, plan->num_threads, (size_t)out->dims[2], (size_t)out->dims[3]);
  } else if ((is_depthwise(c) && dw3x3p1_kernel(c, plan->kernels)) || chw_s2_kernel(c, plan->kernels, 0)) {
    plan->workspace_bytes = 0;
    plan->output_by_channels = is_depthwise(c) && dw_row_bands(c, plan, (size_t)out->dims[2]) == 1;
  } else if (is_depthwise(c) && dw3x3_kernel(c, plan->kernels)) {
    plan->workspace_bytes =
        plan->num_threads * (dw_padded_floats(c, (size_t)in->dims[2], (size_t)in->dims[3]) * sizeof(float) + 64);
    plan->output_by_channels = 1;
  } else if (frames_pointwise(c)) {
    const xnn_conv_params u = unpadded(c);
    const size_t inner = (size_t)(in->dims[2] * in->dims[3]);
    const blocking b = make_blocking(&u, inner, &plan->kernels->gemm, plan->num_threads);
    plan->workspace_bytes = im2col_workspace(packed_b_floats(&b, &plan->kernels->gemm), 0, plan) +
                            round_up((size_t)c->num_output * inner, 16) * sizeof(float);
  } else if (!is_depthwise(c)) {
    const size_t pixels = (size_t)(out->dims[2] * out->dims[3]);
    const size_t ks = splits_k(c, pixels, (size_t)(in->dims[2] * in->dims[3]), plan->input_by_channels,
                               plan->num_threads);
    const blocking b = make_blocking(c, pixels, &plan->kernels->gemm, ks > 1 ? 1 : plan->num_threads);
    plan->workspace_bytes = im2col_workspace(packed_b_floats(&b, &plan->kernels->gemm), padded, plan) +
                            (ks - 1) * (size_t)c->num_output * pixels * sizeof(float) + 64;
    plan->output_by_channels = ks > 1 || b.rows_outer || (b.n_blocks == 1 && b.m_blocks >= plan->num_threads);
    plan->input_shared = plan->num_threads > 1 && ks == 1 && plan->output_by_channels;
  } else {
    plan->output_by_channels = 1; /* dw_channel */
  }
  return XNN_OK;
}

static xnn_status conv_pack(xnn_node* n, const xnn_kernels* k) {
  xnn_conv_params* c = &n->p.conv;
  if (c->algo == XNN_CONV_WINOGRAD) return xnn_conv_winograd_pack(n, k);
  if (c->algo == XNN_CONV_SPARSE)
    return xnn_sparse_pack(n, 0, (size_t)c->num_output, kdim_of(c), (size_t)c->sparse_block, c->has_bias ? 1 : -1,
                           "");
  if (is_depthwise(c)) return XNN_OK;
  const size_t mr = k->gemm.mr, mg = (size_t)(c->num_output / c->group);
  const size_t kdim = kdim_of(c);
  const size_t rows = round_up(mg, mr) * (size_t)c->group;
  float* a = xnn_alloc_aligned(rows * kdim * sizeof(float));
  float* bias = xnn_alloc_aligned(rows * sizeof(float));
  if (!a || !bias) {
    xnn_free_aligned(a);
    xnn_free_aligned(bias);
    return xnn_error(XNN_ERROR_OUT_OF_MEMORY, "out of memory packing weights");
  }
  for (int32_t g = 0; g < c->group; g++)
    xnn_pack_f32_gemm_a(mg, kdim, mr, n->weights[0] + (size_t)g * mg * kdim, kdim,
                        c->has_bias ? n->weights[1] + (size_t)g * mg : NULL, a + (size_t)g * round_up(mg, mr) * kdim,
                        bias + (size_t)g * round_up(mg, mr));
  xnn_free_aligned(n->weights[0]);
  xnn_free_aligned(n->weights[1]);
  n->weights[0] = a;
  n->weights[1] = bias;
  n->weight_size[0] = (int64_t)(rows * kdim);
  n->weight_size[1] = (int64_t)rows;
  n->num_weights = 2;
  return XNN_OK;
}

typedef struct conv_job {
  const xnn_node* n;
  const xnn_conv_params* c;
  const xnn_kernels* k;
  const float* in; /* one image */
  float* out;      /* one image */
  const float* weights;
  const float* bias;
  float* workspace;
  size_t workspace_stride; /* floats per thread */
  size_t ih, iw, oh, ow;
  blocking b;
  xnn_sparse_split split;
  xnn_f32_spmm_ukernel_fn spmm;
  size_t spmm_tile;
  xnn_f32_dwconv3x3_fn dw3x3;
  xnn_f32_dwconv3x3p1_fn dw3x3p1;
  size_t bands; /* dw_row_bands */
  xnn_f32_conv_chw_s2_fn chw_s2;
  /* GEMM path: the input as the packing reads it, zero-padded once per image when the convolution pads
   * (then every tap of every output pixel is inside the plane, with no bounds to check). */
  const float* src;
  float* padded;
  size_t ph, pw;
  const float* residual; /* one image, or NULL */
  float* framed;         /* frames_pointwise: the output image, framed from `out` (the GEMM's scratch) */
  size_t ksplit;  /* splits_k */
  float* partial; /* ksplit - 1 output images of partial sums */
} conv_job;

static void pad_channel(void* ctx, size_t ch) {
  const conv_job* j = ctx;
  xnn_pad_plane(j->padded + ch * j->ph * j->pw, j->ph, j->pw, j->in + ch * j->ih * j->iw, j->ih, j->iw,
                (size_t)j->c->pad_top, (size_t)j->c->pad_left);
}

/* A run of a block's pixels inside one output row and one column panel: where it goes in the packed
 * chunk (for k row p of a kc-row chunk: dst + start * kc + p * width + q) and where its first pixel's
 * window starts in the plane. */
typedef struct segment {
  uint32_t start, width, q, len;
  size_t src;
} segment;

/* Blocks have at most 512 columns: full panels (at least 4 wide), then fewer tail tiles than NR (<= 32);
 * at most one segment per column plus one per panel. */
enum { MAX_PANELS = 512 / 4 + 32, MAX_SEGMENTS = 512 + MAX_PANELS };

/* The block's segments, the same for every K chunk; returns their number. */
static size_t make_segments(const conv_job* j, size_t n0, size_t cols, const xnn_f32_gemm_tile* tiles,
                            size_t ntiles, segment* seg) {
  const xnn_conv_params* c = j->c;
  /* Pointwise: the plane is the output grid, one run per panel. */
  const int contiguous = is_pointwise(c);
  size_t count = 0, oy = n0 / j->ow, ox = n0 % j->ow;
  for (size_t i = 0, s = 0; i < ntiles; s += tiles[i++].nr) {
    const xnn_f32_gemm_tile t = tiles[i];
    const size_t len = XNN_MIN((size_t)t.nr, cols - s);
    for (size_t q = 0; q < len;) {
      const size_t run = contiguous ? len - q : XNN_MIN(len - q, j->ow - ox);
      const size_t src = contiguous ? n0 + s + q : oy * (size_t)c->sh * j->pw + ox * (size_t)c->sw;
      seg[count++] = (segment){(uint32_t)s, (uint32_t)xnn_f32_gemm_tile_ld(t), (uint32_t)q, (uint32_t)run, src};
      q += run;
      if (!contiguous && (ox += run) == j->ow) ox = 0, oy++;
    }
  }
  return count;
}

/* Packs rows [k0, k0 + kc) of group g's im2col for the block's segments into the GEMM family's column
 * panels (the panel starting at block column s holds kc groups of its width at dst + s * kc); the
 * columns past the block's end in its last panel are zero. */
static void pack_columns(const conv_job* j, size_t g, const segment* seg, size_t nseg, size_t cols, size_t k0,
                         size_t kc, size_t origin, float* dst) {
  const xnn_conv_params* c = j->c;
  const size_t cin_g = (size_t)(c->cin / c->group), plane = j->ph * j->pw;
  const float* in = j->src + g * cin_g * plane;
  const size_t sw = (size_t)c->sw;
  const size_t width = xnn_f32_gemm_packed_width(&j->k->gemm, cols);
  if (width > cols) {
    const segment* last = &seg[nseg - 1];
    for (size_t p = 0; p < kc; p++)
      for (size_t q = last->q + last->len; q < last->width; q++)
        dst[(last->start - origin) * kc + p * last->width + q] = 0.0f;
  }
  /* Where each K row's window starts in the plane, for the first pixel of the block's grid. */
  size_t offsets[MAX_KC];
  if (kc > MAX_KC) return; /* unreachable: make_blocking keeps kc <= MAX_KC */
  size_t ic = k0 / ((size_t)c->kh * (size_t)c->kw), ky = k0 / (size_t)c->kw % (size_t)c->kh, kx = k0 % (size_t)c->kw;
  for (size_t p = 0; p < kc; p++) {
    offsets[p] = ic * plane + ky * (size_t)c->dh * j->pw + kx * (size_t)c->dw;
    if (++kx == (size_t)c->kw) {
      kx = 0;
      if (++ky == (size_t)c->kh) ky = 0, ic++;
    }
  }
  for (size_t i = 0; i < nseg; i++)
    j->k->im2col_panel(kc, seg[i].len, in + seg[i].src, offsets, sw, dst + (seg[i].start - origin) * kc + seg[i].q,
                       seg[i].width);
}

/* Where the block's tiles that cannot read B in place start, else `cols`: a partial last tile (its
 * columns run past the block), a one-column tile (the GEMV reads x contiguous: in place, every row
 * tile would gather the column anew, where packing gathers it once) and a tail tile (a few values of
 * each K row, each row on lines of its own in place). */
static size_t first_packed_tile(const xnn_f32_gemm_tile* tiles, size_t ntiles, size_t cols) {
  for (size_t i = 0, s = 0; i < ntiles; s += tiles[i++].nr)
    if (s + tiles[i].nr > cols || tiles[i].nr == 1 || !tiles[i].ukernel) return s;
  return cols;
}

/* One task's block: group g, column block nb, row block mb, K rows [ka, kb), into out (NULL bias: none);
 * `last` (XNN_GEMM_LAST or 0) on the last K chunk: whether the activation is applied. */
static void gemm_block(const conv_job* j, size_t thread, size_t g, size_t nb, size_t mb, size_t ka, size_t kb,
                       float* out, const float* residual, const float* bias, uint32_t last) {
  const blocking* b = &j->b;
  const size_t n0 = block_start(b, nb), cols = XNN_MIN(block_start(b, nb + 1), b->n) - n0;
  const size_t m0 = mb * b->mc, rows = XNN_MIN(b->mc, b->m - m0);
  float* packed = j->workspace + thread * j->workspace_stride;

  const size_t mr = b->mr, kdim = b->k, pixels = b->n;
  const size_t mg_padded = round_up(b->m, mr);
  const float* wg = j->weights + g * mg_padded * kdim;
  const float* bg = bias ? bias + g * mg_padded : NULL;
  float* og = out + g * b->m * pixels + n0;
  segment seg[MAX_SEGMENTS];
  xnn_f32_gemm_tile tiles[MAX_PANELS];
  if (cols > 512) return; /* unreachable: make_blocking keeps nc <= 512 */
  const size_t ntiles = xnn_f32_gemm_panels(&j->k->gemm, cols, tiles);
  const size_t nseg = make_segments(j, n0, cols, tiles, ntiles, seg);
  const float* rg = residual ? residual + g * b->m * pixels + n0 : NULL;
  /* Output stored over the residual (xnn_op_in_place_input): C already holds it, and where the config's
   * tiles can, they add the bias as they load it (XNN_GEMM_ADD_BIAS), with no pass of its own: ResNet-50
   * and MobileNet v2 0.6-1% faster than with the vaddc pass below. */
  const int bias_in_tiles = rg && residual == out && j->k->gemm.add_bias;
  /* A pointwise convolution's B is its input, [K][pixels]: where it is read in place (reads_in_place),
   * every tile whose columns all exist reads it there (ldb = pixels), and only the last tiles are
   * packed (first_packed_tile). */
  const int in_place = reads_in_place(j->c, &j->k->gemm, pixels, b->m);
  const size_t packed_from = in_place ? first_packed_tile(tiles, ntiles, cols) : 0;
  size_t first_packed = 0;
  while (first_packed < nseg && seg[first_packed].start < packed_from) first_packed++;
  const float* plane = j->src + g * kdim * pixels + n0;
  size_t tail_start;
  const xnn_f32_gemm_tail_ukernel_fn tail = xnn_f32_gemm_block_tail(&j->k->gemm, tiles, ntiles, &tail_start);
  /* Few rows (SqueezeNet's squeeze layers, 16-64 output channels) over packed columns: each panel is
   * packed just before its row tiles run on it, from L1, instead of the block's whole chunk being packed
   * first and read back from L2 by every row tile. Intel Xeon, one thread, per-layer minima: SqueezeNet
   * 1.0's eight squeeze layers 3-8% faster each, 0.06 ms in all; level at two threads, on SqueezeNet 1.1 and
   * on GoogLeNet's reduce layers. */
  const int by_panel = !in_place && rows <= 64 && !(rg && !bias_in_tiles);
  for (size_t k0 = ka; k0 < kb; k0 += b->kc) {
    const size_t kc = XNN_MIN(b->kc, kb - k0);
    const uint32_t flags = (k0 > ka || residual ? XNN_GEMM_ACCUMULATE : 0) | (k0 + kc == kb ? last : 0) |
                           (k0 == ka && bias_in_tiles ? XNN_GEMM_ADD_BIAS : 0);
    /* Tiles [i0, i1) from column s0, packed from column `origin` (s0 by panel, else 0: the whole chunk). */
    for (size_t i0 = 0, s0 = 0, g0 = first_packed; i0 < ntiles;) {
      const size_t i1 = by_panel ? i0 + 1 : ntiles;
      size_t s1 = s0, g1 = g0;
      for (size_t i = i0; i < i1; i++) s1 += tiles[i].nr;
      while (g1 < nseg && seg[g1].start < s1) g1++;
      const size_t origin = by_panel ? s0 : 0;
      if (g0 < g1) pack_columns(j, g, seg + g0, g1 - g0, cols, k0, kc, origin, packed);
      const int has_tail = tail && i1 == ntiles;
      /* Rows outside, column panels inside (but by panel): each tile row of C is then written left to right
       * in one sweep (output rows are far apart; hopping between them per panel cost 3x on 112x112 maps),
       * and the weight sliver stays in L1 while the block's columns stream from L2. */
      for (size_t m = m0; m < m0 + rows; m += mr) {
        if (rg && k0 == 0 && !bias_in_tiles) {
          /* C starts as residual + bias, one row tile at a time just before its kernels accumulate onto it
           * from L1 (the whole block first, then the GEMM, read C back from beyond L1: with that, ResNet-50's
           * 56x56 residual layers took 1.6x onnxruntime's time, now 1.25x). The output may be stored over
           * the residual: each value is read just before it is written. */
          for (size_t r = m; r < XNN_MIN(m + mr, m0 + rows); r++)
            j->k->vaddc(cols, rg + r * pixels, bg[r], og + r * pixels);
        }
        for (size_t i = i0, s = s0; i < i1 - has_tail; s += tiles[i++].nr) {
          const xnn_f32_gemm_tile t = tiles[i];
          const int direct = s < packed_from;
          t.ukernel(XNN_MIN(mr, m0 + rows - m), XNN_MIN(t.nr, cols - s), kc, wg + m * kdim + k0 * mr,
                    direct ? plane + k0 * pixels + s : packed + (s - origin) * kc,
                    direct ? pixels : xnn_f32_gemm_tile_ld(t), og + m * pixels + s, pixels, bg ? bg + m : NULL,
                    &j->c->act, flags | (i == 0 ? XNN_GEMM_STREAM_A : 0));
        }
        const size_t r = has_tail ? xnn_f32_gemm_tail_rows(m, m0, m0 + rows, mr) : SIZE_MAX;
        if (r != SIZE_MAX)
          tail(XNN_MIN(2 * mr, m0 + rows - r), cols - tail_start, kc, wg + r * kdim + k0 * mr, mr * kdim,
               packed + (tail_start - origin) * kc, tiles[ntiles - 1].nr, og + r * pixels + tail_start, pixels,
               bg ? bg + r : NULL, &j->c->act, flags);
      }
      i0 = i1, s0 = s1, g0 = g1;
    }
  }
}

static void gemm_task(void* ctx, size_t thread, size_t index) {
  const conv_job* j = ctx;
  const blocking* b = &j->b;
  const size_t per_group = b->n_blocks * b->m_blocks;
  const size_t g = index / per_group;
  const size_t nb = b->rows_outer ? index % per_group % b->n_blocks : index % per_group / b->m_blocks;
  const size_t mb = b->rows_outer ? index % per_group / b->n_blocks : index % b->m_blocks;
  gemm_block(j, thread, g, nb, mb, 0, b->k, j->out, j->residual, j->bias, XNN_GEMM_LAST);
}

/* Part t's K rows start at the first input channel of xnn_parallelize's range t: the channels its thread
 * wrote. */
static size_t ksplit_lo(const conv_job* j, size_t t) {
  const size_t cin = (size_t)j->c->cin, taps = (size_t)j->c->kh * (size_t)j->c->kw;
  return (t * (cin / j->ksplit) + XNN_MIN(t, cin % j->ksplit)) * taps;
}

/* Part t of a K split: the output from K rows [ksplit_lo(t), ksplit_lo(t + 1)), part 0 with the bias and
 * residual into the output, the others into their partial sums; the activation waits for the sum. */
static void ksplit_task(void* ctx, size_t thread, size_t t) {
  const conv_job* j = ctx;
  const size_t plane = j->b.m * j->b.n;
  for (size_t nb = 0; nb < j->b.n_blocks; nb++)
    gemm_block(j, thread, 0, nb, 0, ksplit_lo(j, t), ksplit_lo(j, t + 1), t ? j->partial + (t - 1) * plane : j->out,
               t ? NULL : j->residual, t ? NULL : j->bias, 0);
}

/* Output row r plus the partial sums' rows r, then the activation (in row ranges: each thread reads the
 * partial rows written elsewhere only for its own range). */
static void ksplit_sum(void* ctx, size_t r) {
  const conv_job* j = ctx;
  const size_t plane = j->b.m * j->b.n, n = j->b.n;
  float* restrict y = j->out + r * n;
  for (size_t t = 1; t < j->ksplit; t++) {
    const float* restrict p = j->partial + (t - 1) * plane + r * n;
    for (size_t i = 0; i < n; i++) y[i] += p[i];
  }
  const xnn_f32_act_params* act = &j->c->act;
  if (!xnn_f32_act_is_identity(act)) j->k->vact(n, y, y, act);
}

/* A block of pixels x output channels of one group, sparse: one kernel tile of pixels at a time, its
 * im2col (for a 1x1 convolution, its input) packed first into a panel of K contiguous rows of the
 * tile's width, so that the kernel's many reads of each row hit one aligned run of cache lines; a 1x1
 * convolution on a large map reads its input in place (sparse_reads_in_place). */
static void sparse_task(void* ctx, size_t thread, size_t index) {
  const conv_job* j = ctx;
  const xnn_conv_params* c = j->c;
  const xnn_sparse_split* s = &j->split;
  const size_t per_group = s->pixel_blocks * s->channel_blocks;
  const size_t g = index / per_group, n0 = index % per_group / s->channel_blocks * s->pixel_block;
  const size_t c0 = index % s->channel_blocks * s->channel_block;
  const size_t mg = (size_t)(c->num_output / c->group), pixels = j->oh * j->ow, kdim = kdim_of(c);
  const size_t tile = j->spmm_tile, cols = XNN_MIN(s->pixel_block, pixels - n0);
  const size_t first = (g * mg + c0) * pixels + n0;
  float* panel = j->workspace + thread * j->workspace_stride;
  const xnn_f32_gemm_tile whole = {NULL, (uint32_t)tile, 0};
  segment seg[MAX_SEGMENTS];
  for (size_t q = 0; q < cols; q += tile) {
    const size_t len = XNN_MIN(tile, cols - q);
    xnn_sparse_block b = {g * mg + c0, XNN_MIN(s->channel_block, mg - c0), len, panel, tile,
                          j->out + first + q, pixels, j->residual ? j->residual + first + q : NULL};
    if (pixels == 1 && is_pointwise(c)) {
      /* A classifier on a 1x1 map: the input channels are one fully connected item's features. */
      b.in = j->in + g * kdim;
      b.in_stride = 1;
    } else if (sparse_reads_in_place(c, pixels, kdim)) {
      b.in = j->in + g * kdim * pixels + n0 + q;
      b.in_stride = pixels;
    } else {
      const size_t nseg = make_segments(j, n0 + q, len, &whole, 1, seg);
      for (size_t k0 = 0; k0 < kdim; k0 += 512)
        pack_columns(j, g, seg, nseg, len, k0, XNN_MIN((size_t)512, kdim - k0), 0, panel + k0 * tile);
    }
    xnn_sparse_run(j->n, 0, (size_t)c->num_output, (size_t)c->sparse_block, j->spmm, &b, &c->act);
  }
}

/* One output pixel (a classifier after global pooling): a matrix-vector product over the packed
 * weights, memory bound, so no column panel is padded to NR. A group's panels are cut into stripes of
 * gemv_stripes: stripe s holds panels s, s + q, s + 2q, ..., which the kernel reads as that many streams
 * (kernels/gemm.h); a thread's range of stripes then reads as many places of the weights at once. */
static size_t gemv_stripes(size_t panels) {
  return panels >= 2 * XNN_GEMV_MAX_PANELS ? (panels + XNN_GEMV_MAX_PANELS - 1) / XNN_GEMV_MAX_PANELS : panels;
}

static void gemv_stripe(void* ctx, size_t index) {
  const conv_job* j = ctx;
  const blocking* b = &j->b;
  const size_t mr = b->mr, kdim = b->k, panels = (b->m + mr - 1) / mr, q = gemv_stripes(panels);
  const size_t g = index / q, s = index % q, count = (panels - s + q - 1) / q;
  float acc[XNN_GEMV_MAX_PANELS * 32];
  j->k->gemm.gemv(mr, kdim, count, j->weights + (g * panels + s) * mr * kdim, q * mr * kdim, j->in + g * kdim, acc);
  for (size_t p = 0; p < count; p++) {
    const size_t pn = s + p * q, rows = XNN_MIN(mr, b->m - pn * mr);
    const float* bias = j->bias + (g * panels + pn) * mr;
    float* y = j->out + g * b->m + pn * mr;
    const float* r = j->residual ? j->residual + g * b->m + pn * mr : NULL;
    for (size_t i = 0; i < rows; i++)
      y[i] = xnn_f32_act_apply(acc[p * mr + i] + bias[i] + (r ? r[i] : 0.0f), &j->c->act);
  }
}

static void dw_channel(void* ctx, size_t ch) {
  const conv_job* j = ctx;
  const xnn_conv_params* c = j->c;
  const xnn_dwconv_geometry geo = {j->ih, j->iw, j->oh, j->ow, (size_t)c->kh, (size_t)c->kw, (size_t)c->sh,
                                   (size_t)c->sw, (size_t)c->dh, (size_t)c->dw, (size_t)c->pad_top,
                                   (size_t)c->pad_left};
  j->k->dwconv(&geo, j->in + ch * j->ih * j->iw, j->weights + ch * (size_t)c->kh * c->kw,
               j->bias ? j->bias[ch] : 0.0f, j->out + ch * j->oh * j->ow, &c->act);
}

/* Copies one channel plane into the thread's padded scratch and runs the 3x3 kernel on it. The scratch
 * was zeroed before the layer and only its interior is ever written, so the padding stays zero: per
 * channel only the rows are copied (on 7x7 and 14x14 maps, zeroing the border per channel took longer
 * than the convolution). */
static void dw3x3_channel(void* ctx, size_t thread, size_t ch) {
  const conv_job* j = ctx;
  const xnn_conv_params* c = j->c;
  const size_t stride = dw_padded_stride(c, j->iw), iw = j->iw;
  float* pad = j->workspace + thread * j->workspace_stride;
  const float* src = j->in + ch * j->ih * iw;
  xnn_copy_rows(pad + (size_t)c->pad_top * stride + (size_t)c->pad_left, stride, src, j->ih, iw);
  j->dw3x3(j->oh, j->ow, pad, stride, j->weights + ch * 9, j->bias ? j->bias[ch] : 0.0f,
           j->out + ch * j->oh * j->ow, &c->act);
}

/* Item i: channel i % cin over band i / cin of dw_row_bands' bands, the bands in order. */
static void dw3x3p1_band(void* ctx, size_t i) {
  const conv_job* j = ctx;
  /* One band: no division (a 7x7 plane takes about 100 cycles, and a band's four divisions a third of it). */
  size_t ch = i, y0 = 0, y1 = j->oh;
  if (j->bands > 1) {
    const size_t cin = (size_t)j->c->cin, band = i / cin;
    ch = i % cin;
    y0 = band * j->oh / j->bands;
    y1 = (band + 1) * j->oh / j->bands;
  }
  j->dw3x3p1(j->ih, j->iw, j->in + ch * j->ih * j->iw, j->weights + ch * 9, j->bias ? j->bias[ch] : 0.0f,
             j->out + ch * j->oh * j->ow, y0, y1, &j->c->act);
}

/* Two output rows, every panel of output channels: a panel's weights stay in L1 across the rows' tiles, and
 * the few input rows they read across the panels. */
static xnn_conv_chw_geometry chw_geometry(const xnn_conv_params* c, size_t ih, size_t iw, size_t oh, size_t ow) {
  return (xnn_conv_chw_geometry){(size_t)c->cin, ih, iw, oh, ow, (size_t)c->kh, (size_t)c->kw, (size_t)c->pad_top,
                                 (size_t)c->pad_left};
}

static void chw_s2_rows(void* ctx, size_t pair) {
  const conv_job* j = ctx;
  const xnn_conv_params* c = j->c;
  const xnn_conv_chw_geometry geo = chw_geometry(c, j->ih, j->iw, j->oh, j->ow);
  j->chw_s2(&geo, (size_t)c->num_output, 2 * pair, j->in, j->weights, j->bias, j->out + 2 * pair * j->ow,
            j->oh * j->ow, &c->act);
}

/* One channel of a framed pointwise convolution's output: the GEMM's plane inside, the activated bias
 * around it. */
static void frame_channel(void* ctx, size_t ch) {
  const conv_job* j = ctx;
  const xnn_conv_params* c = &j->n->p.conv;
  const size_t pt = (size_t)c->pad_top, pl = (size_t)c->pad_left;
  const size_t oh = j->ih + pt + (size_t)c->pad_bottom, ow = j->iw + pl + (size_t)c->pad_right;
  const float v = xnn_f32_act_apply(j->bias[ch], &c->act);
  const float* src = j->out + ch * j->ih * j->iw;
  float* dst = j->framed + ch * oh * ow;
  for (size_t y = 0; y < oh; y++, dst += ow) {
    if (y < pt || y - pt >= j->ih) {
      for (size_t x = 0; x < ow; x++) dst[x] = v;
      continue;
    }
    for (size_t x = 0; x < pl; x++) dst[x] = v;
    memcpy(dst + pl, src + (y - pt) * j->iw, j->iw * sizeof(float));
    for (size_t x = pl + j->iw; x < ow; x++) dst[x] = v;
  }
}

/* The im2col paths' scratch: the zero-padded input, then `per_thread` floats for each thread. */
static void im2col_scratch(conv_job* j, float* workspace, size_t per_thread) {
  j->ph = j->ih + (size_t)j->c->pad_top + (size_t)j->c->pad_bottom;
  j->pw = j->iw + (size_t)j->c->pad_left + (size_t)j->c->pad_right;
  j->padded = workspace;
  j->workspace = workspace + round_up(padded_floats(j->c, j->ih, j->iw), 16);
  j->workspace_stride = per_thread + 16;
}

/* The image as the im2col paths read it: zero-padded first when the convolution pads. */
static void im2col_source(conv_job* j, xnn_threadpool* pool) {
  j->src = j->in;
  if (pads(j->c)) {
    xnn_parallelize(pool, pad_channel, j, (size_t)j->c->cin);
    j->src = j->padded;
  }
}

static void conv_run(const xnn_node* n, const xnn_run_ctx* ctx) {
  const xnn_conv_params* c = &n->p.conv;
  if (c->algo == XNN_CONV_WINOGRAD) {
    xnn_conv_winograd_run(n, ctx);
    return;
  }
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_tensor_rt* out = &ctx->tensors[n->outputs[0]];
  conv_job j;
  memset(&j, 0, sizeof(j));
  j.n = n;
  j.c = c;
  j.k = ctx->kernels;
  j.weights = n->weights[0];
  j.bias = n->num_weights > 1 ? n->weights[1] : NULL;
  j.ih = (size_t)in->shape.dims[2];
  j.iw = (size_t)in->shape.dims[3];
  j.oh = (size_t)out->shape.dims[2];
  j.ow = (size_t)out->shape.dims[3];
  const size_t out_pixels = j.oh * j.ow;
  /* frames_pointwise: the GEMM's problem is the unpadded one, its output the scratch at the workspace's start */
  const int framed = frames_pointwise(c);
  const xnn_conv_params u = unpadded(c);
  float* workspace = ctx->workspace;
  if (framed) {
    j.c = &u;
    j.oh = j.ih;
    j.ow = j.iw;
    workspace += round_up((size_t)c->num_output * j.ih * j.iw, 16);
  }
  const size_t pixels = j.oh * j.ow;
  const int dw = is_depthwise(c);
  j.dw3x3p1 = dw ? dw3x3p1_kernel(c, ctx->kernels) : NULL;
  j.dw3x3 = dw && !j.dw3x3p1 ? dw3x3_kernel(c, ctx->kernels) : NULL;
  j.bands = j.dw3x3p1 ? dw_row_bands(c, ctx->plan, j.oh) : 1;
  j.chw_s2 = dw ? NULL : chw_s2_kernel(c, ctx->kernels, 0);
  const size_t threads = (size_t)xnn_threadpool_size(ctx->pool);
  if (c->algo == XNN_CONV_SPARSE) {
    j.spmm = xnn_sparse_kernel(ctx->kernels, kdim_of(c), (size_t)c->sparse_block, &j.spmm_tile);
    j.split = xnn_sparse_split_work(pixels, (size_t)(c->num_output / c->group), (size_t)c->group, j.spmm_tile,
                                    (size_t)c->sparse_block, threads);
    im2col_scratch(&j, ctx->workspace, kdim_of(c) * j.spmm_tile);
  } else if (j.dw3x3) {
    j.workspace = ctx->workspace;
    j.workspace_stride = dw_padded_floats(c, j.ih, j.iw) + 16;
  } else if (!dw && !j.chw_s2) {
    j.ksplit = framed ? 1 : splits_k(j.c, pixels, j.ih * j.iw, ctx->plan->input_by_channels, threads);
    j.b = make_blocking(j.c, pixels, &ctx->kernels->gemm, j.ksplit > 1 ? 1 : threads);
    im2col_scratch(&j, workspace, packed_b_floats(&j.b, &ctx->kernels->gemm));
    j.partial = j.workspace + threads * j.workspace_stride;
  }
  for (int64_t b = 0; b < in->shape.dims[0]; b++) {
    j.in = in->data + (size_t)b * c->cin * j.ih * j.iw;
    j.out = out->data + (size_t)b * c->num_output * out_pixels;
    j.residual = c->residual ? ctx->tensors[n->inputs[1]].data + (size_t)b * c->num_output * out_pixels : NULL;
    if (framed) {
      j.framed = j.out;
      j.out = ctx->workspace;
    }
    if (c->algo == XNN_CONV_SPARSE) {
      im2col_source(&j, ctx->pool);
      xnn_parallelize_thread(ctx->pool, sparse_task, &j,
                             (size_t)c->group * j.split.pixel_blocks * j.split.channel_blocks);
    } else if (j.dw3x3p1) {
      xnn_parallelize(ctx->pool, dw3x3p1_band, &j, j.bands * (size_t)c->cin);
    } else if (j.chw_s2) {
      xnn_parallelize(ctx->pool, chw_s2_rows, &j, (j.oh + 1) / 2);
    } else if (j.dw3x3) {
      memset(j.workspace, 0, (size_t)xnn_threadpool_size(ctx->pool) * j.workspace_stride * sizeof(float));
      xnn_parallelize_thread(ctx->pool, dw3x3_channel, &j, (size_t)c->cin);
    }
    else if (!dw && pixels == 1 && is_pointwise(c) && j.b.mr <= 32)
      xnn_parallelize(ctx->pool, gemv_stripe, &j, (size_t)c->group * gemv_stripes((j.b.m + j.b.mr - 1) / j.b.mr));
    else if (dw)
      xnn_parallelize(ctx->pool, dw_channel, &j, (size_t)c->cin);
    else {
      im2col_source(&j, ctx->pool);
      if (j.ksplit > 1) {
        xnn_parallelize_thread(ctx->pool, ksplit_task, &j, j.ksplit);
        xnn_parallelize(ctx->pool, ksplit_sum, &j, j.b.m);
      } else {
        xnn_parallelize_thread(ctx->pool, gemm_task, &j, (size_t)c->group * j.b.n_blocks * j.b.m_blocks);
      }
      if (framed) xnn_parallelize(ctx->pool, frame_channel, &j, (size_t)c->num_output);
    }
  }
}

/* A pointwise convolution and the 3x3 depthwise one (padding 1, stride 2) that alone reads its output, run
 * as a pair where that output is larger than L2: each thread takes a range of the depthwise layer's output
 * rows and walks it in bands, computing the pointwise rows a band reads into its scratch
 * ([channel][row][column], half of L2; the band's last row, which the next band reads too, moved to
 * the front) and running the depthwise kernel on them there. The intermediate map is never stored: apart,
 * the pointwise layer wrote it out past L2 and the depthwise one read it back. Intel Xeon (2 MB L2, 10-12
 * GB/s to write such a map out), per-layer minima, alternating processes: MobileNet v1's 112x112 64-channel
 * map 0.52-0.57 -> 0.43-0.46 ms at one thread, 0.30-0.31 -> 0.27 at two; v2's 112x112 96-channel one
 * 0.53-0.56 -> 0.44-0.45 and 0.32 -> 0.25. Not below L2 (56x56 maps of 1.6-1.8 MB: level, or up to 10%
 * slower at two threads) nor at stride 1, whose bands share two rows: moving them, v2's 56x56 144-channel
 * pair ran 0.27 -> 0.31 ms. */
typedef struct pw_dw_job {
  const xnn_conv_params *pc, *dc;
  const xnn_kernels* k;
  const float *in, *pw_weights, *pw_bias, *dw_weights, *dw_bias;
  float* out;
  float* workspace;
  size_t stride;       /* workspace floats per thread */
  size_t h, w, oh, ow, s, m, kdim;
  size_t cap, band;    /* scratch rows per channel; depthwise output rows per band */
  size_t threads;
  /* A pruned pointwise layer (XNN_CONV_SPARSE): its node (the packed weights), kernel, tile and block. */
  const xnn_node* pn;
  xnn_f32_spmm_ukernel_fn spmm;
  size_t spmm_tile, sparse_block;
} pw_dw_job;

/* The narrowest tile with vector columns: the last columns of a band narrower than it are packed. */
static xnn_f32_gemm_tile narrowest_tile(const xnn_f32_gemm_config* g) {
  xnn_f32_gemm_tile t = {g->ukernel, g->nr, 0};
  for (size_t i = 0; i < XNN_GEMM_MAX_NARROW; i++)
    if (g->narrow[i].ukernel && g->narrow[i].nr > 1 && g->narrow[i].nr < t.nr) t = g->narrow[i];
  return t;
}

/* Depthwise output rows per band: the scratch (cap rows of every channel) in half of L2, the rows a multiple
 * of the kernel's four-row blocks where there are four (its rows past the last block take a loop of one-row
 * blocks, each splitting three input rows for one output row). Zen 4 (1 MB L2), one thread, alternating
 * processes: in a quarter of L2, MobileNet v2's 112x112 16 -> 96 pair ran two rows a band, 0.56 ms; four
 * rows 0.51 (its depthwise part 0.19 -> 0.14), five 0.52; v1's 32 -> 64 pair 0.59 -> 0.56 at eight. */
static size_t pw_dw_band(size_t m, size_t w, size_t s) {
  const size_t rows = xnn_cpu_l2_bytes() / 2 / (m * w * sizeof(float)), band = rows > 2 + s ? (rows - 2) / s : 1;
  return band >= 4 ? band / 4 * 4 : band;
}

/* Floats of one thread's scratch: the rows, then the packed last columns (K rows of the narrowest tile) or,
 * for a sparse layer, one kernel tile of pixels of every channel (spmm_tile: 0 for a dense layer; pw_rows). */
static size_t pw_dw_stride(size_t m, size_t cap, size_t w, size_t kdim, const xnn_f32_gemm_config* g,
                           size_t spmm_tile) {
  return round_up(m * cap * w + XNN_MAX(kdim * narrowest_tile(g).nr, m * spmm_tile), 16);
}

/* A pair's sparse pointwise layer on pixels [start, start + count) of the map into out (rows out_stride apart). */
static void pw_sparse(const pw_dw_job* j, size_t start, size_t count, float* out, size_t out_stride) {
  const xnn_sparse_block blk = {0, j->m, count, j->in + start, j->h * j->w, out, out_stride, NULL};
  xnn_sparse_run(j->pn, 0, j->m, j->sparse_block, j->spmm, &blk, &j->pc->act);
}

/* Pointwise rows [r0, r1) into dst (rows of channel i at dst + i * cap * w). */
static void pw_rows(const pw_dw_job* j, size_t r0, size_t r1, float* dst, float* tail_panel) {
  const xnn_f32_gemm_config* g = &j->k->gemm;
  const xnn_f32_gemm_tile last = narrowest_tile(g);
  const size_t cols = (r1 - r0) * j->w, pixels = j->h * j->w, ldc = j->cap * j->w, kdim = j->kdim;
  const float* b = j->in + r0 * j->w;
  if (j->spmm) {
    /* The kernel takes the pixels in the whole tiles it takes them in when the layer runs alone (from the
     * map's first pixel, sparse_task), so that the band's rows come out bit for bit as they do there: a
     * tile the band cuts is computed whole into the spare panel and the band's part of it copied. The
     * blocked kernels compute every pixel alike wherever a call starts (kernels/spmm.h): one call. */
    const size_t t = j->sparse_block > 1 ? 1 : j->spmm_tile, p0 = r0 * j->w, p1 = r1 * j->w;
    for (size_t p = p0; p < p1;) {
      const size_t q0 = p / t * t, q1 = XNN_MIN(q0 + t, pixels);
      if (p == q0 && q1 <= p1) {
        const size_t e = p1 == pixels ? pixels : p1 / t * t;
        pw_sparse(j, p, e - p, dst + (p - p0), ldc);
        p = e;
      } else {
        const size_t e = XNN_MIN(q1, p1);
        pw_sparse(j, q0, q1 - q0, tail_panel, t);
        for (size_t c = 0; c < j->m; c++)
          memcpy(dst + c * ldc + (p - p0), tail_panel + c * t + (p - q0), (e - p) * sizeof(float));
        p = e;
      }
    }
    return;
  }
  /* Columns past the last whole tile of the narrowest width, packed once for every row panel. */
  const size_t packed_from = cols / last.nr * last.nr, rest = cols - packed_from;
  if (rest) {
    for (size_t p = 0; p < kdim; p++) {
      const float* src = b + p * pixels + packed_from;
      float* d = tail_panel + p * last.nr;
      for (size_t q = 0; q < last.nr; q++) d[q] = q < rest ? src[q] : 0.0f;
    }
  }
  for (size_t m = 0; m < j->m; m += g->mr) {
    const size_t mr = XNN_MIN((size_t)g->mr, j->m - m);
    const float* a = j->pw_weights + m * kdim;
    const float* bias = j->pw_bias ? j->pw_bias + m : NULL;
    size_t s = 0;
    while (s < packed_from) {
      xnn_f32_gemm_tile t = {g->ukernel, g->nr, 0};
      for (size_t i = 0; t.nr > packed_from - s && i < XNN_GEMM_MAX_NARROW; i++)
        if (g->narrow[i].ukernel && g->narrow[i].nr > 1) t = g->narrow[i];
      t.ukernel(mr, t.nr, kdim, a, b + s, pixels, dst + m * ldc + s, ldc, bias, &j->pc->act, XNN_GEMM_LAST);
      s += t.nr;
    }
    if (rest)
      last.ukernel(mr, rest, kdim, a, tail_panel, last.nr, dst + m * ldc + packed_from, ldc, bias, &j->pc->act,
                   XNN_GEMM_LAST);
  }
}

/* A pair's band scratch holds rows [*sa, *sb) of each of `channels` planes (`plane` floats apart, rows of
 * w floats), row *sa first. The next band starts at row a: the rows from a on that are there move to the
 * front, or, where none are, the scratch starts empty at a. */
static void slide_rows(float* scratch, size_t channels, size_t plane, size_t w, size_t a, size_t* sa, size_t* sb) {
  if (*sa < a && a < *sb) {
    for (size_t c = 0; c < channels; c++)
      memmove(scratch + c * plane, scratch + c * plane + (a - *sa) * w, (*sb - a) * w * sizeof(float));
    *sa = a;
  } else if (!(*sa == a && a < *sb)) {
    *sa = *sb = a;
  }
}

static void pw_dw_task(void* ctx, size_t thread, size_t index) {
  const pw_dw_job* j = ctx;
  float* scratch = j->workspace + thread * j->stride;
  float* tail_panel = scratch + j->m * j->cap * j->w;
  const size_t y_end = (index + 1) * j->oh / j->threads, s = j->s, w = j->w, plane = j->cap * w;
  const xnn_f32_dwconv3x3p1_fn dw = dw3x3p1_kernel(j->dc, j->k);
  size_t sa = 0, sb = 0; /* pointwise rows [sa, sb) are in the scratch, row sa first */
  for (size_t y0 = index * j->oh / j->threads; y0 < y_end; y0 += j->band) {
    const size_t y1 = XNN_MIN(y0 + j->band, y_end);
    const size_t a = y0 * s > 0 ? y0 * s - 1 : 0, b = XNN_MIN(j->h, (y1 - 1) * s + 2);
    slide_rows(scratch, j->m, plane, w, a, &sa, &sb);
    pw_rows(j, sb, b, scratch + (sb - sa) * w, tail_panel);
    sb = b;
    /* The kernel indexes rows of the whole plane: the scratch's origin is row sa's. */
    for (size_t c = 0; c < j->m; c++)
      dw(j->h, w, scratch + c * plane - sa * w, j->dw_weights + c * 9, j->dw_bias ? j->dw_bias[c] : 0.0f,
         j->out + c * j->oh * j->ow, y0, y1, &j->dc->act);
  }
}

static size_t pw_dw_workspace(const xnn_node* n, const xnn_node* next, const xnn_tensor_rt* t,
                              const xnn_op_plan* plan) {
  const xnn_conv_params *pc = &n->p.conv, *dc = &next->p.conv;
  if (!XNN_DWCONV3X3P1 || !plan->kernels->pw_dw_pairs || next->op != XNN_OP_CONVOLUTION || !is_pointwise(pc) ||
      pc->group != 1 ||
      (pc->algo != XNN_CONV_GEMM && pc->algo != XNN_CONV_SPARSE) || pc->residual || !is_depthwise(dc) ||
      dc->residual || dc->cin != pc->num_output || !dw3x3p1_kernel(dc, plan->kernels) || n->num_weights < 1)
    return 0;
  const xnn_shape* mid = &t[n->outputs[0]].shape;
  const size_t m = (size_t)mid->dims[1], h = (size_t)mid->dims[2], w = (size_t)mid->dims[3];
  /* A pruned pointwise layer pairs where its kernel reads the input in place, as a band's rows are (pw_rows).
   * MobileNet v1 pruned to 80% in blocks of 4, one thread: its 112x112 32 -> 64 layer and the stride-2
   * depthwise one after it 0.42 ms apart (0.28 + 0.14), 0.20 as a pair; the network 1.95x -> 2.06x the
   * dense one. */
  if (pc->algo == XNN_CONV_SPARSE && !sparse_reads_in_place(pc, h * w, (size_t)pc->cin)) return 0;
  if (dc->sh != 2 || m * h * w * sizeof(float) < xnn_cpu_l2_bytes() || h < 2 * plan->num_threads) return 0;
  const size_t s = (size_t)dc->sh, cap = pw_dw_band(m, w, s) * s + 2;
  size_t tile = 0;
  if (pc->algo == XNN_CONV_SPARSE) xnn_sparse_kernel(plan->kernels, (size_t)pc->cin, (size_t)pc->sparse_block, &tile);
  return plan->num_threads * pw_dw_stride(m, cap, w, (size_t)pc->cin, &plan->kernels->gemm, tile) * sizeof(float) +
         64;
}

static void pw_dw_run(const xnn_node* n, const xnn_node* next, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_tensor_rt* out = &ctx->tensors[next->outputs[0]];
  pw_dw_job j;
  j.pc = &n->p.conv;
  j.dc = &next->p.conv;
  j.k = ctx->kernels;
  j.pw_weights = n->weights[0];
  j.pw_bias = n->num_weights > 1 ? n->weights[1] : NULL;
  j.dw_weights = next->weights[0];
  j.dw_bias = next->num_weights > 1 ? next->weights[1] : NULL;
  j.h = (size_t)in->shape.dims[2];
  j.w = (size_t)in->shape.dims[3];
  j.oh = (size_t)out->shape.dims[2];
  j.ow = (size_t)out->shape.dims[3];
  j.s = (size_t)j.dc->sh;
  j.m = (size_t)j.pc->num_output;
  j.kdim = (size_t)j.pc->cin;
  j.band = pw_dw_band(j.m, j.w, j.s);
  j.cap = j.band * j.s + 2;
  j.threads = (size_t)xnn_threadpool_size(ctx->pool);
  j.workspace = ctx->workspace;
  j.pn = n;
  j.sparse_block = (size_t)j.pc->sparse_block;
  j.spmm_tile = 0;
  j.spmm = j.pc->algo == XNN_CONV_SPARSE ? xnn_sparse_kernel(j.k, j.kdim, j.sparse_block, &j.spmm_tile) : NULL;
  j.stride = pw_dw_stride(j.m, j.cap, j.w, j.kdim, &j.k->gemm, j.spmm_tile);
  for (int64_t b = 0; b < in->shape.dims[0]; b++) {
    j.in = in->data + (size_t)b * j.kdim * j.h * j.w;
    j.out = out->data + (size_t)b * j.m * j.oh * j.ow;
    xnn_parallelize_thread(ctx->pool, pw_dw_task, &j, j.threads);
  }
}

/* A network's first convolution on the direct stride-2 kernel and the max pool that alone reads its output
 * (SqueezeNet's, ResNet-50's and GoogLeNet's), run as a pair where that output is larger than L2, as the
 * pointwise + depthwise one is: each thread takes a range of the pool's output rows and walks it in bands,
 * computing the convolution rows a band's windows read into its scratch ([channel][row][column], a quarter
 * of L2; the rows the next band's windows read too moved to the front) and pooling them there. The
 * convolution's output, 3-4.7 MB in those networks, is never stored: apart, it went out past L2 and the
 * pool read it back. Intel Xeon, per-layer minima, alternating processes, the two layers apart -> the pair:
 * SqueezeNet 1.0 2.46 -> 2.21 ms at one thread, 1.25 -> 1.14 at two (and its next layer, reading the pool's
 * output from L2 now, 0.138 -> 0.123 and 0.081 -> 0.064); ResNet-50 1.76 -> 1.53; GoogLeNet 1.70 -> 1.57 and
 * 0.88 -> 0.81; SqueezeNet 1.1 (the GEMM convolution apart) 0.48 -> 0.42 and 0.30 -> 0.24. */
typedef struct chw_pool_job {
  const xnn_conv_params* c;
  xnn_f32_conv_chw_s2_fn conv;
  xnn_f32_maxpool_padded_fn pool_fn;
  xnn_conv_chw_geometry geo; /* the convolution's */
  xnn_pool_geometry pool;    /* the pool's, whose input is the convolution's output */
  const float *in, *weights, *bias;
  float* out;
  float* workspace;
  size_t stride; /* workspace floats per thread */
  size_t cap;    /* scratch rows per channel */
  size_t band;   /* pooled rows per band */
  size_t threads;
} chw_pool_job;

/* Pooled rows per band: the scratch (cap rows of every channel) in a quarter of L2. */
static size_t chw_pool_band(size_t m, size_t w, const xnn_pool_geometry* p) {
  const size_t rows = xnn_cpu_l2_bytes() / 4 / (m * w * sizeof(float));
  return rows > p->kh + p->sh ? (rows - p->kh) / p->sh + 1 : 1;
}

static size_t chw_pool_cap(size_t band, const xnn_pool_geometry* p) { return (band - 1) * p->sh + p->kh; }

/* A band of a first-layer pair: its scratch ([channel][row][column], `plane` floats a channel) is made to hold
 * rows [a, b) of the direct kernel's output, the rows already there from the band before kept (slide_rows). */
static void chw_band_rows(xnn_f32_conv_chw_s2_fn conv, const xnn_conv_chw_geometry* geo, const xnn_conv_params* c,
                          const float* in, const float* weights, const float* bias, float* scratch, size_t plane,
                          size_t a, size_t b, size_t* sa, size_t* sb) {
  const size_t m = (size_t)c->num_output, w = geo->ow;
  slide_rows(scratch, m, plane, w, a, sa, sb);
  /* The kernel computes rows in pairs, the second only above its geometry's last row. */
  xnn_conv_chw_geometry g = *geo;
  g.oh = b;
  for (size_t r = *sb; r < b; r += 2) conv(&g, m, r, in, weights, bias, scratch + (r - *sa) * w, plane, &c->act);
  *sb = b;
}

static void chw_pool_task(void* ctx, size_t thread, size_t index) {
  const chw_pool_job* j = ctx;
  const xnn_pool_geometry* p = &j->pool;
  const size_t m = (size_t)j->c->num_output, w = j->geo.ow, plane = j->cap * w;
  float* scratch = j->workspace + thread * j->stride;
  const size_t y_end = (index + 1) * p->oh / j->threads;
  size_t sa = 0, sb = 0; /* convolution rows [sa, sb) are in the scratch, row sa first */
  for (size_t y0 = index * p->oh / j->threads; y0 < y_end; y0 += j->band) {
    const size_t y1 = XNN_MIN(y0 + j->band, y_end);
    const size_t a = y0 * p->sh, b = XNN_MIN(j->geo.oh, (y1 - 1) * p->sh + p->kh);
    chw_band_rows(j->conv, &j->geo, j->c, j->in, j->weights, j->bias, scratch, plane, a, b, &sa, &sb);
    /* The pool indexes rows of the whole plane: the scratch's origin is row sa's. */
    for (size_t c = 0; c < m; c++)
      xnn_maxpool_rows(j->pool_fn, p, scratch + c * plane - sa * w, y0, y1, j->out + c * p->oh * p->ow);
  }
}

static size_t chw_pool_stride(size_t m, size_t cap, size_t w) {
  return round_up(m * cap * w + XNN_POOL_EXTRA + 16, 16);
}

static size_t chw_pool_workspace(const xnn_node* n, const xnn_node* next, const xnn_tensor_rt* t,
                                 const xnn_op_plan* plan) {
  const xnn_conv_params* c = &n->p.conv;
  xnn_pool_geometry p;
  if (!XNN_CONV_CHW_S2 || next->op != XNN_OP_POOLING || !chw_s2_kernel(c, plan->kernels, 1) ||
      !xnn_maxpool_rows_geometry(next, t, plan->kernels, &p))
    return 0;
  const xnn_shape* mid = &t[n->outputs[0]].shape;
  const size_t m = (size_t)mid->dims[1], h = (size_t)mid->dims[2], w = (size_t)mid->dims[3];
  if (m * h * w * sizeof(float) < xnn_cpu_l2_bytes() || p.oh < plan->num_threads) return 0;
  return plan->num_threads * chw_pool_stride(m, chw_pool_cap(chw_pool_band(m, w, &p), &p), w) * sizeof(float) + 64;
}

static void chw_pool_run(const xnn_node* n, const xnn_node* next, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_tensor_rt* mid = &ctx->tensors[n->outputs[0]];
  const xnn_tensor_rt* out = &ctx->tensors[next->outputs[0]];
  const xnn_conv_params* c = &n->p.conv;
  chw_pool_job j;
  j.c = c;
  j.conv = chw_s2_kernel(c, ctx->kernels, 1);
  j.pool_fn = ctx->kernels->maxpool_padded;
  j.geo = chw_geometry(c, (size_t)in->shape.dims[2], (size_t)in->shape.dims[3], (size_t)mid->shape.dims[2],
                       (size_t)mid->shape.dims[3]);
  xnn_maxpool_rows_geometry(next, ctx->tensors, ctx->kernels, &j.pool);
  j.weights = n->weights[0];
  j.bias = n->num_weights > 1 ? n->weights[1] : NULL;
  const size_t m = (size_t)c->num_output;
  j.band = chw_pool_band(m, j.geo.ow, &j.pool);
  j.cap = chw_pool_cap(j.band, &j.pool);
  j.stride = chw_pool_stride(m, j.cap, j.geo.ow);
  j.threads = (size_t)xnn_threadpool_size(ctx->pool);
  j.workspace = ctx->workspace;
  for (int64_t b = 0; b < in->shape.dims[0]; b++) {
    j.in = in->data + (size_t)b * j.geo.cin * j.geo.ih * j.geo.iw;
    j.out = out->data + (size_t)b * m * j.pool.oh * j.pool.ow;
    xnn_parallelize_thread(ctx->pool, chw_pool_task, &j, j.threads);
  }
}

/* A network's first convolution on the direct stride-2 kernel and the 3x3 depthwise layer (padding 1) that
 * alone reads its output (MobileNet v1's 3 -> 32 layer and its 112x112 depthwise one), as a pair where that
 * output is larger than L2 and more than one thread runs, as the pointwise + depthwise pair runs: each thread
 * walks a range of the depthwise layer's output rows in bands, computing the rows of the first layer a band
 * reads into its scratch (half of L2; the rows the next band reads too moved to the front). Each thread's
 * rows of the depthwise output are then the ones the pair after it (split by rows too) reads on that core.
 * Zen 4, MobileNet v1, per-layer minima of 14 alternating processes, two threads: the two layers 0.217 ->
 * 0.194 ms and the next pair 0.360 -> 0.298, the layers' sum 5.64 -> 5.43 ms. At one thread level (the two
 * layers 0.403 -> 0.43-0.44 in the network, 0.344 -> 0.345 alone; the next pair 0.656 -> 0.61): apart
 * there. */
typedef struct chw_dw_job {
  const xnn_conv_params *c, *dc;
  xnn_f32_conv_chw_s2_fn conv;
  xnn_f32_dwconv3x3p1_fn dw;
  xnn_conv_chw_geometry geo; /* the first layer's */
  const float *in, *weights, *bias, *dw_weights, *dw_bias;
  float* out;
  size_t oh, ow; /* the depthwise layer's output */
  float* workspace;
  size_t stride; /* workspace floats per thread */
  size_t cap;    /* scratch rows per channel */
  size_t band;   /* depthwise output rows per band */
  size_t threads;
} chw_dw_job;

static void chw_dw_task(void* ctx, size_t thread, size_t index) {
  const chw_dw_job* j = ctx;
  const size_t m = (size_t)j->c->num_output, h = j->geo.oh, w = j->geo.ow, plane = j->cap * w;
  const size_t s = (size_t)j->dc->sh;
  float* scratch = j->workspace + thread * j->stride;
  const size_t y_end = (index + 1) * j->oh / j->threads;
  size_t sa = 0, sb = 0; /* first-layer rows [sa, sb) are in the scratch, row sa first */
  for (size_t y0 = index * j->oh / j->threads; y0 < y_end; y0 += j->band) {
    const size_t y1 = XNN_MIN(y0 + j->band, y_end);
    const size_t a = y0 * s > 0 ? y0 * s - 1 : 0, b = XNN_MIN(h, (y1 - 1) * s + 2);
    chw_band_rows(j->conv, &j->geo, j->c, j->in, j->weights, j->bias, scratch, plane, a, b, &sa, &sb);
    /* The kernel indexes rows of the whole plane: the scratch's origin is row sa's. */
    for (size_t c = 0; c < m; c++)
      j->dw(h, w, scratch + c * plane - sa * w, j->dw_weights + c * 9, j->dw_bias ? j->dw_bias[c] : 0.0f,
            j->out + c * j->oh * j->ow, y0, y1, &j->dc->act);
  }
}

/* Depthwise output rows per band, its scratch in half of L2, as the pointwise + depthwise pair's. */
static size_t chw_dw_band(size_t m, size_t w, size_t s) { return pw_dw_band(m, w, s); }

static size_t chw_dw_stride(size_t m, size_t cap, size_t w) { return round_up(m * cap * w + XNN_DWCONV_EXTRA, 16); }

static size_t chw_dw_workspace(const xnn_node* n, const xnn_node* next, const xnn_tensor_rt* t,
                               const xnn_op_plan* plan) {
  const xnn_conv_params *c = &n->p.conv, *dc = &next->p.conv;
  if (!XNN_CONV_CHW_S2 || !XNN_DWCONV3X3P1 || next->op != XNN_OP_CONVOLUTION || !chw_s2_kernel(c, plan->kernels, 0) ||
      !is_depthwise(dc) || dc->residual || dc->cin != c->num_output || !dw3x3p1_kernel(dc, plan->kernels))
    return 0;
  const xnn_shape* mid = &t[n->outputs[0]].shape;
  const size_t m = (size_t)mid->dims[1], h = (size_t)mid->dims[2], w = (size_t)mid->dims[3];
  if (m * h * w * sizeof(float) < xnn_cpu_l2_bytes() || h < 2 * plan->num_threads || plan->num_threads < 2)
    return 0;
  const size_t s = (size_t)dc->sh, cap = chw_dw_band(m, w, s) * s + 2;
  return plan->num_threads * chw_dw_stride(m, cap, w) * sizeof(float) + 64;
}

static void chw_dw_run(const xnn_node* n, const xnn_node* next, const xnn_run_ctx* ctx) {
  const xnn_tensor_rt* in = &ctx->tensors[n->inputs[0]];
  const xnn_tensor_rt* mid = &ctx->tensors[n->outputs[0]];
  const xnn_tensor_rt* out = &ctx->tensors[next->outputs[0]];
  const xnn_conv_params* c = &n->p.conv;
  chw_dw_job j;
  j.c = c;
  j.dc = &next->p.conv;
  j.conv = chw_s2_kernel(c, ctx->kernels, 0);
  j.dw = dw3x3p1_kernel(j.dc, ctx->kernels);
  j.geo = chw_geometry(c, (size_t)in->shape.dims[2], (size_t)in->shape.dims[3], (size_t)mid->shape.dims[2],
                       (size_t)mid->shape.dims[3]);
  j.weights = n->weights[0];
  j.bias = n->num_weights > 1 ? n->weights[1] : NULL;
  j.dw_weights = next->weights[0];
  j.dw_bias = next->num_weights > 1 ? next->weights[1] : NULL;
  j.oh = (size_t)out->shape.dims[2];
  j.ow = (size_t)out->shape.dims[3];
  const size_t m = (size_t)c->num_output, s = (size_t)j.dc->sh;
  j.band = chw_dw_band(m, j.geo.ow, s);
  j.cap = j.band * s + 2;
  j.stride = chw_dw_stride(m, j.cap, j.geo.ow);
  j.threads = (size_t)xnn_threadpool_size(ctx->pool);
  j.workspace = ctx->workspace;
  for (int64_t b = 0; b < in->shape.dims[0]; b++) {
    j.in = in->data + (size_t)b * j.geo.cin * j.geo.ih * j.geo.iw;
    j.out = out->data + (size_t)b * m * j.oh * j.ow;
    xnn_parallelize_thread(ctx->pool, chw_dw_task, &j, j.threads);
  }
}

/* Pairs with this convolution first: pointwise + depthwise, first layer + max pool, first layer + depthwise
 * (all x86-only). */
#define XNN_CONV_PAIRS (XNN_DWCONV3X3P1 || XNN_CONV_CHW_S2)
static size_t conv_pair_workspace(const xnn_node* n, const xnn_node* next, const xnn_tensor_rt* t,
                                  const xnn_op_plan* plan) {
  if (next->op == XNN_OP_POOLING) return chw_pool_workspace(n, next, t, plan);
  return is_pointwise(&n->p.conv) ? pw_dw_workspace(n, next, t, plan) : chw_dw_workspace(n, next, t, plan);
}

static void conv_run_pair(const xnn_node* n, const xnn_node* next, const xnn_run_ctx* ctx) {
  if (next->op == XNN_OP_POOLING)
    chw_pool_run(n, next, ctx);
  else if (is_pointwise(&n->p.conv))
    pw_dw_run(n, next, ctx);
  else
    chw_dw_run(n, next, ctx);
}

/* Chooses the algorithm from the weights and the output shape of the declared input (done once, before
 * packing). */
static void conv_choose(xnn_node* n, const xnn_tensor_rt* t, const xnn_kernels* k) {
  const xnn_conv_params* c = &n->p.conv;
  const xnn_shape* out = &t[n->outputs[0]].shape;
  /* The residual sum is a GEMM epilogue; Winograd's output transform has none. */
  const int winograd = c->residual ? 0 : xnn_conv_winograd_fits(c, k, out->dims[2], out->dims[3]);
  n->p.conv.wino_tile = winograd;
  xnn_sparse_kind kind = winograd ? XNN_SPARSE_WINOGRAD : XNN_SPARSE_CONV;
  /* A 1x1 convolution of a 1x1 map is a fully connected layer. */
  if (is_pointwise(c)) kind = out->dims[2] * out->dims[3] == 1 ? XNN_SPARSE_FC : XNN_SPARSE_POINTWISE;
  /* One pixel (kind FC) would leave all but one lane of a blocked tile empty. */
  const size_t sparse = is_depthwise(c) ? 0
                                        : xnn_sparse_choose(n->weights[0], (size_t)c->num_output, kdim_of(c),
                                                            (size_t)c->group, kind, k);
  n->p.conv.sparse_block = (int32_t)XNN_MAX(sparse, (size_t)1);
  if (sparse)
    n->p.conv.algo = XNN_CONV_SPARSE;
  else
    n->p.conv.algo = winograd ? XNN_CONV_WINOGRAD : XNN_CONV_GEMM;
}

const xnn_op_def xnn_op_convolution = {.reshape = conv_reshape,
                                       .run = conv_run,
                                       .pack = conv_pack,
                                       .choose = conv_choose,
                                       .pair_workspace = XNN_CONV_PAIRS ? conv_pair_workspace : NULL,
                                       .run_pair = XNN_CONV_PAIRS ? conv_run_pair : NULL};
