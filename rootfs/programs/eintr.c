/* eintr: blocking calls interrupted by a signal handler, with and without
 * SA_RESTART. SIGALRM comes from alarm(1) (read tests) or from a 200 ms
 * one-shot ITIMER_REAL (the others).
 *   1. read() of an empty pipe, handler without SA_RESTART: -1 EINTR;
 *   2. read() of an empty pipe, handler with SA_RESTART: the read is
 *      restarted and returns the 5 bytes a forked child writes 0.5 s after
 *      the alarm (1.5 s after the start). The handler itself tells the child
 *      through a second pipe that the alarm fired, so the data can never
 *      arrive before the interruption, however slow the machine;
 *   3. nanosleep(5 s): -1 EINTR with 0 < remaining time < 5 s, also when
 *      the handler has SA_RESTART (sleeps are never restarted);
 *   4. clock_nanosleep(CLOCK_MONOTONIC, 5 s) returns EINTR, remaining > 0;
 *   5. waitpid() for a child that does not exit: -1 EINTR without
 *      SA_RESTART; with SA_RESTART it is restarted and returns the child,
 *      which the handler released.
 * Output: a header line, 9 check lines, "eintr: PASS"; it takes about
 * 3.5 s. */
#define _GNU_SOURCE
#include <sys/time.h>

#include "guest_test.h"

static volatile int alarms;
static volatile int release_fd = -1;

static void on_alarm(int sig) {
  (void)sig;
  alarms++;
  if (release_fd >= 0) {
    char c = 'g';
    ssize_t r = write(release_fd, &c, 1);
    (void)r;
  }
}

static void arm_200ms(void) {
  struct itimerval it = {{0, 0}, {0, 200 * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static int ts_positive_below(const struct timespec *ts, time_t limit_s) {
  return (ts->tv_sec > 0 || ts->tv_nsec > 0) && ts->tv_sec < limit_s && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

static void read_tests(void) {
  int p[2];
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  set_handler(SIGALRM, (void *)on_alarm, 0);
  alarms = 0;
  alarm(1);
  char buf[64];
  ssize_t r = read(p[0], buf, sizeof buf);
  check_ret(r, -1, EINTR, "read of an empty pipe interrupted by SIGALRM (no SA_RESTART) gives EINTR");
  check(alarms == 1, "the SIGALRM handler ran once");
  close(p[0]);
  close(p[1]);

  int data[2], go[2];
  if (pipe(data) != 0 || pipe(go) != 0) {
    check(0, "pipe");
    return;
  }
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(data[0]);
    close(go[1]);
    char c;
    if (read_full(go[0], &c, 1) != 1) _exit(2);
    sleep_ms(500);
    _exit(write_all(data[1], "data\n", 5) == 0 ? 0 : 3);
  }
  close(data[1]);
  close(go[0]);
  release_fd = go[1];
  set_handler(SIGALRM, (void *)on_alarm, SA_RESTART);
  alarms = 0;
  alarm(1);
  r = read(data[0], buf, sizeof buf);
  int e = errno;
  release_fd = -1;
  check(r == 5 && memcmp(buf, "data\n", 5) == 0 && alarms == 1,
        "with SA_RESTART the interrupted read is restarted and returns the child's 5 bytes%s%s",
        r == -1 ? " - got " : "", r == -1 ? errno_name(e) : "");
  int st = -1;
  if (pid < 0 || wait_for(pid, &st, 0) != pid) st = -1;
  check_status(st, 0, 0, "the writing child exited 0");
  close(data[0]);
  close(go[1]);
}

static void sleep_tests(void) {
  int restart_flags[2] = {0, SA_RESTART};
  for (int i = 0; i < 2; i++) {
    set_handler(SIGALRM, (void *)on_alarm, restart_flags[i]);
    alarms = 0;
    arm_200ms();
    struct timespec req = {5, 0}, rem = {0, 0};
    int r = nanosleep(&req, &rem);
    int e = errno;
    check(r == -1 && e == EINTR && alarms == 1 && ts_positive_below(&rem, 5),
          "nanosleep(5 s) interrupted%s gives EINTR with 0 < remaining < 5 s",
          restart_flags[i] ? " (SA_RESTART handler)" : "");
  }
  set_handler(SIGALRM, (void *)on_alarm, 0);
  alarms = 0;
  arm_200ms();
  struct timespec req = {5, 0}, rem = {0, 0};
  int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
  check(r == EINTR && alarms == 1 && ts_positive_below(&rem, 5),
        "clock_nanosleep(CLOCK_MONOTONIC, 5 s) interrupted returns EINTR with 0 < remaining < 5 s");
}

static void wait_tests(void) {
  int go[2];
  if (pipe(go) != 0) {
    check(0, "pipe");
    return;
  }
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(go[1]);
    char c;
    read_full(go[0], &c, 1); /* returns at end of file, or at the handler's byte */
    _exit(0);
  }
  close(go[0]);
  set_handler(SIGALRM, (void *)on_alarm, 0);
  alarms = 0;
  arm_200ms();
  int st;
  pid_t r = waitpid(pid, &st, 0);
  check_ret(r, -1, EINTR, "waitpid for a running child interrupted by SIGALRM (no SA_RESTART) gives EINTR");

  set_handler(SIGALRM, (void *)on_alarm, SA_RESTART);
  release_fd = go[1];
  alarms = 0;
  arm_200ms();
  st = -1;
  r = waitpid(pid, &st, 0);
  int e = errno;
  release_fd = -1;
  check(r == pid && alarms == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "with SA_RESTART waitpid is restarted and returns the child the handler released%s%s", r == -1 ? " - got " : "",
        r == -1 ? errno_name(e) : "");
  close(go[1]);
  if (r != pid) wait_for(pid, &st, 0);
}

int main(void) {
  printf("eintr: interrupted system calls and SA_RESTART\n");
  read_tests();
  sleep_tests();
  wait_tests();
  set_disposition(SIGALRM, SIG_DFL);
  return finish("eintr");
}
