/* Internal helpers shared by the whole C core: error reporting and checked arithmetic. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "xnn/xnn.h"

#if defined(__x86_64__) || defined(_M_X64)
#define XNN_ARCH_X86_64 1
#else
#define XNN_ARCH_X86_64 0
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#define XNN_ARCH_ARM64 1
#else
#define XNN_ARCH_ARM64 0
#endif

#if defined(__GNUC__)
#define XNN_INTERNAL __attribute__((visibility("hidden")))
#define XNN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define XNN_INTERNAL
#define XNN_PRINTF(a, b)
#endif

/* Records the thread's last error and returns `status`, so call sites read `return xnn_error(...)`. */
XNN_INTERNAL xnn_status xnn_error(xnn_status status, const char* fmt, ...) XNN_PRINTF(2, 3);
XNN_INTERNAL xnn_status xnn_verror(xnn_status status, const char* fmt, va_list ap);
/* Prefixes the current error message with a context such as "layer 'conv1' (Convolution): ". */
XNN_INTERNAL void xnn_error_prefix(const char* fmt, ...) XNN_PRINTF(1, 2);

XNN_INTERNAL void* xnn_alloc(size_t size);        /* zeroed; NULL on failure or size overflow */
XNN_INTERNAL void* xnn_alloc_aligned(size_t size); /* 64-byte aligned, not zeroed; 2 MB pages if large */
/* Whether the OS gives 2 MB pages to memory that asks (Linux THP "always" or "madvise"; XNN_HUGE_PAGES=0: no). */
XNN_INTERNAL int xnn_huge_pages(void);
XNN_INTERNAL void xnn_free_aligned(void* p);
XNN_INTERNAL char* xnn_strdup(const char* s);
/* Reads a whole file into a malloc'd buffer (XNN_ERROR_IO naming the path on failure). */
XNN_INTERNAL xnn_status xnn_read_file(const char* path, char** data, size_t* size);

XNN_INTERNAL int64_t xnn_shape_numel(const xnn_shape* s);

/* Limits that keep every size computation inside 64-bit arithmetic: a dimension fits int32, a tensor
 * has at most 2^33 elements (32 GiB of floats). */
#define XNN_MAX_DIM ((int64_t)INT32_MAX)
#define XNN_MAX_ELEMENTS ((int64_t)1 << 33)
/* Element count, or -1 if a dimension is outside [1, XNN_MAX_DIM] or the count exceeds XNN_MAX_ELEMENTS. */
XNN_INTERNAL int64_t xnn_shape_numel_checked(const xnn_shape* s);
/* a * b for statistics such as MAC counts: saturates at INT64_MAX instead of overflowing. */
static inline int64_t xnn_mul_sat(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
/* "1x3x224x224" into buf. */
XNN_INTERNAL const char* xnn_shape_str(const xnn_shape* s, char* buf, size_t size);

#define XNN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define XNN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define XNN_CHECK(expr)                  \
  do {                                   \
    xnn_status _s = (expr);              \
    if (_s != XNN_OK) return _s;         \
  } while (0)
