#include "core/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"

/* SpMM thresholds: the lowest break-even density (dense time = sparse time) that `python bench/sparse.py
 * --thresholds` measured over its layers of each kind, 1 thread, rounded down to 0.05. AMD EPYC (Zen 4, 2
 * cores shared with other jobs, 32 MB L3), 2026-11-25:
 *   ref    FC 512x512 .17, 1024x1000 .14, 2048x2048 .14, 1x1 convolution 1x1x1024->1000 .90+ (in L3);
 *          4096x4096 .26 (from memory). 1x1 (MobileNet v1's, 7x7x1024 to 112x112x64) and 3x3 by GEMM
 *          (7x7x512, 56x56x128/2): sparse still 2.6-4.8x faster at .90; 3x3 by Winograd (56x56x64,
 *          28x28x128, 14x14x256) .84-.90+.
 *   avx2   FC .09 .13 .23 .22; .47. 1x1 .58 .66 .59 .50 .37. 3x3 GEMM .36 .38; Winograd .20 .17 .15.
 *   avx512 FC .07 .10 .17 .11; .39. 1x1 .60 .60 .60 .48 .35. 3x3 GEMM .34 .42; Winograd .15 .15 .16 (with
 *          the 32x1 tile only: the 64x1 tile for K <= 256 came later and makes those layers' sparse side faster).
 * A 1-pixel product gathers its inputs, slowly on Zen 4: sparse fully connected layers win only where
 * the dense weights come from memory. The portable kernel is far faster than the portable GEMM.
 *   neon   (the portable kernel against the NEON assembly; no AArch64 machine to time: executed AArch64
 *          instructions per run under qemu, `--thresholds --aarch64`, which cannot see memory stalls) FC
 *          1024x1000 .17; 1x1 14x14x256 .19, 7x7x512 .19; 3x3 GEMM 14x14x64/2 .19; Winograd 14x14x64 .10.
 * Weights pruned in blocks of 4 output channels, on the blocked kernels (2026-12-04, `--kinds 1x1-blocks
 * 3x3-blocks`, 5 rounds, two sweeps):
 *   avx2   1x1 .90/.88 .82/.86 .79/.73 .77/.74 .66/.62. 3x3 GEMM .73/.59 .82/.81; Winograd .27/.20 .26/.14
 *          .26/.18 (the second sweep erratic there; no lower than the one-channel threshold, .15).
 *   avx512 1x1 .49/.36 .75/.82 .82/.82 .77/.79 .69/.70. 3x3 GEMM .69/.61 .85/.83; Winograd .23/.20 .23/.22
 *          .29/.29. The 112x112 layer (K = 64, input read in place; the dense GEMM there is at its best)
 *          sets the 1x1 threshold; its break-even moved most between runs.
 *   neon   (the 8x4 assembly kernel, instructions as above) 1x1 14x14x256 .56, 7x7x512 .57; 3x3 GEMM
 *          14x14x64/2 .55; Winograd 14x14x64 below .20 (kept at the one-channel kernel's .10).
 * The portable set keeps its one-channel thresholds for blocks (not measured: it is sparse almost always). */
static const xnn_kernels g_ref = {
    .isa = "ref",
    .gemm = {xnn_f32_gemm_ukernel_4x16__ref, 4, 16, {{xnn_f32_gemm_ukernel_4x8__ref, 8}, {xnn_f32_gemm_ukernel_4x1__ref, 1}},
             xnn_f32_gemv_ukernel__ref, 1024},
    .im2col_panel = xnn_f32_im2col_panel__ref,
    .fc = xnn_f32_fc__ref,
    .spmm = {.ukernel = xnn_f32_spmm_ukernel_8x1__ref, .tile = 8, .blocked = xnn_f32_spmm_ukernel_8x4__ref,
             .blocked_tile = 8, .block = 4, .fc = 0.10f, .fc_streamed = 0.25f, .pointwise = 1.0f, .conv = 1.0f,
             .winograd = 0.80f, .pointwise_blocked = 1.0f, .conv_blocked = 1.0f, .winograd_blocked = 0.80f},
    .dwconv = xnn_f32_dwconv__ref,
    .dwconv3x3s1 = xnn_f32_dwconv3x3s1__ref,
    .dwconv3x3s2 = xnn_f32_dwconv3x3s2__ref,
    .maxpool = xnn_f32_maxpool__ref,
    .maxpool_padded = xnn_f32_maxpool_padded__ref,
    .avgpool = xnn_f32_avgpool__ref,
    .vact = xnn_f32_vact__ref,
    .vaddc = xnn_f32_vaddc__ref,
    .lrn = xnn_f32_lrn__ref,
    .vsigmoid = xnn_f32_vsigmoid__ref,
    .vtanh = xnn_f32_vtanh__ref,
    .wino43_input = xnn_f32_wino43_input__ref,
    .wino43_output = xnn_f32_wino43_output__ref,
    .wino23_input = xnn_f32_wino23_input__ref,
    .wino23_output = xnn_f32_wino23_output__ref,
    .wino23_max_weight_bytes = 8 << 20,
    .lstm_cell = xnn_f32_lstm_cell__ref,
};

