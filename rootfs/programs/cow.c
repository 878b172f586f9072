/* cow: fork() gives the child a private copy of every private page.
 *
 * Before the fork the parent fills four private regions with pattern A:
 * a malloc()ed buffer, a static array in .data, a static array in .bss and
 * a MAP_PRIVATE|MAP_ANONYMOUS mapping (64 pages); it also has a private
 * mapping it never touches, a region nobody writes after the fork, and one
 * MAP_SHARED|MAP_ANONYMOUS page.
 *
 * Then, in lock step over two pipes:
 *   child:  checks it sees A, writes pattern C into the four regions and the
 *           untouched mapping, writes a value into the shared page, tells
 *           the parent;
 *   parent: checks it still sees A (and zeros in the untouched mapping) and
 *           sees the child's value in the shared page, writes pattern P into
 *           the four regions and its own value into the shared page, tells
 *           the child;
 *   child:  checks it still sees C, sees the parent's shared value, forks a
 *           grandchild that checks it sees C and overwrites everything with
 *           its own pattern, checks C again after the grandchild exited, and
 *           exits with a bit mask of failed checks (0 = all ok);
 *   parent: checks it still sees P, reaps the child, prints one line per
 *           child check (from the exit status), checks P once more.
 * Only the parent prints. Output: a header line, 16 check lines and
 * "cow: PASS". */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>

#include "guest_test.h"

#define PG GUEST_PAGE_SIZE
#define SMALL (4 * PG)
#define BIG (64 * PG)

enum { PAT_A = 1, PAT_CHILD = 2, PAT_PARENT = 3, PAT_GRANDCHILD = 4 };

static uint64_t data_buf[SMALL / 8] = {1}; /* initialised: lives in .data */
static uint64_t bss_buf[SMALL / 8];        /* zero: lives in .bss */

struct region {
  void *p;
  size_t len;
};
static struct region regions[4];
static char *untouched, *keep;
static volatile uint64_t *shared;

static uint64_t pattern(uint64_t seed, uint64_t i) { return (seed + 1) * 0x9E3779B97F4A7C15ULL ^ (i * 0x100000001ULL); }

static void fill(void *p, size_t len, uint64_t seed) {
  volatile uint64_t *w = p;
  for (size_t i = 0; i < len / 8; i++) w[i] = pattern(seed, i);
}

static int holds(const void *p, size_t len, uint64_t seed) {
  const volatile uint64_t *w = p;
  for (size_t i = 0; i < len / 8; i++)
    if (w[i] != pattern(seed, i)) return 0;
  return 1;
}

static int all_zero(const void *p, size_t len) {
  const volatile uint64_t *w = p;
  for (size_t i = 0; i < len / 8; i++)
    if (w[i] != 0) return 0;
  return 1;
}

static void fill_regions(uint64_t seed) {
  for (int i = 0; i < 4; i++) fill(regions[i].p, regions[i].len, seed);
}

static int regions_hold(uint64_t seed) {
  int ok = 1;
  for (int i = 0; i < 4; i++) ok &= holds(regions[i].p, regions[i].len, seed);
  return ok;
}

static void send_byte(int fd) {
  char c = 'x';
  write_all(fd, &c, 1);
}

static int recv_byte(int fd) {
  char c;
  return read_full(fd, &c, 1) == 1;
}

enum {
  C_SAW_A = 1,
  C_OWN_AFTER_PARENT = 2,
  C_SHARED_FROM_PARENT = 4,
  C_UNTOUCHED_OWN = 8,
  C_KEEP = 16,
  C_GRANDCHILD_SAW_C = 32,
  C_UNCHANGED_BY_GRANDCHILD = 64,
  C_SYNC = 128,
};

