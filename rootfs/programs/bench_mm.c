/* bench_mm mmap N            N rounds of mmap + touch + munmap of 4 MiB
 * bench_mm filefault PAGES [DIR]   (DIR defaults to /tmp)
 *
 * Costs of the memory-management calls, one JSON line per run:
 *   mmap:      {"bench":"mmap_touch_munmap","iters":N,"ns_per_op":X}
 *              one round = mmap of 4 MiB of private anonymous memory, a
 *              write to each of its 1024 pages, munmap (after one warm-up
 *              round)
 *   filefault: {"bench":"file_fault","iters":PAGES,"ns_per_op":X}
 *              writes a PAGES-page file in DIR (so its pages are in the page
 *              cache), maps it read-only MAP_PRIVATE and times reading one
 *              byte of each page in ascending order (ns per page)
 * The figures differ between runs; they are for bench/, not compared.
 * Exit status: 0; 2 if a call fails or a page reads wrong; 64 bad usage. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest_common.h"

#define MMAP_BYTES (4UL << 20)

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int fail(const char *what) {
  printf("bench_mm: %s failed: %s\n", what, err_text(errno));
  return 2;
}

static int mmap_rounds(long n) {
  for (long i = 0; i < n; i++) {
    volatile char *p = mmap(NULL, MMAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return fail("mmap");
    for (size_t off = 0; off < MMAP_BYTES; off += GUEST_PAGE_SIZE) p[off] = 1;
    if (munmap((void *)p, MMAP_BYTES)) return fail("munmap");
  }
  return 0;
}

static int file_fault(long pages, const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/bench_mm.%d", dir, (int)getpid());
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) return fail(path);
  unlink(path);
  static char page[GUEST_PAGE_SIZE];
  for (long i = 0; i < pages; i++) {
    memset(page, (int)(i % 251) + 1, sizeof page);
    if (write(fd, page, sizeof page) != (ssize_t)sizeof page) return fail("write");
  }
  size_t len = (size_t)pages * GUEST_PAGE_SIZE;
  volatile const char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) return fail("mmap");
  unsigned sum = 0;
  double t0 = now_ns();
  for (long i = 0; i < pages; i++) sum += (unsigned char)m[(size_t)i * GUEST_PAGE_SIZE];
  double t1 = now_ns();
  unsigned want = 0;
  for (long i = 0; i < pages; i++) want += (unsigned)(i % 251) + 1;
  if (sum != want) {
    printf("bench_mm: the mapped file reads wrong (sum %u, want %u)\n", sum, want);
    return 2;
  }
  printf("{\"bench\":\"file_fault\",\"iters\":%ld,\"ns_per_op\":%.1f}\n", pages, (t1 - t0) / (double)pages);
  return 0;
}

int main(int argc, char **argv) {
  char *end = NULL;
  long n = argc >= 3 ? strtol(argv[2], &end, 10) : 0;
  if (argc < 3 || *argv[2] == '\0' || *end || n <= 0 || n > (1L << 24)) goto usage;
  if (!strcmp(argv[1], "filefault") && argc <= 4) return file_fault(n, argc > 3 ? argv[3] : "/tmp");
  if (strcmp(argv[1], "mmap") || argc != 3) goto usage;
  if (mmap_rounds(1)) return 2; /* warm-up */
  double t0 = now_ns();
  if (mmap_rounds(n)) return 2;
  double t1 = now_ns();
  printf("{\"bench\":\"mmap_touch_munmap\",\"iters\":%ld,\"ns_per_op\":%.1f}\n", n, (t1 - t0) / (double)n);
  return 0;
usage:
  fprintf(stderr, "usage: bench_mm mmap N | bench_mm filefault PAGES [DIR]\n");
  return 64;
}
