#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* Workers spin this many polls for the next job before sleeping on the condition variable: waking a
 * sleeping thread costs tens of microseconds (more in VMs), more than many layers take. */
enum { SPIN_POLLS = 1 << 16 };

typedef struct worker_arg worker_arg;

/* Items are claimed from `work` = (job id << 32) | next item, by compare-and-swap: a worker that wakes
 * late (its core busy with another process) can claim nothing of a finished job, and joins the current
 * one if there is one. The caller waits for the items to be *done*, not for every worker to check in,
 * so a descheduled worker costs nothing when the caller has done all the items itself. */
struct xnn_threadpool {
  int32_t size; /* threads including the caller */
  pthread_t* threads;
  worker_arg* args;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  atomic_uint_fast64_t generation; /* bumped per job, what sleeping workers wait on */
  atomic_int sleeping;             /* workers waiting on `wake` */
  atomic_int stop;
  atomic_uint_fast64_t work;       /* job id << 32 | next item */
  atomic_size_t done;              /* items of the current job finished */
  /* The current job, written before `work` is published. */
  xnn_thread_task_fn fn;
  void* context;
  atomic_size_t range; /* atomic: a late worker may read it while the next job is being posted */
  atomic_size_t chunk; /* items per claim */
};

struct worker_arg {
  xnn_threadpool* pool;
  size_t thread;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

/* Runs items of job `job` until none is left (or the job has been replaced), claiming `chunk` at a time:
 * a claim moves the counter's cache line between cores, which costs more than a small item (a 7x7
 * depthwise channel) takes. */
static void run_items(xnn_threadpool* p, uint64_t job, size_t thread) {
  uint64_t w = atomic_load_explicit(&p->work, memory_order_acquire);
  for (;;) {
    if (w >> 32 != job) return;
    const size_t i = (size_t)(w & 0xffffffffu);
    /* A newer job's range can only make the CAS below fail. */
    const size_t range = atomic_load_explicit(&p->range, memory_order_relaxed);
    if (i >= range) return;
    const size_t n = XNN_MIN(atomic_load_explicit(&p->chunk, memory_order_relaxed), range - i);
    if (!atomic_compare_exchange_weak_explicit(&p->work, &w, w + n, memory_order_acq_rel, memory_order_acquire))
      continue;
    /* Items [i, i + n) of `job` are ours and not done, so the caller cannot have moved on yet. */
    for (size_t k = i; k < i + n; k++) p->fn(p->context, thread, k);
    atomic_fetch_add_explicit(&p->done, n, memory_order_release);
    w = atomic_load_explicit(&p->work, memory_order_acquire);
  }
}

static void* worker(void* arg) {
  xnn_threadpool* p = ((worker_arg*)arg)->pool;
  const size_t thread = ((worker_arg*)arg)->thread;
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = atomic_load(&p->generation);
    for (int i = 0; g == seen && i < SPIN_POLLS && !atomic_load_explicit(&p->stop, memory_order_relaxed); i++) {
      cpu_relax();
      g = atomic_load(&p->generation);
    }
    if (g == seen) {
      pthread_mutex_lock(&p->mutex);
      atomic_fetch_add(&p->sleeping, 1);
      /* Checked again under the lock: a job posted since the last poll is not missed. */
      while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->wake, &p->mutex);
      atomic_fetch_sub(&p->sleeping, 1);
      pthread_mutex_unlock(&p->mutex);
    }
    if (atomic_load(&p->stop)) break;
    seen = g;
    run_items(p, (uint32_t)g, thread);
  }
  return NULL;
}

int32_t xnn_num_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int32_t)n : 1;
}

xnn_threadpool* xnn_threadpool_create(int32_t num_threads) {
  xnn_threadpool* p = calloc(1, sizeof(*p));
  if (!p) return NULL;
  p->size = num_threads < 1 ? 1 : num_threads;
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->wake, NULL);
  atomic_init(&p->generation, 0);
  atomic_init(&p->sleeping, 0);
  atomic_init(&p->stop, 0);
  atomic_init(&p->work, 0);
  atomic_init(&p->done, 0);
  atomic_init(&p->range, 0);
  atomic_init(&p->chunk, 1);
  if (p->size > 1) {
    p->threads = calloc((size_t)p->size - 1, sizeof(pthread_t));
    p->args = calloc((size_t)p->size - 1, sizeof(worker_arg));
    if (!p->threads || !p->args) {
      p->size = 1;
      xnn_threadpool_destroy(p);
      return NULL;
    }
    for (int32_t i = 0; i < p->size - 1; i++) {
      p->args[i].pool = p;
      p->args[i].thread = (size_t)i + 1;
      if (pthread_create(&p->threads[i], NULL, worker, &p->args[i]) != 0) {
        p->size = i + 1; /* run with the workers that did start */
        break;
      }
    }
  }
  return p;
}

void xnn_threadpool_destroy(xnn_threadpool* p) {
  if (!p) return;
  pthread_mutex_lock(&p->mutex);
  atomic_store(&p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  if (p->threads)
    for (int32_t i = 0; i < p->size - 1; i++) pthread_join(p->threads[i], NULL);
  free(p->threads);
  free(p->args);
  pthread_mutex_destroy(&p->mutex);
  pthread_cond_destroy(&p->wake);
  free(p);
}

int32_t xnn_threadpool_size(const xnn_threadpool* p) { return p ? p->size : 1; }

typedef struct plain_task {
  xnn_task_fn fn;
  void* context;
} plain_task;

static void run_plain(void* context, size_t thread, size_t index) {
  (void)thread;
  const plain_task* t = context;
  t->fn(t->context, index);
}

void xnn_parallelize(xnn_threadpool* p, xnn_task_fn fn, void* context, size_t range) {
  plain_task t = {fn, context};
  xnn_parallelize_thread(p, run_plain, &t, range);
}

void xnn_parallelize_thread(xnn_threadpool* p, xnn_thread_task_fn fn, void* context, size_t range) {
  if (!p || p->size == 1 || range <= 1 || range > 0xffffffffu) {
    for (size_t i = 0; i < range; i++) fn(context, 0, i);
    return;
  }
  const uint64_t job = (uint32_t)(atomic_load_explicit(&p->generation, memory_order_relaxed) + 1);
  p->fn = fn;
  p->context = context;
  atomic_store_explicit(&p->range, range, memory_order_relaxed);
  /* About 8 claims per thread: few enough to keep the counter quiet, enough to even out uneven items. */
  const size_t chunk = range / ((size_t)p->size * 8);
  atomic_store_explicit(&p->chunk, chunk ? chunk : 1, memory_order_relaxed);
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  atomic_store_explicit(&p->work, job << 32, memory_order_release);
  atomic_fetch_add(&p->generation, 1);
  if (atomic_load(&p->sleeping) > 0) {
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
  }
  run_items(p, job, 0);
  for (int i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < range; i++) {
    if (i < SPIN_POLLS) cpu_relax();
    else sched_yield();
  }
}
