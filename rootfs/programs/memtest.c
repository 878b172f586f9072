/* memtest [MiB] [seq|scatter]   (default: 64 scatter)
 *
 * mmap()s MiB of anonymous memory and fills every 4 KiB page with a pattern
 * derived from its page index (512 uint64 words: idx * 0x9E3779B97F4A7C15 ^
 * word), touching the pages in a deterministic order, then checks every page
 * in a different order:
 *   seq:     writes pages 0, 1, ..., n-1; verifies n-1, ..., 0
 *   scatter: writes in one scattered permutation, verifies in another
 *
 * Output (identical on every run):
 *   memtest: N pages written
 *   memtest: N pages verified OK
 * Exit status: 0 all pages verified; 1 mismatch (prints the first bad page in
 * verification order); 2 mmap failed ("memtest: mmap failed: <error>", with
 * glibc's wording of the error under both libcs); 64 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "guest_common.h"

#define WORDS_PER_PAGE (GUEST_PAGE_SIZE / sizeof(uint64_t))

static inline uint64_t pattern(uint64_t idx, uint64_t word) { return idx * 0x9E3779B97F4A7C15ULL ^ word; }

static int usage(void) {
  fprintf(stderr, "usage: memtest [MiB (1..1048576)] [seq|scatter]\n");
  return 64;
}

int main(int argc, char **argv) {
  unsigned long mib = 64;
  int scatter = 1;
  if (argc > 3) return usage();
  if (argc > 1) {
    char *end;
    mib = strtoul(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || mib == 0 || mib > (1UL << 20)) return usage();
  }
  if (argc > 2) {
    if (strcmp(argv[2], "seq") == 0)
      scatter = 0;
    else if (strcmp(argv[2], "scatter") != 0)
      return usage();
  }

  uint64_t npages = (uint64_t)mib * (1024 * 1024 / GUEST_PAGE_SIZE);
  size_t len = (size_t)(npages * GUEST_PAGE_SIZE);
  uint64_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    printf("memtest: mmap failed: %s\n", err_text(errno));
    return 2;
  }

  struct perm order;
  perm_init(&order, npages, 1);
  uint64_t written = 0;
  for (uint64_t i = 0; i < npages; i++) {
    uint64_t idx = scatter ? perm_next(&order) : i;
    uint64_t *page = mem + idx * WORDS_PER_PAGE;
    for (uint64_t w = 0; w < WORDS_PER_PAGE; w++) page[w] = pattern(idx, w);
    written++;
  }
  printf("memtest: %llu pages written\n", (unsigned long long)written);

  /* The verification must read memory, not values the compiler remembers. */
  __asm__ volatile("" ::: "memory");

  perm_init(&order, npages, 2);
  uint64_t verified = 0;
  for (uint64_t i = 0; i < npages; i++) {
    uint64_t idx = scatter ? perm_next(&order) : npages - 1 - i;
    const uint64_t *page = mem + idx * WORDS_PER_PAGE;
    for (uint64_t w = 0; w < WORDS_PER_PAGE; w++) {
      if (page[w] != pattern(idx, w)) {
        printf("memtest: page %llu word %llu is wrong: expected 0x%016llx, got 0x%016llx"
               " (%llu pages verified before it)\n",
               (unsigned long long)idx, (unsigned long long)w, (unsigned long long)pattern(idx, w),
               (unsigned long long)page[w], (unsigned long long)verified);
        return 1;
      }
    }
    verified++;
  }
  printf("memtest: %llu pages verified OK\n", (unsigned long long)verified);
  munmap(mem, len);
  return 0;
}