/* Each ISA's set starts from the portable one and replaces only what it has its own kernel for. */
#if XNN_ARCH_X86_64
static xnn_kernels g_avx2, g_avx512;
#endif
#if XNN_ARCH_ARM64
static xnn_kernels g_neon;
#endif

static void init_sets(void) {
#if XNN_ARCH_X86_64
  g_avx2 = g_ref;
  g_avx2.isa = "avx2";
  g_avx2.gemm = (xnn_f32_gemm_config){
      xnn_f32_gemm_ukernel_6x16__avx2, 6, 16, {{xnn_f32_gemm_ukernel_6x8__avx2, 8}, {xnn_f32_gemm_ukernel_6x1__avx2, 1}},
      xnn_f32_gemv_ukernel__avx2, 1024};
  /* Residual sums add the bias as the tiles load C, not in a pass of their own (ops/convolution.c). */
  g_avx2.gemm.add_bias = 1;
  /* A 7x7 map's 49 pixels as 16 + 16 + 17, not three 16s and a GEMV column: on Zen 3 MobileNet v1's 7x7
   * 1024 -> 1024 layer 1.21 -> 1.10 ms, MobileNet v2's and ResNet-50's 7x7 layers 3-7% each. */
  g_avx2.gemm.wide = (xnn_f32_gemm_tile){xnn_f32_gemm_ukernel_6x17__avx2, 17, 0};
  g_avx2.fc = xnn_f32_fc__avx2;
  g_avx2.spmm = (xnn_f32_spmm_config){.ukernel = xnn_f32_spmm_ukernel_16x1__avx2, .tile = 16,
                                      .blocked = xnn_f32_spmm_ukernel_16x4__avx2, .blocked_tile = 16, .block = 4,
                                      .fc = 0.05f,
                                      .fc_streamed = 0.45f, .pointwise = 0.35f, .conv = 0.35f, .winograd = 0.15f,
                                      .pointwise_blocked = 0.60f, .conv_blocked = 0.55f, .winograd_blocked = 0.15f};
  g_avx2.im2col_panel = xnn_f32_im2col_panel__avx2;
  g_avx2.conv_chw_s2 = xnn_f32_conv_chw_s2_6x16__avx2;
  g_avx2.dwconv3x3s1 = xnn_f32_dwconv3x3s1__avx2;
  g_avx2.dwconv3x3s2 = xnn_f32_dwconv3x3s2__avx2;
  /* Unpadded depthwise kernels (no copy of each plane into a padded scratch first): on Zen 3 the stride-2
   * one took 112x112x96 alone 0.34 -> 0.22 ms, the stride-1 one MobileNet v1's 112x112x32 layer 0.248 ->
   * 0.175 ms in the network and the smaller ones 0.005-0.014 ms each. No pointwise + depthwise pairs: there
   * the pairs took 0.08-0.31 ms longer than their two layers (MobileNet v2's 112x112, 56x56 and 28x28 ones). */
  g_avx2.dwconv3x3p1s1 = xnn_f32_dwconv3x3p1s1__avx2;
  g_avx2.dwconv3x3p1s2 = xnn_f32_dwconv3x3p1s2__avx2;
  g_avx2.maxpool_padded = xnn_f32_maxpool_padded__avx2;
  g_avx2.wino43_input = xnn_f32_wino43_input__avx2;
  g_avx2.wino43_input_rows2 = xnn_f32_wino43_input_rows2__avx2;
  g_avx2.wino43_output = xnn_f32_wino43_output__avx2;
  g_avx2.wino43_output_rows = xnn_f32_wino43_output_rows__avx2;
  g_avx2.wino23_input = NULL; /* F(2x2, 3x3) only where it has its own kernels */
  g_avx2.wino23_output = NULL;
  g_avx2.lstm_cell = xnn_f32_lstm_cell__avx2;
  g_avx2.lrn = xnn_f32_lrn__avx2;

  g_avx512 = g_ref;
  g_avx512.isa = "avx512";
  g_avx512.gemm = (xnn_f32_gemm_config){
      xnn_f32_gemm_ukernel_8x48__avx512, 8, 48,
      {{xnn_f32_gemm_ukernel_8x32__avx512, 32}, {xnn_f32_gemm_ukernel_8x16__avx512, 16},
       {xnn_f32_gemm_ukernel_8x1__avx2, 1}},
      xnn_f32_gemv_ukernel__avx512, 1, xnn_f32_gemm_tail_ukernel_16x24__avx512, 24,
      {xnn_f32_gemm_ukernel_8x49__avx512, 49, 64}, 1};
  /* Intel's loads that cross a 64-byte line cost two: on Ice Lake server the tiles read a 14x14 map's
   * rows (784 bytes apart) in place at 0.7x the rate of a packed panel, and MobileNet v1's 14x14 512 ->
   * 512 layers ran 0.69 ms packed against 0.85 in place; 28x28 rows (whole lines apart) stay faster in place
   * (256 -> 256: 0.70 against 0.75 ms). SqueezeNet's 55x55 maps (rows 12100 bytes apart) packed: fire3's
   * 128 -> 16 layer 0.194 -> 0.174 ms, the network 3% faster. */
  if (xnn_cpu_flags() & XNN_CPU_INTEL) {
    g_avx512.gemm.in_place_pixels = 784;
    g_avx512.gemm.in_place_align = 16;
    /* The 8x16 tile, one load per FMA, runs at about 90 GFLOP/s there against 165 for the 8x48 one: a
     * 14x14 map's 16 tiles of 4x4 make F(4x4, 3x3) all 8x16, where F(2x2, 3x3)'s 49 tiles take the 8x49
     * tile. ResNet-50's 14x14 256 -> 256 layers 1.80 -> 1.40 ms. */
    g_avx512.wino43_min_tiles = 32;
  }
  /* Zen 4's 512-bit FMAs issue at half Zen 5's rate, so an im2col GEMM on a 7x7 map takes longer than
   * streaming F(2x2, 3x3)'s larger weights from memory: ResNet-50's 7x7 512 -> 512 layers (16.8 MB
   * transformed) 2.16 -> 1.84 ms in the network at one thread, 1.13 -> 1.03-1.10 at two. */
  if (xnn_cpu_flags() & XNN_CPU_AVX512_HALVED) g_avx512.wino23_max_weight_bytes = 32 << 20;
  g_avx512.fc = xnn_f32_fc__avx512;
  g_avx512.spmm = (xnn_f32_spmm_config){.ukernel = xnn_f32_spmm_ukernel_32x1__avx512, .tile = 32,
                                        .wide = xnn_f32_spmm_ukernel_64x1__avx512, .wide_tile = 64,
                                        .blocked = xnn_f32_spmm_ukernel_32x4__avx512, .blocked_tile = 32, .block = 4,
                                        .fc = 0.05f,
                                        .fc_streamed = 0.35f, .pointwise = 0.35f, .conv = 0.30f, .winograd = 0.15f,
                                        .pointwise_blocked = 0.35f, .conv_blocked = 0.60f, .winograd_blocked = 0.20f};
  g_avx512.im2col_panel = xnn_f32_im2col_panel__avx512;
  g_avx512.conv_chw_s2 = xnn_f32_conv_chw_s2_8x48__avx512;
  g_avx512.dwconv3x3s1 = xnn_f32_dwconv3x3s1__avx512;
  g_avx512.dwconv3x3s2 = xnn_f32_dwconv3x3s2__avx512;
  g_avx512.dwconv3x3p1s1 = xnn_f32_dwconv3x3p1s1__avx512;
  g_avx512.dwconv3x3p1s2 = xnn_f32_dwconv3x3p1s2__avx512;
  g_avx512.pw_dw_pairs = 1;
  g_avx512.maxpool_padded = xnn_f32_maxpool_padded__avx512;
  g_avx512.wino43_input = xnn_f32_wino43_input__avx512;
  g_avx512.wino43_input_rows2 = xnn_f32_wino43_input_rows2__avx512;
  g_avx512.wino43_output_rows = xnn_f32_wino43_output_rows__avx512;
  g_avx512.wino43_output = xnn_f32_wino43_output__avx512;
  g_avx512.wino23_input = xnn_f32_wino23_input__avx512;
  g_avx512.wino23_output = xnn_f32_wino23_output__avx512;
  g_avx512.lstm_cell = xnn_f32_lstm_cell__avx512;
  g_avx512.vaddc = xnn_f32_vaddc__avx512;
  g_avx512.lrn = xnn_f32_lrn__avx512;
#endif
#if XNN_ARCH_ARM64
  g_neon = g_ref;
  g_neon.isa = "neon";
  /* Pointwise B read in place on every map (in_place_pixels 1, as AVX-512 does; AVX2 packs the small maps
   * with many rows, 9-15% faster there on Zen 4). An 8x12 tile in place reads 48 of each K row's bytes, one or two 64-byte lines
   * (up to 2.3x the bytes of a packed panel, and at K = 1024 about 100 KB of lines: L2, not the 32 KB L1
   * of a Cortex-A72, as the 48 KB packed panel would not fit either) for 24 fmla a K step; at one
   * 128-bit fmla a cycle that is under 5 bytes a cycle from L2, where Zen 4's two 256-bit FMAs a cycle
   * need several times that. Packing costs every pixel a load and a store (MobileNet v1: 3.5 M instructions). */
  g_neon.gemm = (xnn_f32_gemm_config){xnn_f32_gemm_ukernel_8x12__neon_asm, 8, 12,
                                      {{xnn_f32_gemm_ukernel_8x4__neon_asm, 4}, {xnn_f32_gemm_ukernel_8x1__neon, 1}},
                                      xnn_f32_gemv_ukernel__neon, 1};
  g_neon.im2col_panel = xnn_f32_im2col_panel__neon;
  /* The break-evens were measured with the portable kernel; the assembly kernel (about a third of its
   * instructions per nonzero) only makes the sparse side faster, so they stay on the safe side until
   * measured again with it. The blocked kernel's were measured with it (below). */
  g_neon.lstm_cell = xnn_f32_lstm_cell__neon_asm;
  g_neon.spmm.ukernel = xnn_f32_spmm_ukernel_16x1__neon_asm;
  g_neon.spmm.tile = 16;
  g_neon.spmm.blocked = xnn_f32_spmm_ukernel_8x4__neon_asm;
  g_neon.spmm.blocked_tile = 8;
  g_neon.spmm.block = 4;
  g_neon.spmm.pointwise_blocked = g_neon.spmm.conv_blocked = 0.55f;
  g_neon.spmm.winograd_blocked = 0.10f;
  g_neon.spmm.fc = g_neon.spmm.fc_streamed = g_neon.spmm.pointwise = g_neon.spmm.conv = 0.15f;
  g_neon.spmm.winograd = 0.05f;
  g_neon.dwconv3x3s1 = xnn_f32_dwconv3x3s1__neon_asm;
  g_neon.dwconv3x3s2 = xnn_f32_dwconv3x3s2__neon_asm;
  g_neon.maxpool_padded = xnn_f32_maxpool_padded__neon;
  g_neon.wino43_input = xnn_f32_wino43_input__neon;
  g_neon.wino43_output = xnn_f32_wino43_output__neon;
  g_neon.wino23_input = NULL;
  g_neon.wino23_output = NULL;
#endif
}

