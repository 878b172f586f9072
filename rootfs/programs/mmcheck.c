/* mmcheck: checks brk, mmap, munmap and mprotect semantics without signal
 * handlers. One "ok - ..." / "not ok - ..." line per check, then
 * "mmcheck: PASS" (exit 0) or "mmcheck: FAIL" (exit 1). Nothing printed
 * depends on addresses, so a native run and a guest run print the same text.
 *
 * How accessibility is probed without taking a fault: hand the address to a
 * syscall that copies from or to user memory; the kernel answers EFAULT
 * instead of delivering SIGSEGV when the page is missing or lacks the right.
 *   readable(p): rt_sigprocmask(SIG_BLOCK, set = p, &old, 8) makes the kernel
 *     read 8 bytes at p (EFAULT if it cannot); on success the old mask is put
 *     back at once with SIG_SETMASK. No output, no lasting side effect.
 *   writable(p): getrandom(p, 1, 0) makes the kernel write 1 byte at p (EFAULT
 *     if it cannot). This overwrites the first byte of the page with a random
 *     value, so the checks below compare contents before a write probe, or
 *     refill the page after it.
 * The probes never touch p from user space: if a kernel wrongly reports a
 * page accessible, the check says "not ok" instead of the program dying.
 * (write(fd, p, 1) would also read p, but it would put bytes on the console,
 * and write(-1, ...) fails with EBADF before p is looked at.)
 *
 * Every memory-management call is made with syscall(), not the libc wrapper:
 * musl's mprotect() wrapper rounds an unaligned address down to a page (so
 * it could not show EINVAL), and the kernel is what is under test. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_common.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG GUEST_PAGE_SIZE
#define MiB (1024UL * 1024UL)
#define ACC_R 1
#define ACC_W 2
#define ACC_ERR 4 /* a probe failed with something other than EFAULT */

static int failures;

static void check(int ok, const char *what) {
  printf("%s - %s\n", ok ? "ok" : "not ok", what);
  if (!ok) failures++;
}

/* check() with the errno that was seen, when it was not the expected one. */
static void check_errno(long ret, int err, long want_ret, int want_err, const char *what) {
  if (ret == want_ret && (want_err == 0 || err == want_err)) {
    check(1, what);
    return;
  }
  char msg[256];
  if (ret == -1)
    snprintf(msg, sizeof msg, "%s (got error: %s)", what, err_text(err));
  else
    snprintf(msg, sizeof msg, "%s (the call succeeded)", what);
  check(0, msg);
}

static void *sys_mmap(void *addr, size_t len, int prot, int flags) {
  return (void *)syscall(SYS_mmap, addr, len, prot, flags, -1, 0);
}
static long sys_munmap(void *addr, size_t len) { return syscall(SYS_munmap, addr, len); }
static long sys_mprotect(void *addr, size_t len, int prot) { return syscall(SYS_mprotect, addr, len, prot); }
static uintptr_t sys_brk(uintptr_t addr) { return (uintptr_t)syscall(SYS_brk, addr); }

/* ACC_R / ACC_W bits for the page holding p (see the comment at the top).
 * A successful write probe changes the byte at p. */
static int access_of(void *p) {
  int acc = 0;
  uint64_t old;
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, p, &old, 8) == 0) {
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
    acc |= ACC_R;
  } else if (errno != EFAULT) {
    acc |= ACC_ERR;
  }
  if (syscall(SYS_getrandom, p, 1, 0) == 1)
    acc |= ACC_W;
  else if (errno != EFAULT)
    acc |= ACC_ERR;
  return acc;
}

/* All n pages at p have exactly the access `want`. */
static int pages_have(char *p, size_t n, int want) {
  for (size_t i = 0; i < n; i++)
    if (access_of(p + i * PG) != want) return 0;
  return 1;
}

static uint64_t word_pattern(uint64_t seed, uint64_t i) { return (seed + 1) * 0x9E3779B97F4A7C15ULL ^ i; }

static void fill(void *p, size_t len, uint64_t seed) {
  uint64_t *w = p;
  for (size_t i = 0; i < len / 8; i++) w[i] = word_pattern(seed, i);
}

static int holds(const void *p, size_t len, uint64_t seed) {
  const volatile uint64_t *w = p;
  for (size_t i = 0; i < len / 8; i++)
    if (w[i] != word_pattern(seed, i)) return 0;
  return 1;
}

/* Page i of the n at p gets (or must hold) the pattern of seed + i. */
static void fill_pages(char *p, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) fill(p + i * PG, PG, seed + i);
}

