#include "core/kernels.h"

#include <stdlib.h>

static const xnn_kernels g_ref = {
    .isa = "ref",
    .gemm = xnn_f32_gemm__ref,
    .fc = xnn_f32_fc__ref,
    .dwconv = xnn_f32_dwconv__ref,
    .maxpool = xnn_f32_maxpool__ref,
    .avgpool = xnn_f32_avgpool__ref,
    .vact = xnn_f32_vact__ref,
    .vsigmoid = xnn_f32_vsigmoid__ref,
    .vtanh = xnn_f32_vtanh__ref,
};

const xnn_kernels* xnn_kernels_select(void) {
  /* Only the portable kernels exist so far; the ISA-specific tables join here, chosen by xnn_cpu_flags()
   * and capped by getenv("XNN_ISA"). */
  return &g_ref;
}
