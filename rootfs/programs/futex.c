/* futex: the raw futex(2) operations, with threads (and one child process).
 *   - FUTEX_WAIT with a value that does not match: EAGAIN (shared and
 *     _PRIVATE); with a 20 ms relative timeout: ETIMEDOUT after >= 20 ms;
 *     with tv_nsec out of range: EINVAL; on an unmapped address: EFAULT; on
 *     an unaligned address: EINVAL; an unknown operation: ENOSYS;
 *   - FUTEX_WAKE with no waiters returns 0; a thread blocked in FUTEX_WAIT is
 *     woken by FUTEX_WAKE, which returns 1 (the waker retries until it gets
 *     1, so it never depends on when the waiter got to sleep);
 *   - FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline, and with
 *     FUTEX_CLOCK_REALTIME, time out at the deadline; bitset 0 is EINVAL;
 *     a FUTEX_WAKE_BITSET that does not match the waiter's bitset wakes
 *     nobody, one that matches wakes it;
 *   - FUTEX_CMP_REQUEUE: 3 waiters on futex A are moved to B (nr_wake 0,
 *     repeated until all 3 moved); with a wrong expected value it gives
 *     EAGAIN; then from B: wake 1, requeue the other 2 to C (returns 3);
 *     exactly one waiter returned, B has no waiters left, and FUTEX_WAKE on
 *     C wakes the last 2;
 *   - 10000 round trips of a ping-pong between two threads with
 *     FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE, both sides counting 10000;
 *   - a FUTEX_WAKE on a MAP_SHARED page wakes a waiter in a child process.
 * Output: a header line, 27 check lines, "futex: PASS". */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "guest_test.h"

#define MS 1000000LL

/* From <linux/futex.h>, which musl-gcc does not see. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY ((int)0xffffffff)

static long futex(volatile int *uaddr, int op, int val, const struct timespec *ts, volatile int *uaddr2, int val3) {
  return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

/* FUTEX_CMP_REQUEUE passes nr_requeue where the timeout would be. */
static long cmp_requeue(volatile int *from, int nr_wake, int nr_requeue, volatile int *to, int expected) {
  return syscall(SYS_futex, from, FUTEX_CMP_REQUEUE, nr_wake, (unsigned long)nr_requeue, to, expected);
}

