/* bench_cow [PAGES]   (default 1024)
 *
 * Cost of copy-on-write faults: mmap()s PAGES * 4 KiB of private anonymous
 * memory, writes one byte to every page, fork()s, and in the child times the
 * first write to each page in ascending order (each one a copy-on-write fault
 * on a kernel that shares the pages at fork). The child prints one JSON line
 *   {"bench":"cow_fault","iters":PAGES,"ns_per_op":X}
 * and exits; the parent waits for it, prints nothing and exits with the
 * child's status. The figure differs between runs; it is for bench/, not
 * compared.
 * Exit status: 0; 2 if mmap, fork or waitpid fails or the child dies of a
 * signal; 3 if the child sees wrong data; 64 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_common.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  unsigned long pages = 1024;
  if (argc > 2) goto usage;
  if (argc > 1) {
    char *end;
    pages = strtoul(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || pages == 0 || pages > (1UL << 24)) goto usage;
  }

  size_t len = pages * GUEST_PAGE_SIZE;
  volatile char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    printf("bench_cow: mmap failed: %s\n", err_text(errno));
    return 2;
  }
  for (unsigned long i = 0; i < pages; i++) mem[i * GUEST_PAGE_SIZE] = 1;

  fflush(stdout); /* nothing buffered may be printed twice */
  pid_t pid = fork();
  if (pid < 0) {
    printf("bench_cow: fork failed: %s\n", err_text(errno));
    return 2;
  }
  if (pid == 0) {
    double t0 = now_ns();
    for (unsigned long i = 0; i < pages; i++) mem[i * GUEST_PAGE_SIZE] = 2;
    double t1 = now_ns();
    for (unsigned long i = 0; i < pages; i++)
      if (mem[i * GUEST_PAGE_SIZE] != 2) {
        printf("bench_cow: child page %lu reads %d\n", i, mem[i * GUEST_PAGE_SIZE]);
        return 3;
      }
    printf("{\"bench\":\"cow_fault\",\"iters\":%lu,\"ns_per_op\":%.1f}\n", pages, (t1 - t0) / (double)pages);
    return 0;
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) {
    printf("bench_cow: waitpid failed: %s\n", err_text(errno));
    return 2;
  }
  /* The child's writes must not show through in the parent. */
  for (unsigned long i = 0; i < pages; i++)
    if (mem[i * GUEST_PAGE_SIZE] != 1) {
      printf("bench_cow: parent page %lu reads %d after the child wrote it\n", i, mem[i * GUEST_PAGE_SIZE]);
      return 3;
    }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  printf("bench_cow: child died of signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return 2;
usage:
  fprintf(stderr, "usage: bench_cow [pages (1..16777216)]\n");
  return 64;
}
