/* Internal helpers shared by the whole C core: error reporting and checked arithmetic. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "xnn/xnn.h"

#if defined(__GNUC__)
#define XNN_INTERNAL __attribute__((visibility("hidden")))
#define XNN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define XNN_INTERNAL
#define XNN_PRINTF(a, b)
#endif

/* Records the thread's last error and returns `status`, so call sites read `return xnn_error(...)`. */
XNN_INTERNAL xnn_status xnn_error(xnn_status status, const char* fmt, ...) XNN_PRINTF(2, 3);
/* Prefixes the current error message with a context such as "layer 'conv1' (Convolution): ". */
XNN_INTERNAL void xnn_error_prefix(const char* fmt, ...) XNN_PRINTF(1, 2);

XNN_INTERNAL void* xnn_alloc(size_t size);        /* zeroed; NULL on failure or size overflow */
XNN_INTERNAL void* xnn_alloc_aligned(size_t size); /* 64-byte aligned, not zeroed */
XNN_INTERNAL void xnn_free_aligned(void* p);
XNN_INTERNAL char* xnn_strdup(const char* s);

XNN_INTERNAL int64_t xnn_shape_numel(const xnn_shape* s);
/* "1x3x224x224" into buf. */
XNN_INTERNAL const char* xnn_shape_str(const xnn_shape* s, char* buf, size_t size);

#define XNN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define XNN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define XNN_CHECK(expr)                  \
  do {                                   \
    xnn_status _s = (expr);              \
    if (_s != XNN_OK) return _s;         \
  } while (0)