static int holds_pages(const char *p, size_t n, uint64_t seed) {
  int ok = 1;
  for (size_t i = 0; i < n; i++) ok &= holds(p + i * PG, PG, seed + i);
  return ok;
}

static int all_bytes(const void *p, size_t len, unsigned char c) {
  const volatile unsigned char *b = p;
  for (size_t i = 0; i < len; i++)
    if (b[i] != c) return 0;
  return 1;
}

static int data_marker = 12345; /* lives in .data, below the initial break */

static void check_brk(void) {
  /* Nothing is printed between growing and shrinking the break: glibc's stdio
   * might malloc() and so move the break itself. (main() printed a line
   * already, so stdout's buffer exists before `cur` is read.) */
  uintptr_t cur = sys_brk(0);
  uintptr_t grown = sys_brk(cur + MiB);
  int grew = grown == cur + MiB, zeros = 0, held = 0, shrunk = 0, gone = 0;
  if (grew) {
    uintptr_t fresh = (cur + PG - 1) & ~(PG - 1);
    zeros = all_bytes((void *)fresh, cur + MiB - fresh, 0);
    fill((void *)cur, MiB, 1);
    held = holds((void *)cur, MiB, 1);
    memset((void *)cur, 0, MiB); /* leave the part below the page end as malloc expects it */
    shrunk = sys_brk(cur) == cur;
    gone = access_of((void *)fresh) == 0;
  }
  uintptr_t refused = sys_brk((uintptr_t)&data_marker);
  int unchanged = refused == cur && sys_brk(0) == cur && data_marker == 12345;

  check(cur != 0 && cur != (uintptr_t)-1, "brk(0) returns the current break");
  check(grew, "brk grows the break by 1 MiB");
  check(zeros, "the new break area reads as zeros");
  check(held, "the grown break area holds what was written");
  check(shrunk, "brk shrinks the break back");
  check(gone, "memory above the shrunk break is gone (EFAULT)");
  check(unchanged, "brk below the initial break is refused and leaves the break unchanged");
}

static void check_mmap_munmap(void) {
  char *m = sys_mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  check(m != MAP_FAILED, "mmap of 16 anonymous read-write pages");
  if (m == MAP_FAILED) return;
  check(all_bytes(m, 16 * PG, 0), "a fresh anonymous mapping reads as zeros");
  check(pages_have(m, 16, ACC_R | ACC_W), "every page of the new mapping is readable and writable");
  fill_pages(m, 16, 0);
  check(holds_pages(m, 16, 0), "16 written pages read back");

  long r = sys_munmap(m + 6 * PG, 4 * PG);
  check_errno(r, errno, 0, 0, "munmap of the middle 4 pages succeeds");
  check(holds_pages(m, 6, 0) && holds_pages(m + 10 * PG, 6, 10), "the pages around the hole keep their contents");
  check(pages_have(m, 6, ACC_R | ACC_W) && pages_have(m + 10 * PG, 6, ACC_R | ACC_W),
        "the pages around the hole stay readable and writable");
  check(pages_have(m + 6 * PG, 4, 0), "the 4 unmapped pages give EFAULT");
  r = sys_munmap(m + 6 * PG, 4 * PG);
  check_errno(r, errno, 0, 0, "munmap of an already unmapped range succeeds");
  r = sys_mprotect(m + 7 * PG, 4 * PG, PROT_READ);
  check_errno(r, errno, -1, ENOMEM, "mprotect of a range starting in a hole gives ENOMEM");
  check(pages_have(m + 10 * PG, 1, ACC_R | ACC_W), "the failed mprotect changed nothing");

  fill_pages(m, 1, 0); /* the probes above changed its first byte */
  r = sys_munmap(m + 1, PG);
  check_errno(r, errno, -1, EINVAL, "munmap of an unaligned address gives EINVAL");
  r = sys_mprotect(m + 1, PG, PROT_READ);
  check_errno(r, errno, -1, EINVAL, "mprotect of an unaligned address gives EINVAL");
  check(holds_pages(m, 1, 0) && pages_have(m, 1, ACC_R | ACC_W), "the unaligned calls changed nothing");

  r = sys_munmap(m, 16 * PG);
  check_errno(r, errno, 0, 0, "munmap of a range spanning a hole succeeds");
  check(pages_have(m, 6, 0) && pages_have(m + 10 * PG, 6, 0), "all of it is gone (EFAULT)");
}

