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

struct xnn_threadpool {
  int32_t size; /* threads including the caller */
  pthread_t* threads;
  worker_arg* args;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  atomic_uint_fast64_t generation; /* bumped per job */
  atomic_int sleeping;             /* workers waiting on `wake` */
  atomic_int busy;                 /* workers still in the current job */
  atomic_int stop;
  /* The current job, written before `generation` is bumped. */
  xnn_thread_task_fn fn;
  void* context;
  size_t range;
  atomic_size_t next;
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

static void run_items(xnn_threadpool* p, size_t thread) {
  const size_t range = p->range;
  for (;;) {
    size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    if (i >= range) break;
    p->fn(p->context, thread, i);
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
    run_items(p, thread);
    atomic_fetch_sub_explicit(&p->busy, 1, memory_order_release);
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
  atomic_init(&p->busy, 0);
  atomic_init(&p->stop, 0);
  atomic_init(&p->next, 0);
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
  if (!p || p->size == 1 || range <= 1) {
    for (size_t i = 0; i < range; i++) fn(context, 0, i);
    return;
  }
  p->fn = fn;
  p->context = context;
  p->range = range;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  atomic_store(&p->busy, p->size - 1);
  atomic_fetch_add(&p->generation, 1);
  if (atomic_load(&p->sleeping) > 0) {
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
  }
  run_items(p, 0);
  for (int i = 0; atomic_load_explicit(&p->busy, memory_order_acquire) > 0; i++) {
    if (i < SPIN_POLLS) cpu_relax();
    else sched_yield();
  }
}
