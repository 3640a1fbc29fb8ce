#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct xnn_threadpool {
  int32_t size; /* threads including the caller */
  pthread_t* threads;
  pthread_mutex_t mutex;
  pthread_cond_t wake, done;
  uint64_t generation; /* bumped per job, under mutex */
  int32_t busy;        /* workers still in the current job, under mutex */
  int stop;
  /* The current job. */
  xnn_task_fn fn;
  void* context;
  size_t range;
  atomic_size_t next;
};

static void run_items(xnn_threadpool* p) {
  const size_t range = p->range;
  for (;;) {
    size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    if (i >= range) break;
    p->fn(p->context, i);
  }
}

static void* worker(void* arg) {
  xnn_threadpool* p = arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mutex);
  for (;;) {
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mutex);
    if (p->stop) break;
    seen = p->generation;
    pthread_mutex_unlock(&p->mutex);
    run_items(p);
    pthread_mutex_lock(&p->mutex);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mutex);
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
  pthread_cond_init(&p->done, NULL);
  if (p->size > 1) {
    p->threads = calloc((size_t)p->size - 1, sizeof(pthread_t));
    if (!p->threads) {
      xnn_threadpool_destroy(p);
      return NULL;
    }
    for (int32_t i = 0; i < p->size - 1; i++) {
      if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
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
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  if (p->threads)
    for (int32_t i = 0; i < p->size - 1; i++) pthread_join(p->threads[i], NULL);
  free(p->threads);
  pthread_mutex_destroy(&p->mutex);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p);
}

int32_t xnn_threadpool_size(const xnn_threadpool* p) { return p ? p->size : 1; }

void xnn_parallelize(xnn_threadpool* p, xnn_task_fn fn, void* context, size_t range) {
  if (!p || p->size == 1 || range <= 1) {
    for (size_t i = 0; i < range; i++) fn(context, i);
    return;
  }
  pthread_mutex_lock(&p->mutex);
  p->fn = fn;
  p->context = context;
  p->range = range;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  p->busy = p->size - 1;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  run_items(p);
  pthread_mutex_lock(&p->mutex);
  while (p->busy > 0) pthread_cond_wait(&p->done, &p->mutex);
  pthread_mutex_unlock(&p->mutex);
}