static void check_mprotect(void) {
  char *q = sys_mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  check(q != MAP_FAILED, "mmap of 4 anonymous read-write pages");
  if (q == MAP_FAILED) return;
  fill_pages(q, 4, 100);

  long r = sys_mprotect(q, 4 * PG, PROT_READ);
  check_errno(r, errno, 0, 0, "mprotect PROT_READ succeeds");
  check(pages_have(q, 4, ACC_R), "getrandom into read-only pages gives EFAULT, reading works");
  check(holds_pages(q, 4, 100), "read-only pages keep their contents");

  r = sys_mprotect(q, 4 * PG, PROT_READ | PROT_WRITE);
  check_errno(r, errno, 0, 0, "mprotect back to PROT_READ|PROT_WRITE succeeds");
  check(holds_pages(q, 4, 100), "contents are preserved across read-only and back");
  check(pages_have(q, 4, ACC_R | ACC_W), "the pages are writable again");
  fill_pages(q, 4, 200);
  check(holds_pages(q, 4, 200), "the pages can be rewritten");

  r = sys_mprotect(q + PG, PG, PROT_NONE);
  check_errno(r, errno, 0, 0, "mprotect PROT_NONE of one page in the middle succeeds");
  check(access_of(q) == (ACC_R | ACC_W) && access_of(q + PG) == 0 && pages_have(q + 2 * PG, 2, ACC_R | ACC_W),
        "only that page became inaccessible");
  /* The probes changed the first byte of pages 0, 2 and 3: rewrite them. */
  fill_pages(q, 1, 200);
  fill_pages(q + 2 * PG, 2, 202);

  r = sys_mprotect(q, 4 * PG, PROT_NONE);
  check_errno(r, errno, 0, 0, "mprotect PROT_NONE of all 4 pages succeeds");
  check(pages_have(q, 4, 0), "PROT_NONE pages give EFAULT for reading and writing");
  r = sys_mprotect(q, 4 * PG, PROT_READ | PROT_WRITE);
  check_errno(r, errno, 0, 0, "mprotect back from PROT_NONE succeeds");
  check(holds_pages(q, 4, 200), "contents are preserved across PROT_NONE");
  sys_munmap(q, 4 * PG);
}

static void check_fixed(void) {
  char *f = sys_mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  check(f != MAP_FAILED, "mmap of 4 anonymous read-write pages");
  if (f == MAP_FAILED) return;
  memset(f, 0xAB, 4 * PG);

  char *g = sys_mmap(f + PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  check(g == f + PG, "MAP_FIXED over an existing mapping maps at the requested address");
  check(all_bytes(f + PG, 2 * PG, 0), "MAP_FIXED replaces the old contents with zeros");
  check(all_bytes(f, PG, 0xAB) && all_bytes(f + 3 * PG, PG, 0xAB), "MAP_FIXED leaves the neighbouring pages alone");

  errno = 0;
  char *h = sys_mmap(f, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
  check_errno(h == MAP_FAILED ? -1 : 0, errno, -1, EEXIST, "MAP_FIXED_NOREPLACE over an existing mapping gives EEXIST");
  check(all_bytes(f, PG, 0xAB), "the refused MAP_FIXED_NOREPLACE changed nothing");

  sys_munmap(f + 3 * PG, PG);
  h = sys_mmap(f + 3 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
  check(h == f + 3 * PG && all_bytes(h, PG, 0), "MAP_FIXED_NOREPLACE into a free range maps exactly there");
  sys_munmap(f, 4 * PG);
}

static void check_errors(void) {
  errno = 0;
  void *p = sys_mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  check_errno(p == MAP_FAILED ? -1 : 0, errno, -1, EINVAL, "mmap of length 0 gives EINVAL");
  if (p != MAP_FAILED) sys_munmap(p, PG);

  errno = 0;
  p = sys_mmap(NULL, 1UL << 46, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  check_errno(p == MAP_FAILED ? -1 : 0, errno, -1, ENOMEM, "mmap of 64 TiB (1 << 46 bytes) gives ENOMEM");
  if (p != MAP_FAILED) sys_munmap(p, 1UL << 46);
}

static void check_fresh_after_reuse(void) {
  /* Memory freed by the checks above may be handed out again: it must come
   * back zeroed. Write a region, unmap it, map a new one of the same size. */
  size_t len = 256 * PG;
  char *a = sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (a != MAP_FAILED) {
    memset(a, 0x5A, len);
    sys_munmap(a, len);
  }
  char *b = sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  check(a != MAP_FAILED && b != MAP_FAILED && all_bytes(b, len, 0),
        "a fresh anonymous mapping reads as zeros after memory was freed");
  if (b != MAP_FAILED) sys_munmap(b, len);
}

int main(void) {
  printf("mmcheck: brk, mmap, munmap, mprotect\n");
  check_brk();
  check_mmap_munmap();
  check_mprotect();
  check_fixed();
  check_errors();
  check_fresh_after_reuse();
  printf("mmcheck: %s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
