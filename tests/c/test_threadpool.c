/* The thread pool (csrc/core/threadpool.c): every item of every job runs exactly once, on a valid thread
 * index, for pools of 1-4 threads and jobs of 0-5000 items posted back to back; also while other threads
 * keep every core busy, so that workers wake late (the case the job-tagged item counter exists for), and
 * across pool create/destroy cycles. */
#include <pthread.h>
#include <stdatomic.h>

#include "core/threadpool.h"
#include "test_util.h"

enum { MAX_ITEMS = 5000 };

typedef struct job {
  atomic_int hits[MAX_ITEMS];
  atomic_int bad_thread;
  size_t threads;
  unsigned spin; /* busy work per item, so that items overlap across threads */
} job;

static void item(void* ctx, size_t thread, size_t i) {
  job* j = ctx;
  if (thread >= j->threads) atomic_fetch_add(&j->bad_thread, 1);
  volatile unsigned x = 0;
  for (unsigned s = 0; s < j->spin; s++) x += s;
  atomic_fetch_add(&j->hits[i], 1);
}

static void plain_item(void* ctx, size_t i) { item(ctx, 0, i); }

static atomic_int g_hog_stop;

static void* hog(void* arg) {
  (void)arg;
  volatile unsigned long x = 0;
  while (!atomic_load_explicit(&g_hog_stop, memory_order_relaxed)) x++;
  return NULL;
}

static void run_jobs(xnn_threadpool* pool, size_t threads, int jobs, uint32_t seed, const char* what) {
  static job j;
  for (int n = 0; n < jobs; n++) {
    seed = seed * 1664525u + 1013904223u;
    const size_t range = n % 7 == 0 ? (seed >> 8) % MAX_ITEMS : (seed >> 8) % 40;
    for (size_t i = 0; i < MAX_ITEMS; i++) atomic_store(&j.hits[i], 0);
    atomic_store(&j.bad_thread, 0);
    j.threads = threads;
    j.spin = (seed >> 4) % 3 == 0 ? 2000 : 0;
    if (n % 2)
      xnn_parallelize_thread(pool, item, &j, range);
    else
      xnn_parallelize(pool, plain_item, &j, range);
    size_t wrong = 0;
    for (size_t i = 0; i < MAX_ITEMS; i++) wrong += atomic_load(&j.hits[i]) != (i < range ? 1 : 0);
    CHECK(wrong == 0, "%s: %zu threads, job %d of %zu items: %zu items ran not exactly once", what, threads, n,
          range, wrong);
    CHECK(atomic_load(&j.bad_thread) == 0, "%s: thread index out of range", what);
  }
}

int main(void) {
  for (int32_t threads = 1; threads <= 4; threads++) {
    xnn_threadpool* pool = xnn_threadpool_create(threads);
    CHECK(pool != NULL, "create(%d)", threads);
    if (!pool) continue;
    CHECK(xnn_threadpool_size(pool) == threads, "size %d != %d", xnn_threadpool_size(pool), threads);
    run_jobs(pool, (size_t)threads, 400, 7u + (uint32_t)threads, "idle cores");
    xnn_threadpool_destroy(pool);
  }
  /* Every core busy with other threads: the pool's workers get the CPU late and seldom. */
  const int32_t cores = xnn_num_cores();
  const int hogs = cores < 8 ? cores : 8;
  pthread_t hog_threads[8];
  atomic_store(&g_hog_stop, 0);
  int started = 0;
  for (int i = 0; i < hogs; i++) started += pthread_create(&hog_threads[started], NULL, hog, NULL) == 0;
  for (int32_t threads = 2; threads <= 3; threads++) {
    xnn_threadpool* pool = xnn_threadpool_create(threads);
    CHECK(pool != NULL, "create(%d)", threads);
    if (!pool) continue;
    run_jobs(pool, (size_t)threads, 300, 99u + (uint32_t)threads, "busy cores");
    xnn_threadpool_destroy(pool);
  }
  atomic_store(&g_hog_stop, 1);
  for (int i = 0; i < started; i++) pthread_join(hog_threads[i], NULL);
  /* Pools created and destroyed in a loop, some without ever running a job. */
  for (int i = 0; i < 50; i++) {
    xnn_threadpool* pool = xnn_threadpool_create(1 + i % 4);
    CHECK(pool != NULL, "create in loop");
    if (pool && i % 2) run_jobs(pool, (size_t)(1 + i % 4), 3, (uint32_t)i, "create/destroy loop");
    xnn_threadpool_destroy(pool);
  }
  xnn_threadpool_destroy(NULL);
  if (g_failures) fprintf(stderr, "%d failure(s)\n", g_failures);
  else printf("thread pool: all checks passed\n");
  return g_failures ? 1 : 0;
}
