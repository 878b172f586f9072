/* bench_syscall [N]   (default 100000)
 *
 * Cost of a null syscall: after a warm-up, times N getppid() calls made with
 * syscall(SYS_getppid) (no libc caching) using CLOCK_MONOTONIC, and prints
 * one JSON line:
 *   {"bench":"null_syscall","iters":N,"ns_per_op":X}
 * The figure differs between runs; it is for bench/, not compared. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  long n = 100000;
  if (argc > 1) {
    char *end;
    n = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || n <= 0) {
      fprintf(stderr, "usage: bench_syscall [N > 0]\n");
      return 64;
    }
  }
  long warm = n / 10 < 1000 ? n / 10 : 1000;
  for (long i = 0; i < warm; i++) syscall(SYS_getppid);
  double t0 = now_ns();
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  double t1 = now_ns();
  printf("{\"bench\":\"null_syscall\",\"iters\":%ld,\"ns_per_op\":%.1f}\n", n, (t1 - t0) / (double)n);
  return 0;
}
