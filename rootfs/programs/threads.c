/* threads: POSIX threads on top of clone, futex and thread-local storage.
 *   1. 8 threads each add 1 to a mutex-protected counter 100000 times: the
 *      total is 800000; pthread_join() hands back each thread's return value;
 *   2. a producer and a consumer pass the items 1..1000 through a bounded
 *      buffer of 4 slots guarded by a mutex and two condition variables: the
 *      consumer gets all of them, in order;
 *   3. every thread has its own gettid(), different from the main thread's
 *      (which equals getpid()), and the same getpid() (only compared);
 *   4. a thread that leaves through pthread_exit() from a nested call hands
 *      its value to pthread_join();
 *   5. __thread variables (one initialised, in .tdata; one zero, in .tbss)
 *      start with their initial values in every thread and keep per-thread
 *      values while other threads change theirs;
 *   6. 200 short-lived threads are created and joined one after another.
 * Output: a header line, 12 check lines, "threads: PASS". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "guest_test.h"

#define NTHREADS 8
#define INCREMENTS 100000
#define ITEMS 1000
#define SLOTS 4

static pid_t my_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/* 1 and 3 and 5 */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread int tls_init = 1234;
static __thread long tls_zero;
static pthread_barrier_t tls_barrier;

struct worker {
  int index;
  pid_t tid, pid;
  int tls_start_ok, tls_kept_ok;
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  w->tid = my_gettid();
  w->pid = getpid();
  w->tls_start_ok = tls_init == 1234 && tls_zero == 0;
  tls_init = 5000 + w->index;
  tls_zero = 7000 + w->index;
  for (int i = 0; i < INCREMENTS; i++) {
    pthread_mutex_lock(&counter_lock);
    counter++;
    pthread_mutex_unlock(&counter_lock);
  }
  /* Every thread has written its TLS before any of them reads it back. */
  pthread_barrier_wait(&tls_barrier);
  w->tls_kept_ok = tls_init == 5000 + w->index && tls_zero == 7000 + w->index;
  return (void *)(intptr_t)(1000 + w->index);
}

/* 2 */
static pthread_mutex_t buf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int buf[SLOTS], head, count;
static int max_count_seen;

static void *producer(void *arg) {
  (void)arg;
  for (int item = 1; item <= ITEMS; item++) {
    pthread_mutex_lock(&buf_lock);
    while (count == SLOTS) pthread_cond_wait(&not_full, &buf_lock);
    buf[(head + count) % SLOTS] = item;
    count++;
    if (count > max_count_seen) max_count_seen = count;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&buf_lock);
  }
  return (void *)(intptr_t)ITEMS;
}

struct consumed {
  int n, in_order;
  long sum;
};

static void *consumer(void *arg) {
  struct consumed *c = arg;
  c->in_order = 1;
  for (int expect = 1; expect <= ITEMS; expect++) {
    pthread_mutex_lock(&buf_lock);
    while (count == 0) pthread_cond_wait(&not_empty, &buf_lock);
    int item = buf[head];
    head = (head + 1) % SLOTS;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&buf_lock);
    if (item != expect) c->in_order = 0;
    c->sum += item;
    c->n++;
  }
  return c;
}

/* 4 */
__attribute__((noinline)) static void leave_early(void) { pthread_exit((void *)(intptr_t)77); }

static volatile int after_exit_reached;
static void *exiting_thread(void *arg) {
  (void)arg;
  leave_early();
  after_exit_reached = 1;
  return NULL;
}

int main(void) {
  printf("threads: pthreads, mutex, condition variables, TLS\n");
  pid_t main_tid = my_gettid();
  tls_init = 1;
  tls_zero = 2;

  struct worker w[NTHREADS];
  pthread_t th[NTHREADS];
  pthread_barrier_init(&tls_barrier, NULL, NTHREADS);
  int created = 0;
  for (int i = 0; i < NTHREADS; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].index = i;
    if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0) break;
    created++;
  }
  check(created == NTHREADS, "created %d threads", NTHREADS);
  if (created != NTHREADS) return finish("threads");
  int values_ok = 1;
  for (int i = 0; i < NTHREADS; i++) {
    void *ret = NULL;
    if (pthread_join(th[i], &ret) != 0 || ret != (void *)(intptr_t)(1000 + i)) values_ok = 0;
  }
  check(values_ok, "pthread_join returned each thread's return value");
  check(counter == (long)NTHREADS * INCREMENTS, "the mutex-protected counter is %d", NTHREADS * INCREMENTS);

  int tids_distinct = 1, pids_same = 1;
  for (int i = 0; i < NTHREADS; i++) {
    if (w[i].tid <= 0 || w[i].tid == main_tid) tids_distinct = 0;
    for (int j = 0; j < i; j++)
      if (w[i].tid == w[j].tid) tids_distinct = 0;
    if (w[i].pid != getpid()) pids_same = 0;
  }
  check(main_tid == getpid(), "the main thread's gettid() equals getpid()");
  check(tids_distinct, "every thread has its own gettid(), none equal to the main thread's");
  check(pids_same, "every thread has the same getpid() as the main thread");
  int tls_start = 1, tls_kept = 1;
  for (int i = 0; i < NTHREADS; i++) {
    tls_start &= w[i].tls_start_ok;
    tls_kept &= w[i].tls_kept_ok;
  }
  check(tls_start, "__thread variables start with their initial values (1234 and 0) in every thread");
  check(tls_kept && tls_init == 1 && tls_zero == 2, "__thread values are per thread (main thread's unchanged)");

  struct consumed c;
  memset(&c, 0, sizeof c);
  pthread_t prod, cons;
  void *pret = NULL, *cret = NULL;
  int ok = pthread_create(&cons, NULL, consumer, &c) == 0 && pthread_create(&prod, NULL, producer, NULL) == 0 &&
           pthread_join(prod, &pret) == 0 && pthread_join(cons, &cret) == 0;
  check(ok && pret == (void *)(intptr_t)ITEMS && cret == &c, "producer and consumer threads joined");
  check(c.n == ITEMS && c.in_order && c.sum == (long)ITEMS * (ITEMS + 1) / 2 && max_count_seen <= SLOTS,
        "the consumer got items 1..%d in order through a %d-slot buffer", ITEMS, SLOTS);

  pthread_t ex;
  void *eret = NULL;
  ok = pthread_create(&ex, NULL, exiting_thread, NULL) == 0 && pthread_join(ex, &eret) == 0;
  check(ok && eret == (void *)(intptr_t)77 && !after_exit_reached,
        "pthread_exit(77) from a nested call ends the thread and pthread_join gets 77");

  /* Many short-lived threads, created and joined one at a time. */
  int churn_ok = 1;
  for (int i = 0; i < 200 && churn_ok; i++) {
    pthread_t t;
    void *r = NULL;
    if (pthread_create(&t, NULL, exiting_thread, NULL) != 0 || pthread_join(t, &r) != 0 || r != (void *)(intptr_t)77)
      churn_ok = 0;
  }
  check(churn_ok, "200 threads created and joined one after another");
  return finish("threads");
}
