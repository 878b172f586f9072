/* bench_fork [N] [exit|sleep]   (default 200 exit)
 *
 * exit: cost of process creation and teardown: after one warm-up round,
 * times N rounds of fork(); the child calls _exit(0) at once; the parent
 * waitpid()s for it. Prints one JSON line:
 *   {"bench":"fork_exit_wait","iters":N,"ns_per_op":X}
 * sleep: N sleeping processes, for measuring what they cost the kernel from
 * outside: forks N - 1 children that pause(), prints
 *   {"bench":"procs_sleeping","iters":N,"ns_per_op":X}   (X: per fork)
 * then blocks reading stdin (itself the N-th sleeper) until end of file,
 * kills and reaps the children, and exits.
 * The figure differs between runs; it is for bench/, not compared.
 * Exit status: 0; 2 if fork or waitpid fails or a child exits non-zero;
 * 64 bad usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_common.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int one_round(void) {
  pid_t pid = fork();
  if (pid < 0) {
    printf("bench_fork: fork failed: %s\n", err_text(errno));
    return -1;
  }
  if (pid == 0) _exit(0);
  int status;
  if (waitpid(pid, &status, 0) != pid) {
    printf("bench_fork: waitpid failed: %s\n", err_text(errno));
    return -1;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("bench_fork: child status 0x%x\n", status);
    return -1;
  }
  return 0;
}

static int sleepers(long n) {
  pid_t *kids = calloc((size_t)n, sizeof *kids);
  if (!kids) return 2;
  int bad = 0;
  double t0 = now_ns();
  for (long i = 0; i < n - 1; i++) {
    if ((kids[i] = fork()) < 0) {
      printf("bench_fork: fork failed: %s\n", err_text(errno));
      bad = 1;
      n = i + 1; /* the ones forked so far still get reaped */
      break;
    }
    if (kids[i] == 0)
      for (;;) pause();
  }
  double t1 = now_ns();
  if (!bad) {
    printf("{\"bench\":\"procs_sleeping\",\"iters\":%ld,\"ns_per_op\":%.1f}\n", n,
           n > 1 ? (t1 - t0) / (double)(n - 1) : 1.0);
    fflush(stdout);
    char buf[256];
    while (read(0, buf, sizeof buf) > 0) {}
  }
  for (long i = 0; i < n - 1; i++) {
    int status;
    kill(kids[i], SIGKILL);
    if (waitpid(kids[i], &status, 0) != kids[i] || !WIFSIGNALED(status)) bad = 1;
  }
  free(kids);
  return bad ? 2 : 0;
}

int main(int argc, char **argv) {
  long n = 200;
  if (argc > 3) goto usage;
  if (argc > 1) {
    char *end;
    n = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || n <= 0) goto usage;
  }
  if (argc > 2) {
    if (strcmp(argv[2], "sleep") == 0) return sleepers(n);
    if (strcmp(argv[2], "exit") != 0) goto usage;
  }
  if (one_round() != 0) return 2; /* warm-up */
  double t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (one_round() != 0) return 2;
  double t1 = now_ns();
  printf("{\"bench\":\"fork_exit_wait\",\"iters\":%ld,\"ns_per_op\":%.1f}\n", n, (t1 - t0) / (double)n);
  return 0;
usage:
  fprintf(stderr, "usage: bench_fork [N > 0] [exit|sleep]\n");
  return 64;
}
