/* bench_forkexec PROG [N] [fork|vfork]   (default N = 100, fork)
 *
 * Cost of starting a program: after one warm-up round, times N rounds of
 * fork() (or vfork()); the child execve()s PROG with argv {PROG, NULL} and an empty
 * environment (PROG should be a tiny static program that exits 0 at once,
 * e.g. true_static); the parent waitpid()s for it. Prints one JSON line:
 *   {"bench":"fork_exec_wait","iters":N,"ns_per_op":X}   (vfork: "vfork_exec_wait")
 * The figure differs between runs; it is for bench/, not compared.
 * Exit status: 0; 2 if fork, execve or waitpid fails or PROG exits non-zero
 * (a failed execve makes the child exit 127); 64 bad usage. */
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

static int use_vfork;

static int one_round(char *prog) {
  char *child_argv[] = {prog, NULL};
  char *child_envp[] = {NULL};
  pid_t pid = use_vfork ? vfork() : fork();
  if (pid < 0) {
    printf("bench_forkexec: fork failed: %s\n", err_text(errno));
    return -1;
  }
  if (pid == 0) {
    execve(prog, child_argv, child_envp);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) {
    printf("bench_forkexec: waitpid failed: %s\n", err_text(errno));
    return -1;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("bench_forkexec: %s: child status 0x%x%s\n", prog, status,
           WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (execve failed?)" : "");
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  long n = 100;
  if (argc < 2 || argc > 4 || argv[1][0] == '\0') goto usage;
  if (argc > 3) {
    if (strcmp(argv[3], "vfork") == 0)
      use_vfork = 1;
    else if (strcmp(argv[3], "fork") != 0)
      goto usage;
  }
  if (argc > 2) {
    char *end;
    n = strtol(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0' || n <= 0) goto usage;
  }
  if (one_round(argv[1]) != 0) return 2; /* warm-up */
  double t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (one_round(argv[1]) != 0) return 2;
  double t1 = now_ns();
  printf("{\"bench\":\"%s\",\"iters\":%ld,\"ns_per_op\":%.1f}\n", use_vfork ? "vfork_exec_wait" : "fork_exec_wait", n,
         (t1 - t0) / (double)n);
  return 0;
usage:
  fprintf(stderr, "usage: bench_forkexec PROG [N > 0] [fork|vfork]\n");
  return 64;
}
