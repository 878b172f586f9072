/* bench_syscall [N] [KIND]   (default 100000 getppid)
 *
 * Cost of one cheap system call, after a warm-up: times N rounds with
 * CLOCK_MONOTONIC and prints one JSON line
 *   {"bench":NAME,"iters":N,"ns_per_op":X}
 * KIND (NAME):
 *   getppid   (null_syscall)   syscall(SYS_getppid), no libc caching
 *   readzero  (read_devzero)   read of 1 byte from /dev/zero
 *   writenull (write_devnull)  write of 1 byte to /dev/null
 *   yield     (sched_yield)    sched_yield() with nothing else to run
 *   signal    (signal_deliver) kill(getpid(), SIGUSR1): delivery to a
 *             handler and its return (rt_sigreturn)
 * The figure differs between runs; it is for bench/, not compared.
 * Exit status: 0; 2 if a call fails; 64 bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile sig_atomic_t handled;
static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static const struct {
  const char *kind, *name;
} kinds[] = {
    {"getppid", "null_syscall"}, {"readzero", "read_devzero"}, {"writenull", "write_devnull"},
    {"yield", "sched_yield"},    {"signal", "signal_deliver"},
};

/* N rounds of the call; 0, or -1 (with a message) if one fails. */
static int rounds(int kind, int fd, long n) {
  char byte = 0;
  pid_t self = getpid();
  for (long i = 0; i < n; i++) {
    switch (kind) {
    case 0: syscall(SYS_getppid); break;
    case 1:
      if (read(fd, &byte, 1) != 1) goto fail;
      break;
    case 2:
      if (write(fd, &byte, 1) != 1) goto fail;
      break;
    case 3:
      if (sched_yield()) goto fail;
      break;
    case 4:
      if (kill(self, SIGUSR1)) goto fail;
      break;
    }
  }
  return 0;
fail:
  printf("bench_syscall: %s failed: %s\n", kinds[kind].kind, strerror(errno));
  return -1;
}

int main(int argc, char **argv) {
  long n = 100000;
  int kind = 0;
  if (argc > 3) goto usage;
  if (argc > 1) {
    char *end;
    n = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || n <= 0) goto usage;
  }
  if (argc > 2) {
    for (kind = 0; kind < (int)(sizeof kinds / sizeof *kinds); kind++)
      if (!strcmp(argv[2], kinds[kind].kind)) break;
    if (kind == (int)(sizeof kinds / sizeof *kinds)) goto usage;
  }
  int fd = -1;
  if (kind == 1 || kind == 2) {
    const char *dev = kind == 1 ? "/dev/zero" : "/dev/null";
    if ((fd = open(dev, kind == 1 ? O_RDONLY : O_WRONLY)) < 0) {
      printf("bench_syscall: %s: %s\n", dev, strerror(errno));
      return 2;
    }
  }
  if (kind == 4) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
  }
  long warm = n / 10 < 1000 ? n / 10 : 1000;
  if (rounds(kind, fd, warm)) return 2;
  double t0 = now_ns();
  if (rounds(kind, fd, n)) return 2;
  double t1 = now_ns();
  if (kind == 4 && handled != warm + n) {
    printf("bench_syscall: %ld signals sent, %d handled\n", warm + n, (int)handled);
    return 2;
  }
  printf("{\"bench\":\"%s\",\"iters\":%ld,\"ns_per_op\":%.1f}\n", kinds[kind].name, n, (t1 - t0) / (double)n);
  return 0;
usage:
  fprintf(stderr, "usage: bench_syscall [N > 0] [getppid|readzero|writenull|yield|signal]\n");
  return 64;
}