static int child(int to_parent, int from_parent) {
  int fails = 0;
  if (!regions_hold(PAT_A) || !all_zero(untouched, BIG) || !holds(keep, SMALL, PAT_A)) fails |= C_SAW_A;
  fill_regions(PAT_CHILD);
  fill(untouched, BIG, PAT_CHILD);
  shared[0] = 0xC0FFEE;
  send_byte(to_parent);
  if (!recv_byte(from_parent)) fails |= C_SYNC;
  if (!regions_hold(PAT_CHILD)) fails |= C_OWN_AFTER_PARENT;
  if (shared[1] != 0xBEEF) fails |= C_SHARED_FROM_PARENT;
  if (!holds(untouched, BIG, PAT_CHILD)) fails |= C_UNTOUCHED_OWN;
  if (!holds(keep, SMALL, PAT_A)) fails |= C_KEEP;

  pid_t g = fork(); /* nothing buffered: the child never prints */
  if (g == 0) {
    int ok = regions_hold(PAT_CHILD) && holds(untouched, BIG, PAT_CHILD);
    fill_regions(PAT_GRANDCHILD);
    fill(untouched, BIG, PAT_GRANDCHILD);
    fill(keep, SMALL, PAT_GRANDCHILD);
    _exit(ok && regions_hold(PAT_GRANDCHILD) ? 0 : 1);
  }
  int st = -1;
  if (g < 0 || wait_for(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) fails |= C_GRANDCHILD_SAW_C;
  if (!regions_hold(PAT_CHILD) || !holds(untouched, BIG, PAT_CHILD) || !holds(keep, SMALL, PAT_A))
    fails |= C_UNCHANGED_BY_GRANDCHILD;
  return fails;
}

int main(void) {
  printf("cow: fork copy-on-write of heap, .data, .bss and anonymous pages\n");
  regions[0].p = malloc(SMALL);
  regions[0].len = SMALL;
  regions[1].p = data_buf;
  regions[1].len = sizeof data_buf;
  regions[2].p = bss_buf;
  regions[2].len = sizeof bss_buf;
  regions[3].p = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  regions[3].len = BIG;
  untouched = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  keep = mmap(NULL, SMALL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void *sh = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (!regions[0].p || regions[3].p == MAP_FAILED || untouched == MAP_FAILED || keep == MAP_FAILED ||
      sh == MAP_FAILED) {
    check(0, "allocating the test regions");
    return finish("cow");
  }
  shared = sh;
  fill_regions(PAT_A);
  fill(keep, SMALL, PAT_A);

  int c2p[2], p2c[2];
  if (pipe(c2p) != 0 || pipe(p2c) != 0) {
    check(0, "pipe");
    return finish("cow");
  }
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(c2p[0]);
    close(p2c[1]);
    _exit(child(c2p[1], p2c[0]));
  }
  if (!check(pid > 0, "fork")) return finish("cow");
  close(c2p[1]);
  close(p2c[0]);

  int synced = recv_byte(c2p[0]);
  check(synced, "the child wrote its pattern and told the parent");
  check(regions_hold(PAT_A), "the parent still sees its own data after the child wrote heap, .data, .bss, mmap");
  check(all_zero(untouched, BIG), "the parent still sees zeros where the child wrote a page untouched before fork");
  check(shared[0] == 0xC0FFEE, "the parent sees the child's write to the MAP_SHARED page");
  fill_regions(PAT_PARENT);
  shared[1] = 0xBEEF;
  send_byte(p2c[1]);
  check(regions_hold(PAT_PARENT), "the parent sees its own new pattern after writing");

  int st = -1;
  pid_t r = wait_for(pid, &st, 0);
  char text[64];
  if (!check(r == pid && WIFEXITED(st), "the child exited normally (%s)", status_text(st, text, sizeof text)))
    return finish("cow");
  int fails = WEXITSTATUS(st);
  check(!(fails & C_SAW_A), "the child saw the parent's pre-fork data in every region");
  check(!(fails & C_SYNC), "the child heard from the parent");
  check(!(fails & C_OWN_AFTER_PARENT), "the child still sees its own pattern after the parent wrote");
  check(!(fails & C_SHARED_FROM_PARENT), "the child sees the parent's write to the MAP_SHARED page");
  check(!(fails & C_UNTOUCHED_OWN), "the child keeps its write to the page untouched before fork");
  check(!(fails & C_KEEP), "a region nobody wrote after fork reads the same in the child");
  check(!(fails & C_GRANDCHILD_SAW_C), "a grandchild saw the child's pattern");
  check(!(fails & C_UNCHANGED_BY_GRANDCHILD), "the grandchild's writes did not reach the child");
  check(regions_hold(PAT_PARENT) && all_zero(untouched, BIG) && holds(keep, SMALL, PAT_A),
        "after the child and grandchild exited the parent's pages are unchanged");
  return finish("cow");
}
