#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* Workers spin this many polls for the next job before sleeping on the condition variable: waking a
 * sleeping thread costs tens of microseconds (more in VMs), more than many layers take. After the last
 * layer of an inference (xnn_threadpool_rest) they spin a quarter of that, still longer than a caller
 * running inferences back to back takes between them (Python's predict: input copy and all), while one
 * that runs them now and then (a camera's frames) no longer pays a core's spinning after each: 65536
 * polls are about 1.3 ms on Zen 4. */
enum { SPIN_POLLS = 1 << 16, REST_POLLS = 1 << 14 };
/* Polls (about 20 us) after which a waiting thread yields its core between polls instead of pausing, each
 * yield counting as YIELD_COST polls of the spin. With another busy process on a 2-core host the scheduler
 * often puts the caller and the worker on one core: a thread pausing for a job or for the other's items
 * then held that core for its whole time slice while the other one waited for it. MobileNet v2 at two
 * threads with a busy loop pinned to the second core (Zen 4, medians of 40 runs): 14.4-14.7 ms -> 9.2-10.3
 * (TFLite 10.1-10.5 in the same minutes, xnn at one thread 8.6); level on an idle host, where a yield with
 * nothing else to run returns at once. */
enum { YIELD_POLLS = 1 << 10, YIELD_COST = 64 };

typedef struct worker_arg worker_arg;

/* Each job's items are cut into one contiguous range per thread. A thread runs its own range from the
 * front and then steals single items from the back of the others' ranges, so a thread that its core
 * gives little time (another process on it, a LITTLE core) holds up at most the item it is running. A
 * range's count of items left is tagged with the job id: a worker that wakes late can claim nothing of
 * a finished job (its compare-and-swap fails), and the caller waits for the items to be done, not for
 * every worker to check in. */
typedef struct slot {
  atomic_uint_fast64_t left; /* job id << 32 | items left in [front, back) */
  atomic_size_t back;        /* one past the last item not yet taken from the back */
  size_t front;              /* next item from the front: only the slot's own thread moves it */
  char pad[64 - 2 * sizeof(uint64_t) - sizeof(size_t)];
} slot;

struct xnn_threadpool {
  int32_t size; /* threads including the caller */
  pthread_t* threads;
  worker_arg* args;
  slot* slots; /* one per thread, each on its own cache line */
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  atomic_uint_fast64_t generation; /* bumped per job, what sleeping workers wait on */
  atomic_int sleeping;             /* workers waiting on `wake` */
  atomic_int stop;
  atomic_int resting;  /* set after an inference's last job, cleared by the next job */
  atomic_size_t done;  /* items of the current job finished */
  atomic_size_t batch; /* items a thread takes at a time from its own range */
  /* The current job, written before the slots are published. */
  xnn_thread_task_fn fn;
  void* context;
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

/* Takes up to `most` items of slot s for job `job`; returns how many (0: none left, or another job). */
static inline size_t take(slot* s, uint64_t job, size_t most) {
  uint64_t v = atomic_load_explicit(&s->left, memory_order_acquire);
  for (;;) {
    const size_t left = (size_t)(v & 0xffffffffu);
    if (v >> 32 != job || left == 0) return 0;
    const size_t n = left < most ? left : most;
    if (atomic_compare_exchange_weak_explicit(&s->left, &v, v - n, memory_order_acq_rel, memory_order_acquire))
      return n;
  }
}

/* Runs the items of job `job` it can get: its own range from the front, a few at a time (a take moves
 * a cache line; a 7x7 depthwise channel costs about as much), then the others' from the back, one at a
 * time. Items taken are pending until done, so the caller cannot post another job meanwhile: fn and
 * context read after a successful take are this job's. */
static void run_items(xnn_threadpool* p, uint64_t job, size_t thread) {
  const size_t n = (size_t)p->size, batch = atomic_load_explicit(&p->batch, memory_order_relaxed);
  slot* own = &p->slots[thread];
  size_t done = 0;
  for (size_t got; (got = take(own, job, batch)) != 0; done += got)
    for (size_t i = 0; i < got; i++) p->fn(p->context, thread, own->front++);
  for (size_t k = 1; k < n; k++) {
    slot* s = &p->slots[(thread + k) % n];
    while (take(s, job, 1)) {
      const size_t i = atomic_fetch_sub_explicit(&s->back, 1, memory_order_relaxed) - 1;
      p->fn(p->context, thread, i);
      done++;
    }
  }
  if (done) atomic_fetch_add_explicit(&p->done, done, memory_order_release);
}

static void* worker(void* arg) {
  xnn_threadpool* p = ((worker_arg*)arg)->pool;
  const size_t thread = ((worker_arg*)arg)->thread;
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = atomic_load(&p->generation);
    for (int i = 0; g == seen && i < (atomic_load_explicit(&p->resting, memory_order_relaxed) ? REST_POLLS : SPIN_POLLS) &&
                    !atomic_load_explicit(&p->stop, memory_order_relaxed);
         i++) {
      if (i < YIELD_POLLS) {
        cpu_relax();
      } else {
        sched_yield();
        i += YIELD_COST - 1;
      }
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
  atomic_init(&p->resting, 0);
  atomic_init(&p->done, 0);
  atomic_init(&p->batch, 1);
  p->slots = xnn_alloc_aligned((size_t)p->size * sizeof(slot));
  if (!p->slots) {
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->wake);
    free(p);
    return NULL;
  }
  for (int32_t i = 0; i < p->size; i++) {
    atomic_init(&p->slots[i].left, 0);
    atomic_init(&p->slots[i].back, 0);
  }
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
  xnn_free_aligned(p->slots);
  pthread_mutex_destroy(&p->mutex);
  pthread_cond_destroy(&p->wake);
  free(p);
}

int32_t xnn_threadpool_size(const xnn_threadpool* p) { return p ? p->size : 1; }

void xnn_threadpool_rest(xnn_threadpool* p) {
  if (p) atomic_store_explicit(&p->resting, 1, memory_order_relaxed);
}

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
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  atomic_store_explicit(&p->resting, 0, memory_order_relaxed);
  const size_t n = (size_t)p->size, base = range / n, extra = range % n;
  /* About 8 takes per range: items left to steal stay fine-grained, the counter stays quiet. */
  atomic_store_explicit(&p->batch, base / 8 ? base / 8 : 1, memory_order_relaxed);
  for (size_t t = 0, at = 0; t < n; t++) {
    const size_t len = base + (t < extra ? 1 : 0);
    slot* s = &p->slots[t];
    s->front = at;
    atomic_store_explicit(&s->back, at + len, memory_order_relaxed);
    atomic_store_explicit(&s->left, job << 32 | len, memory_order_release);
    at += len;
  }
  atomic_fetch_add(&p->generation, 1);
  if (atomic_load(&p->sleeping) > 0) {
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
  }
  run_items(p, job, 0);
  for (int i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < range; i++) {
    if (i < YIELD_POLLS) cpu_relax();
    else sched_yield();
  }
}
