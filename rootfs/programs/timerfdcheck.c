/* timerfdcheck: timerfd_create/settime/gettime and reading the file: one-shot
 * and periodic timers, relative and absolute (CLOCK_REALTIME) times, poll
 * and epoll readiness, O_NONBLOCK, a read interrupted by a signal, a timer
 * closed while armed, a forked child reading an inherited timerfd, every
 * errno. Timing-dependent counts are printed as ranges. Output equals native. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_test.h"

static struct itimerspec its(long ms, long interval_ms) {
  struct itimerspec v = {{interval_ms / 1000, interval_ms % 1000 * 1000000}, {ms / 1000, ms % 1000 * 1000000}};
  return v;
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("bad clock: %s\n", result_text(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)));
  printf("bad flags: %s\n", result_text(timerfd_create(CLOCK_MONOTONIC, 0x1)));
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  printf("create: %s, cloexec %d\n", fd >= 0 ? "ok" : result_text(fd), (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

  struct itimerspec v = its(50, 0), cur, old;
  struct itimerspec bad = its(50, 0);
  bad.it_value.tv_nsec = 1000000000;
  printf("settime bad flags: %s\n", result_text(timerfd_settime(fd, 4, &v, NULL)));
  printf("settime bad nsec: %s\n", result_text(timerfd_settime(fd, 0, &bad, NULL)));
  printf("settime bad fd: %s\n", result_text(timerfd_settime(999, 0, &v, NULL)));
  int pfd[2];
  if (pipe(pfd)) return 1;
  printf("settime on a pipe: %s\n", result_text(timerfd_settime(pfd[0], 0, &v, NULL)));
  printf("gettime on a pipe: %s\n", result_text(timerfd_gettime(pfd[0], &cur)));
  printf("settime bad pointer: %s\n", result_text(timerfd_settime(fd, 0, (void *)8, NULL)));
  printf("gettime bad pointer: %s\n", result_text(timerfd_gettime(fd, (void *)8)));
  timerfd_gettime(fd, &cur);
  printf("disarmed: %ld.%09ld / %ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
         (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);

  uint64_t ticks = 0;
  printf("short read: %s\n", result_text(read(fd, &ticks, 4)));
  printf("one-shot 50 ms: %s\n", result_text(timerfd_settime(fd, 0, &v, NULL)));
  timerfd_gettime(fd, &cur);
  printf("  armed: value in (0, 50 ms] %d, interval 0 %d\n",
         cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50000000,
         cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 0);
  struct pollfd p = {fd, POLLIN, 0};
  printf("  poll now: %d\n", poll(&p, 1, 0));
  int n = poll(&p, 1, 2000);
  printf("  poll up to 2 s: %d revents %#x\n", n, p.revents);
  long r = read(fd, &ticks, sizeof ticks);
  printf("  read: %s ticks %llu\n", result_text(r), (unsigned long long)ticks);
  timerfd_gettime(fd, &cur);
  printf("  expired: %ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  printf("  non-blocking read: %s\n", result_text(read(fd, &ticks, sizeof ticks)));
  fcntl(fd, F_SETFL, fl);

  v = its(10, 10);
  printf("periodic 10 ms: %s\n", result_text(timerfd_settime(fd, 0, &v, &old)));
  sleep_ms(55);
  read(fd, &ticks, sizeof ticks);
  printf("  after 55 ms, 4 to 6 ticks: %d\n", ticks >= 4 && ticks <= 6);
  v = its(0, 0);
  timerfd_settime(fd, 0, &v, &old);
  printf("  disarm returns the old interval: %ld.%09ld, a value in (0, 10 ms]: %d\n", (long)old.it_interval.tv_sec,
         old.it_interval.tv_nsec, old.it_value.tv_sec == 0 && old.it_value.tv_nsec > 0 && old.it_value.tv_nsec <= 10000000);
  sleep_ms(30);
  printf("  disarmed, poll: %d\n", poll(&p, 1, 0));

  int rt = timerfd_create(CLOCK_REALTIME, 0);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  v = its(0, 0);
  v.it_value.tv_sec = now.tv_sec;
  v.it_value.tv_nsec = now.tv_nsec + 30000000;
  if (v.it_value.tv_nsec >= 1000000000) v.it_value.tv_sec++, v.it_value.tv_nsec -= 1000000000;
  printf("absolute realtime in 30 ms: %s\n", result_text(timerfd_settime(rt, TFD_TIMER_ABSTIME, &v, NULL)));
  ticks = 0;
  r = read(rt, &ticks, sizeof ticks);
  printf("  blocking read: %s ticks %llu\n", result_text(r), (unsigned long long)ticks);
  v.it_value.tv_sec -= 10; /* in the past: expires at once */
  timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &v, NULL);
  printf("  in the past: poll %d\n", poll(&(struct pollfd){rt, POLLIN, 0}, 1, 1000));

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  v = its(20, 0);
  timerfd_settime(fd, 0, &v, NULL);
  printf("epoll: now %d", epoll_wait(ep, &out, 1, 0));
  n = epoll_wait(ep, &out, 1, 2000);
  printf(", then %d data %u\n", n, out.data.u32);
  read(fd, &ticks, sizeof ticks);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  v = its(0, 0);
  timerfd_settime(fd, 0, &v, NULL);
  ualarm(30000, 0);
  printf("read of a disarmed timer, interrupted: %s\n", result_text(read(fd, &ticks, sizeof ticks)));

  v = its(20, 0);
  timerfd_settime(fd, 0, &v, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    uint64_t t = 0;
    long r = read(fd, &t, sizeof t);
    _exit(r == 8 && t == 1 ? 0 : 1);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("a forked child reads the inherited timer: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);

  int gone = timerfd_create(CLOCK_MONOTONIC, 0);
  v = its(5, 5);
  timerfd_settime(gone, 0, &v, NULL);
  close(gone);
  sleep_ms(20);
  printf("closed while armed: still here\n");
  return 0;
}