static int load(volatile int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void store(volatile int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static void add(volatile int *p, int v) { __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }

/* Waits (up to 10 s) until *p >= v. */
static int await_at_least(volatile int *p, int v) {
  int64_t deadline = mono_ns() + 10000 * MS;
  while (load(p) < v) {
    if (mono_ns() > deadline) return 0;
    sched_yield();
  }
  return 1;
}

/* Calls FUTEX_WAKE(-ish) op until it reports a woken waiter (up to 10 s);
 * returns the last result. */
static long wake_until_woken(volatile int *f, int op, int n, int bitset) {
  int64_t deadline = mono_ns() + 10000 * MS;
  long r;
  for (;;) {
    r = futex(f, op, n, NULL, NULL, bitset);
    if (r != 0 || mono_ns() > deadline) return r;
    sleep_ms(1);
  }
}

static void errors(void) {
  volatile int f = 1;
  check_ret(futex(&f, FUTEX_WAIT, 0, NULL, NULL, 0), -1, EAGAIN,
            "FUTEX_WAIT with a value that does not match gives EAGAIN");
  check_ret(futex(&f, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), -1, EAGAIN,
            "FUTEX_WAIT_PRIVATE with a value that does not match gives EAGAIN");
  struct timespec ts = {0, 20 * MS};
  int64_t t0 = mono_ns();
  long r = futex(&f, FUTEX_WAIT, 1, &ts, NULL, 0);
  int e = errno;
  int64_t took = mono_ns() - t0;
  check_call(r, e, -1, ETIMEDOUT, "FUTEX_WAIT with a 20 ms timeout gives ETIMEDOUT");
  check(took >= 20 * MS, "after at least 20 ms");
  t0 = mono_ns();
  r = futex(&f, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
  e = errno;
  took = mono_ns() - t0;
  check(r == -1 && e == ETIMEDOUT && took >= 20 * MS, "FUTEX_WAIT_PRIVATE times out the same way");
  struct timespec bad = {0, 2000000000L};
  check_ret(futex(&f, FUTEX_WAIT, 1, &bad, NULL, 0), -1, EINVAL, "FUTEX_WAIT with tv_nsec out of range gives EINVAL");
  volatile int *unmapped = (volatile int *)(uintptr_t)0x10;
  check_ret(futex(unmapped, FUTEX_WAIT, 0, NULL, NULL, 0), -1, EFAULT,
            "FUTEX_WAIT on an unmapped address gives EFAULT");
  static int words[2];
  volatile int *unaligned = (volatile int *)((char *)words + 1);
  check_ret(futex(unaligned, FUTEX_WAIT, 0, NULL, NULL, 0), -1, EINVAL,
            "FUTEX_WAIT on an unaligned address gives EINVAL");
  check_ret(futex(&f, 99, 0, NULL, NULL, 0), -1, ENOSYS, "an unknown futex operation gives ENOSYS");
  check_ret(futex(&f, FUTEX_WAKE, 1, NULL, NULL, 0), 0, 0, "FUTEX_WAKE with no waiters returns 0");

  /* Absolute deadlines. */
  int64_t deadline = mono_ns() + 20 * MS;
  struct timespec abs_ts = ns_to_ts(deadline);
  r = futex(&f, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs_ts, NULL, FUTEX_BITSET_MATCH_ANY);
  e = errno;
  check(r == -1 && e == ETIMEDOUT && mono_ns() >= deadline,
        "FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline 20 ms ahead times out at it");
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t rt_deadline = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + 20 * MS;
  abs_ts = ns_to_ts(rt_deadline);
  t0 = mono_ns();
  r = futex(&f, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 1, &abs_ts, NULL, FUTEX_BITSET_MATCH_ANY);
  e = errno;
  took = mono_ns() - t0;
  check(r == -1 && e == ETIMEDOUT && took >= 15 * MS && took < 5000 * MS,
        "FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME with a deadline 20 ms ahead times out");
  check_ret(futex(&f, FUTEX_WAIT_BITSET, 1, NULL, NULL, 0), -1, EINVAL, "FUTEX_WAIT_BITSET with bitset 0 gives EINVAL");
}

/* One waiter thread. */
struct waiter {
  volatile int *word;
  int op, val, bitset;
  volatile int *ready, *done;
  long ret;
  int err;
};

static void *waiter_main(void *arg) {
  struct waiter *w = arg;
  add(w->ready, 1);
  w->ret = futex(w->word, w->op, w->val, NULL, NULL, w->bitset);
  w->err = errno;
  add(w->done, 1);
  return NULL;
}

static void wake_tests(void) {
  volatile int f = 0, ready = 0, done = 0;
  struct waiter w = {&f, FUTEX_WAIT, 0, 0, &ready, &done, -1, 0};
  pthread_t t;
  if (!check(pthread_create(&t, NULL, waiter_main, &w) == 0, "start a FUTEX_WAIT waiter thread")) return;
  await_at_least(&ready, 1);
  long r = wake_until_woken(&f, FUTEX_WAKE, 1, 0);
  pthread_join(t, NULL);
  check(r == 1 && w.ret == 0, "FUTEX_WAKE woke the waiting thread and returned 1; its FUTEX_WAIT returned 0");

  /* Bitsets. */
  ready = done = 0;
  struct waiter wb = {&f, FUTEX_WAIT_BITSET, 0, 0x1, &ready, &done, -1, 0};
  if (pthread_create(&t, NULL, waiter_main, &wb) != 0) {
    check(0, "start a FUTEX_WAIT_BITSET waiter thread");
    return;
  }
  await_at_least(&ready, 1);
  sleep_ms(20); /* very likely asleep by now; the check below holds either way */
  long r2 = futex(&f, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0x2);
  int still = load(&done) == 0;
  long r1 = wake_until_woken(&f, FUTEX_WAKE_BITSET, 1, 0x1);
  pthread_join(t, NULL);
  check(r2 == 0 && still, "FUTEX_WAKE_BITSET with a bitset that does not match the waiter's wakes nobody");
  check(r1 == 1 && wb.ret == 0, "FUTEX_WAKE_BITSET with a matching bitset wakes it (returns 1)");
}

static void requeue_tests(void) {
  volatile int a = 0, b = 0, c = 0, ready = 0, done = 0;
  struct waiter w[3];
  pthread_t t[3];
  int started = 0;
  for (int i = 0; i < 3; i++) {
    w[i] = (struct waiter){&a, FUTEX_WAIT, 0, 0, &ready, &done, -1, 0};
    if (pthread_create(&t[i], NULL, waiter_main, &w[i]) == 0) started++;
  }
  if (!check(started == 3, "start 3 FUTEX_WAIT waiters on futex A")) return;
  await_at_least(&ready, 3);
  /* Move everybody that is asleep on A to B until all 3 have moved. */
  long moved = 0;
  int64_t deadline = mono_ns() + 10000 * MS;
  while (moved < 3 && mono_ns() < deadline) {
    long r = cmp_requeue(&a, 0, INT_MAX, &b, 0);
    if (r < 0) break;
    moved += r;
    if (moved < 3) sleep_ms(1);
  }
  check(moved == 3 && load(&done) == 0, "FUTEX_CMP_REQUEUE (nr_wake 0) moved all 3 waiters from A to B");
  check_ret(cmp_requeue(&b, 1, INT_MAX, &c, 99), -1, EAGAIN,
            "FUTEX_CMP_REQUEUE with a wrong expected value gives EAGAIN");
  long r = cmp_requeue(&b, 1, INT_MAX, &c, 0);
  check(r == 3, "FUTEX_CMP_REQUEUE from B: wake 1, requeue the rest to C returns 3");
  int one = await_at_least(&done, 1);
  sleep_ms(20);
  check(one && load(&done) == 1, "exactly one waiter returned");
  check_ret(futex(&b, FUTEX_WAKE, INT_MAX, NULL, NULL, 0), 0, 0, "no waiters are left on B");
  r = futex(&c, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  int all_zero = 1;
  for (int i = 0; i < 3; i++) all_zero &= w[i].ret == 0;
  check(r == 2 && all_zero, "FUTEX_WAKE on C wakes the 2 requeued waiters; every FUTEX_WAIT returned 0");
}

/* Ping-pong */
#define ROUNDS 10000
static volatile int turn; /* 0: main's turn, 1: the partner's */
static volatile int partner_count;

static void *partner(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    while (load(&turn) != 1) futex(&turn, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    partner_count++;
    store(&turn, 0);
    futex(&turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  }
  return NULL;
}

static void pingpong(void) {
  pthread_t t;
  if (!check(pthread_create(&t, NULL, partner, NULL) == 0, "start the ping-pong partner thread")) return;
  int main_count = 0;
  for (int i = 0; i < ROUNDS; i++) {
    store(&turn, 1);
    futex(&turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    while (load(&turn) != 0) futex(&turn, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
    main_count++;
  }
  pthread_join(t, NULL);
  check(main_count == ROUNDS && partner_count == ROUNDS && turn == 0,
        "10000 ping-pong round trips with FUTEX_WAIT_PRIVATE/FUTEX_WAKE_PRIVATE, both sides counted 10000");
}

static void cross_process(void) {
  volatile int *sh = mmap(NULL, GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) {
    check(0, "mmap a MAP_SHARED page");
    return;
  }
  volatile int *word = &sh[0], *ready = &sh[1];
  pid_t pid = gt_fork();
  if (pid == 0) {
    add(ready, 1);
    long r;
    do r = futex(word, FUTEX_WAIT, 0, NULL, NULL, 0);
    while (r == -1 && errno == EINTR);
    _exit(r == 0 ? 0 : 1);
  }
  long r = -1;
  if (pid > 0 && await_at_least(ready, 1)) r = wake_until_woken(word, FUTEX_WAKE, 1, 0);
  int st = -1;
  if (pid > 0 && wait_for(pid, &st, 0) != pid) st = -1;
  check(r == 1 && st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "FUTEX_WAKE on a MAP_SHARED page woke a FUTEX_WAIT in a child process (returned 1)");
}

int main(void) {
  printf("futex: wait, wake, bitsets, requeue\n");
  errors();
  wake_tests();
  requeue_tests();
  pingpong();
  cross_process();
  return finish("futex");
}
