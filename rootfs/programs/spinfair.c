/* spinfair: a thread or process that spins in a pure CPU loop (no system
 * calls) must not keep the others from running.
 *   1. a thread spins until a volatile flag is set; the main thread, once
 *      the spinner has started, sleeps 100 ms, sets the flag and joins it;
 *   2. a thread spins until a SIGUSR1 handler that runs in that very thread
 *      (sent with pthread_kill) sets the flag: a signal reaches a thread
 *      that never enters the kernel on its own;
 *   3. a forked child spins forever; the parent sleeps 100 ms, kills it with
 *      SIGKILL and reaps it;
 *   4. as 1, but the thread spins on a system call (getppid) that never
 *      blocks: its stops in the kernel must not let it keep its turn.
 * On a guest kernel that never preempts a spinning task this hangs: the
 * tests run it with a timeout. Natively it passes even on one CPU
 * (taskset -c 0). Output: a header line, 5 check lines, "spinfair: PASS". */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "guest_test.h"

static volatile int stop, started, handler_in_spinner;
static volatile pthread_t spinner_id;

static void *spin(void *arg) {
  (void)arg;
  started = 1;
  while (!stop) {
  }
  return (void *)1;
}

static void *spin_syscalls(void *arg) {
  (void)arg;
  started = 1;
  while (!stop) getppid();
  return (void *)1;
}

static void on_usr1(int sig) {
  (void)sig;
  handler_in_spinner = pthread_equal(pthread_self(), spinner_id);
  stop = 1;
}

static void wait_started(void) {
  while (!started) sched_yield();
}

int main(void) {
  printf("spinfair: spinning threads and processes do not starve the others\n");
  pthread_t t;
  void *ret = NULL;
  if (pthread_create(&t, NULL, spin, NULL) != 0) {
    check(0, "pthread_create");
    return finish("spinfair");
  }
  wait_started();
  sleep_ms(100);
  stop = 1;
  pthread_join(t, &ret);
  check(ret == (void *)1, "main thread ran while another spun");

  stop = started = 0;
  set_handler(SIGUSR1, (void *)on_usr1, 0);
  pthread_t t2;
  if (pthread_create(&t2, NULL, spin, NULL) != 0) {
    check(0, "pthread_create");
    return finish("spinfair");
  }
  spinner_id = t2;
  wait_started();
  sleep_ms(20);
  pthread_kill(t2, SIGUSR1);
  ret = NULL;
  pthread_join(t2, &ret);
  check(ret == (void *)1 && handler_in_spinner,
        "a signal sent with pthread_kill ran its handler in the spinning thread");

  pid_t pid = gt_fork();
  if (pid == 0) {
    for (;;) {
      __asm__ volatile("" ::: "memory");
    }
  }
  sleep_ms(100);
  check(pid > 0 && kill(pid, SIGKILL) == 0, "parent ran while its child spun");
  int st = -1;
  if (pid > 0 && wait_for(pid, &st, 0) != pid) st = -1;
  check_status(st, 0, SIGKILL, "the spinning child was killed with SIGKILL and reaped");

  stop = started = 0;
  pthread_t t3;
  if (pthread_create(&t3, NULL, spin_syscalls, NULL) != 0) {
    check(0, "pthread_create");
    return finish("spinfair");
  }
  wait_started();
  sleep_ms(100);
  stop = 1;
  ret = NULL;
  pthread_join(t3, &ret);
  check(ret == (void *)1, "main thread ran while another looped on a system call");
  return finish("spinfair");
}
