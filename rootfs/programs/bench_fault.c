/* bench_fault [pages] [seq|scatter]   (default: 4096 seq)
 *
 * Cost of first-touch page faults: mmap()s pages * 4 KiB of anonymous memory
 * and times writing one byte to each page, in ascending order (seq) or in a
 * scattered permutation (scatter; the order is computed before timing starts).
 * Prints one JSON line:
 *   {"bench":"fault_seq","iters":PAGES,"ns_per_op":X}    (or "fault_scatter")
 * The figure differs between runs; it is for bench/, not compared. The
 * mapping is left in place at exit.
 * Exit status: 0; 2 if mmap fails; 64 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "guest_common.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_fault [pages (1..16777216)] [seq|scatter]\n");
  return 64;
}

int main(int argc, char **argv) {
  unsigned long pages = 4096;
  int scatter = 0;
  if (argc > 3) return usage();
  if (argc > 1) {
    char *end;
    pages = strtoul(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || pages == 0 || pages > (1UL << 24)) return usage();
  }
  if (argc > 2) {
    if (strcmp(argv[2], "scatter") == 0)
      scatter = 1;
    else if (strcmp(argv[2], "seq") != 0)
      return usage();
  }

  /* The order, computed (and its own pages faulted in) before timing. */
  uint32_t *order = malloc(pages * sizeof *order);
  if (!order) {
    printf("bench_fault: malloc failed\n");
    return 2;
  }
  struct perm perm;
  perm_init(&perm, pages, 3);
  for (unsigned long i = 0; i < pages; i++) order[i] = (uint32_t)(scatter ? perm_next(&perm) : i);

  size_t len = pages * GUEST_PAGE_SIZE;
  volatile char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    printf("bench_fault: mmap failed: %s\n", err_text(errno));
    return 2;
  }

  double t0 = now_ns();
  for (unsigned long i = 0; i < pages; i++) mem[(size_t)order[i] * GUEST_PAGE_SIZE] = 1;
  double t1 = now_ns();

  printf("{\"bench\":\"%s\",\"iters\":%lu,\"ns_per_op\":%.1f}\n", scatter ? "fault_scatter" : "fault_seq", pages,
         (t1 - t0) / (double)pages);
  /* No munmap(): the touched pages stay mapped until exit, so a kernel that
   * samples the host's VMA count at exit (--stats) still sees them. */
  free(order);
  return 0;
}