static pthread_once_t g_sets_once = PTHREAD_ONCE_INIT;

const xnn_kernels* xnn_kernels_for_isa(const char* isa) {
  pthread_once(&g_sets_once, init_sets);
  if (strcmp(isa, "ref") == 0) return &g_ref;
#if XNN_ARCH_X86_64
  const uint32_t f = xnn_cpu_flags();
  if (strcmp(isa, "avx2") == 0) return f & XNN_CPU_AVX2 ? &g_avx2 : NULL;
  if (strcmp(isa, "avx512") == 0) return f & XNN_CPU_AVX512F ? &g_avx512 : NULL;
#endif
#if XNN_ARCH_ARM64
  if (strcmp(isa, "neon") == 0) return &g_neon;
#endif
  return NULL;
}

const xnn_kernels* xnn_kernels_select(void) {
  pthread_once(&g_sets_once, init_sets);
  const char* cap = getenv("XNN_ISA");
  if (cap && *cap) {
    const xnn_kernels* k = xnn_kernels_for_isa(cap);
    if (k) return k;
  }
#if XNN_ARCH_X86_64
  const uint32_t f = xnn_cpu_flags();
  if (f & XNN_CPU_AVX512F) return &g_avx512;
  if (f & XNN_CPU_AVX2) return &g_avx2;
#endif
#if XNN_ARCH_ARM64
  return &g_neon;
#endif
  return &g_ref;
}

const char* xnn_available_isas(void) {
#if XNN_ARCH_X86_64
  const uint32_t f = xnn_cpu_flags();
  if (f & XNN_CPU_AVX512F) return "ref avx2 avx512";
  if (f & XNN_CPU_AVX2) return "ref avx2";
#endif
#if XNN_ARCH_ARM64
  return "ref neon";
#endif
  return "ref";
}
