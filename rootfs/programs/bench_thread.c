/* bench_thread create N | bench_thread futex N
 *
 * Costs of threads, one JSON line per run (after a warm-up of N/10 + 1):
 *   create: {"bench":"thread_create_join","iters":N,"ns_per_op":X}
 *           pthread_create of a thread that returns at once, and its join
 *   futex:  {"bench":"futex_pingpong","iters":N,"ns_per_op":X}
 *           one round trip between two threads of the process, each waiting
 *           with FUTEX_WAIT on a word the other sets and wakes (two wake-ups)
 * The figures differ between runs; they are for bench/, not compared.
 * Exit status: 0; 2 if a call fails; 64 bad usage. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Not every libc's headers have <linux/futex.h> (musl-gcc's have none). */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *nothing(void *arg) { return arg; }

static int create_rounds(long n) {
  for (long i = 0; i < n; i++) {
    pthread_t th;
    int e = pthread_create(&th, NULL, nothing, NULL);
    if (e == 0) e = pthread_join(th, NULL);
    if (e) {
      printf("bench_thread: pthread_create/join failed: %s\n", strerror(e));
      return 2;
    }
  }
  return 0;
}

/* The ball: 1 while the partner has it, 0 while the main thread has it. */
static _Atomic int ball;
static long partner_rounds;

static void futex_wait(int expected) { syscall(SYS_futex, &ball, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0); }
static void futex_wake(void) { syscall(SYS_futex, &ball, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void *partner(void *arg) {
  (void)arg;
  for (long i = 0; i < partner_rounds; i++) {
    while (atomic_load(&ball) != 1) futex_wait(0);
    atomic_store(&ball, 0);
    futex_wake();
  }
  return NULL;
}

static void pingpong(long n) {
  for (long i = 0; i < n; i++) {
    atomic_store(&ball, 1);
    futex_wake();
    while (atomic_load(&ball) != 0) futex_wait(1);
  }
}

int main(int argc, char **argv) {
  char *end = NULL;
  long n = argc == 3 ? strtol(argv[2], &end, 10) : 0;
  int futex = argc == 3 && !strcmp(argv[1], "futex");
  if (argc != 3 || *argv[2] == '\0' || *end || n <= 0 || (!futex && strcmp(argv[1], "create"))) {
    fprintf(stderr, "usage: bench_thread create|futex N\n");
    return 64;
  }
  long warm = n / 10 + 1;
  double t0, t1;
  if (!futex) {
    if (create_rounds(warm)) return 2;
    t0 = now_ns();
    if (create_rounds(n)) return 2;
    t1 = now_ns();
  } else {
    pthread_t th;
    partner_rounds = warm + n;
    int e = pthread_create(&th, NULL, partner, NULL);
    if (e) {
      printf("bench_thread: pthread_create failed: %s\n", strerror(e));
      return 2;
    }
    pingpong(warm);
    t0 = now_ns();
    pingpong(n);
    t1 = now_ns();
    pthread_join(th, NULL);
  }
  printf("{\"bench\":\"%s\",\"iters\":%ld,\"ns_per_op\":%.1f}\n", futex ? "futex_pingpong" : "thread_create_join", n,
         (t1 - t0) / (double)n);
  return 0;
}
