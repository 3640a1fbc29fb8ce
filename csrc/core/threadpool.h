/* A persistent thread pool: workers are created once, spin briefly and then sleep between jobs; the calling
 * thread works too. Each thread gets a contiguous range of a job's items and steals single items from the
 * others' ranges when done, so uneven items and uneven cores balance themselves. */
#pragma once
#include "core/common.h"

typedef struct xnn_threadpool xnn_threadpool;
typedef void (*xnn_task_fn)(void* context, size_t index);
/* A task that also learns which thread runs it (0 = the caller, < pool size), to use per-thread scratch. */
typedef void (*xnn_thread_task_fn)(void* context, size_t thread, size_t index);

/* `num_threads` counts the caller; 1 (or less) creates no worker. NULL when out of memory. */
XNN_INTERNAL xnn_threadpool* xnn_threadpool_create(int32_t num_threads);
XNN_INTERNAL void xnn_threadpool_destroy(xnn_threadpool* pool);
XNN_INTERNAL int32_t xnn_threadpool_size(const xnn_threadpool* pool);
/* Calls fn(context, i) for every i < range, spread over the pool; returns when all are done.
 * A NULL pool runs inline. */
XNN_INTERNAL void xnn_parallelize(xnn_threadpool* pool, xnn_task_fn fn, void* context, size_t range);
XNN_INTERNAL void xnn_parallelize_thread(xnn_threadpool* pool, xnn_thread_task_fn fn, void* context, size_t range);
/* No job is coming soon (an inference has ended): workers go to sleep after a short spin instead of a
 * long one. The next job undoes it. */
XNN_INTERNAL void xnn_threadpool_rest(xnn_threadpool* pool);
/* One core per online CPU (at least 1). */
XNN_INTERNAL int32_t xnn_num_cores(void);
