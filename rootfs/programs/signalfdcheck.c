/* signalfdcheck: signals read through a signalfd: kill, sigqueue with a
 * value, SIGCHLD of an exited child, several records in one read, a blocking
 * read woken by another process's kill, poll and epoll readiness, changing
 * the mask of an open signalfd, SIGKILL/SIGSTOP left out of the mask,
 * O_NONBLOCK, every errno. Output equals native. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_test.h"

static void show(const char *what, const struct signalfd_siginfo *s) {
  printf("%s: signo %u code %d pid-is-%s uid %u int %d status %d\n", what, s->ssi_signo, s->ssi_code,
         s->ssi_pid == (unsigned)getpid() ? "self" : s->ssi_pid ? "other" : "0", s->ssi_uid, s->ssi_int,
         s->ssi_status);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &set, NULL);

  printf("bad size: %s\n", result_text(syscall(SYS_signalfd4, -1, &set, 4, 0)));
  printf("bad mask pointer: %s\n", result_text(syscall(SYS_signalfd4, -1, (void *)8, 8, 0)));
  printf("bad flags: %s\n", result_text(syscall(SYS_signalfd4, -1, &set, 8, 1)));
  printf("bad fd: %s\n", result_text(signalfd(999, &set, 0)));
  int pfd[2];
  if (pipe(pfd)) return 1;
  printf("a pipe: %s\n", result_text(signalfd(pfd[0], &set, 0)));

  int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  printf("create: %s, cloexec %d, nonblock %d\n", fd >= 0 ? "ok" : result_text(fd), (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
         (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  struct signalfd_siginfo s[4];
  printf("empty: %s\n", result_text(read(fd, s, sizeof s)));
  printf("short buffer: %s\n", result_text(read(fd, s, sizeof s[0] - 1)));
  struct pollfd p = {fd, POLLIN, 0};
  printf("poll, nothing pending: %d\n", poll(&p, 1, 0));

  kill(getpid(), SIGUSR1);
  int n = poll(&p, 1, 0);
  printf("poll, SIGUSR1 pending: %d revents %#x\n", n, p.revents);
  long r = read(fd, s, sizeof s);
  printf("read: %s\n", result_text(r));
  show("  kill", &s[0]);

  union sigval v = {.sival_int = 42};
  sigqueue(getpid(), SIGUSR2, v);
  sigqueue(getpid(), SIGRTMIN, v);
  kill(getpid(), SIGUSR1);
  r = read(fd, s, sizeof s);
  printf("three pending, one read: %s\n", result_text(r));
  for (long i = 0; i < r / (long)sizeof s[0]; i++) show("  record", &s[i]);

  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGUSR2);
  r = read(fd, s, sizeof s[0]);
  printf("two pending, room for one: %s, signo %u\n", result_text(r), s[0].ssi_signo);
  r = read(fd, s, sizeof s);
  printf("  then: %s, signo %u\n", result_text(r), s[0].ssi_signo);

  pid_t pid = fork();
  if (pid == 0) _exit(3);
  sleep_ms(50);
  r = read(fd, s, sizeof s);
  printf("child exit: %s\n", result_text(r));
  show("  SIGCHLD", &s[0]);
  waitpid(pid, NULL, 0);

  sigset_t only1;
  sigemptyset(&only1);
  sigaddset(&only1, SIGUSR1);
  sigaddset(&only1, SIGKILL);
  printf("new mask: same fd %d\n", signalfd(fd, &only1, 0) == fd);
  kill(getpid(), SIGUSR2);
  printf("  SIGUSR2 no longer read: %s\n", result_text(read(fd, s, sizeof s)));
  kill(getpid(), SIGUSR1);
  r = read(fd, s, sizeof s);
  printf("  SIGUSR1 read: %s signo %u\n", result_text(r), s[0].ssi_signo);
  sigset_t pend;
  sigpending(&pend);
  printf("  SIGUSR2 still pending: %d\n", sigismember(&pend, SIGUSR2));
  signalfd(fd, &set, 0);
  read(fd, s, sizeof s);

  int bfd = signalfd(-1, &set, 0);
  pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    kill(getppid(), SIGUSR2);
    _exit(0);
  }
  r = read(bfd, s, sizeof s[0]);
  printf("blocking read woken by another process: %s\n", result_text(r));
  show("  from the child", &s[0]);
  waitpid(pid, NULL, 0);
  while (read(fd, s, sizeof s) > 0) {} /* its SIGCHLD: fd does not block */

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 9}, out;
  epoll_ctl(ep, EPOLL_CTL_ADD, bfd, &ev);
  printf("epoll: now %d", epoll_wait(ep, &out, 1, 0));
  kill(getpid(), SIGUSR1);
  n = epoll_wait(ep, &out, 1, 1000);
  printf(", after a kill %d data %u\n", n, out.data.u32);
  return 0;
}
