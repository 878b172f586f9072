/* pagecache DIR: file-backed mmap semantics, in files under DIR.
 *
 *   - two processes mapping one file MAP_SHARED (each with its own mmap)
 *     see each other's writes, and write() and the mappings agree;
 *   - what a child wrote through its mapping is in the file after it exited
 *     (read back with read(), and by a freshly exec'd process);
 *   - MAP_PRIVATE writes never reach the file or other mappings; fork keeps
 *     shared mappings shared and private ones copy-on-write;
 *   - ftruncate, then touching the pages past the new end gives SIGBUS
 *     (BUS_ADRERR); so does a mapping longer than the file;
 *   - mremap: shrink, grow in place, move (MREMAP_MAYMOVE, MREMAP_FIXED) keep
 *     contents, for anonymous and file mappings; Linux's errnos;
 *   - mincore on touched, untouched and discarded pages; its errnos;
 *   - msync(MS_SYNC/MS_ASYNC/MS_INVALIDATE) and its errnos;
 *   - madvise(MADV_DONTNEED) zeroes anonymous pages, re-reads private file
 *     pages and keeps shared ones;
 *   - mmap's errnos for files (EACCES, ENODEV, EBADF, EINVAL).
 * Leaves DIR/pagecache.result holding a known pattern (the test checks the
 * host file when DIR is on a writable hostfs).
 * `pagecache DIR verify` (exec'd by the test itself) checks that file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "guest_test.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define PG GUEST_PAGE_SIZE

static char dir[512];
static char self[512];

static const char *path_of(const char *name) {
  static char buf[4][600];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, 600, "%s/%s", dir, name);
  return p;
}

static unsigned char pat(unsigned seed, size_t i) { return (unsigned char)(seed * 31 + i * 7 + (i >> 12)); }

static void fill(void *p, size_t n, unsigned seed) {
  unsigned char *c = p;
  for (size_t i = 0; i < n; i++) c[i] = pat(seed, i);
}

static int holds(const void *p, size_t n, unsigned seed) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != pat(seed, i)) return 0;
  return 1;
}

static int all_zero(const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i]) return 0;
  return 1;
}

/* A fresh file of `size` bytes holding pattern `seed`. */
static int make_file(const char *name, size_t size, unsigned seed) {
  int fd = open(path_of(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  char *buf = malloc(size ? size : 1);
  fill(buf, size, seed);
  if (write_all(fd, buf, size)) {
    free(buf);
    close(fd);
    return -1;
  }
  free(buf);
  return fd;
}

static int file_holds(int fd, off_t off, size_t n, unsigned seed_at_zero) {
  unsigned char *buf = malloc(n);
  ssize_t r = pread(fd, buf, n, off);
  int ok = r == (ssize_t)n;
  for (size_t i = 0; ok && i < n; i++) ok = buf[i] == pat(seed_at_zero, (size_t)off + i);
  free(buf);
  return ok;
}

/* ---- SIGBUS catching ---- */

static sigjmp_buf fault_jmp;
static volatile int fault_sig, fault_code;
static volatile uintptr_t fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  fault_sig = sig;
  fault_code = si->si_code;
  fault_addr = (uintptr_t)si->si_addr;
  siglongjmp(fault_jmp, 1);
}

/* Touches *p (a read, or a write of 1): 0 if it worked, else the signal. */
static int touch(volatile char *p, int write) {
  fault_sig = 0;
  if (sigsetjmp(fault_jmp, 1) == 0) {
    if (write) *p = 1;
    else (void)*p;
    return 0;
  }
  return fault_sig;
}

static void pipe_send(int fd) {
  char c = 'x';
  if (write(fd, &c, 1) != 1) _exit(90);
}

static void pipe_wait(int fd) {
  char c;
  if (read(fd, &c, 1) != 1) _exit(91);
}

/* ---- the checks ---- */

static void two_processes_share(void) {
  int fd = make_file("shared", 4 * PG, 1);
  char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check(m != MAP_FAILED && holds(m, 4 * PG, 1), "a shared mapping shows the file");
  int to_child[2], to_parent[2];
  if (pipe(to_child) || pipe(to_parent)) return;
  pid_t pid = gt_fork();
  if (pid == 0) {
    /* Its own open and mmap, not the inherited one. */
    int cfd = open(path_of("shared"), O_RDWR);
    char *c = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 2 * PG);
    if (c == MAP_FAILED) _exit(10);
    memcpy(c + 100, "from the child", 15);
    pipe_send(to_parent[1]);
    pipe_wait(to_child[0]);
    int bad = 0;
    if (strcmp(m, "from the parent") != 0) bad |= 1;      /* the inherited mapping */
    if (strcmp(c + PG, "parent again") != 0) bad |= 2;    /* its own mapping */
    char buf[16] = {0};
    if (pread(cfd, buf, 16, 0) != 16 || strcmp(buf, "from the parent")) bad |= 4; /* read() agrees with the maps */
    if (memcmp(c + PG + 500, "pwrite!", 7)) bad |= 8;
    memcpy(c + PG + 200, "child at exit", 14);
    _exit(bad);
  }
  pipe_wait(to_parent[0]);
  check(strcmp(m + 2 * PG + 100, "from the child") == 0, "the parent sees the child's write through its mapping");
  memcpy(m, "from the parent", 16);
  memcpy(m + 3 * PG, "parent again", 13);
  if (pwrite(fd, "pwrite!", 7, 3 * PG + 500) != 7) check(0, "pwrite");
  pipe_send(to_child[1]);
  int st;
  wait_for(pid, &st, 0);
  check_status(st, 0, 0, "the child sees the parent's writes in both mappings and in read()");
  /* written with write(): visible in the mapping at once */
  if (pwrite(fd, "written with", 13, 50) != 13) check(0, "pwrite");
  check(memcmp(m + 50, "written with", 13) == 0, "write() shows in the mapping");
  check(strcmp(m + 3 * PG + 200, "child at exit") == 0, "the child's last write is visible after it exited");
  char buf[16] = {0};
  int rfd = open(path_of("shared"), O_RDONLY);
  check(pread(rfd, buf, 14, 3 * PG + 200) == 14 && strcmp(buf, "child at exit") == 0,
        "the file holds the child's write after it exited");
  close(rfd);
  check(munmap(m, 4 * PG) == 0, "munmap");
  close(fd);
  close(to_child[0]);
  close(to_child[1]);
  close(to_parent[0]);
  close(to_parent[1]);
}

static void private_never_reaches_the_file(void) {
  int fd = make_file("private", 2 * PG, 2);
  char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  check(p != MAP_FAILED && holds(p, 2 * PG, 2), "a private mapping shows the file");
  memcpy(p + 10, "private!", 8);
  check(file_holds(fd, 0, 2 * PG, 2), "MAP_PRIVATE writes never reach the file");
  check(holds(s, 2 * PG, 2), "nor a shared mapping of it");
  /* A page not yet written privately still follows the file. */
  memcpy(s + PG, "shared write", 12);
  check(memcmp(p + PG, "shared write", 12) == 0, "an unwritten private page shows later file changes");
  check(memcmp(p + 10, "private!", 8) == 0, "the written private page keeps its own copy");
  check(msync(p, 2 * PG, MS_SYNC) == 0 && file_holds(fd, 0, PG, 2), "msync of a private mapping writes nothing");
  pid_t pid = gt_fork();
  if (pid == 0) {
    int bad = 0;
    if (memcmp(p + 10, "private!", 8)) bad |= 1;
    memcpy(p + 10, "child!!!", 8); /* copy-on-write */
    memcpy(s + 20, "child shared", 12);
    _exit(bad);
  }
  int st;
  wait_for(pid, &st, 0);
  check_status(st, 0, 0, "a forked child sees the private copy");
  check(memcmp(p + 10, "private!", 8) == 0, "the child's write to the private mapping stays its own");
  check(memcmp(s + 20, "child shared", 12) == 0, "the child's write to the shared mapping is shared");
  munmap(s, 2 * PG);
  munmap(p, 2 * PG);
  close(fd);
}

static void sigbus_past_eof(void) {
  int fd = make_file("trunc", 4 * PG, 3);
  char *m = mmap(NULL, 6 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check(m != MAP_FAILED, "a mapping longer than the file");
  check(touch(m + 3 * PG + 5, 0) == 0, "the last page of the file is readable");
  int sig = touch(m + 4 * PG + 8, 0);
  check(sig == SIGBUS && fault_code == BUS_ADRERR && fault_addr == (uintptr_t)(m + 4 * PG + 8),
        "past the end of the file: SIGBUS BUS_ADRERR at the address (got %s %s)", sig_name(sig),
        code_name(sig, fault_code));
  m[2 * PG] = 'k';
  check(ftruncate(fd, PG + 100) == 0, "ftruncate to 1 page + 100 bytes");
  sig = touch(m + 2 * PG, 0);
  check(sig == SIGBUS, "a page past the new end gives SIGBUS (got %s)", sig_name(sig));
  sig = touch(m + 3 * PG, 1);
  check(sig == SIGBUS, "so does writing one (got %s)", sig_name(sig));
  check(touch(m + PG + 200, 0) == 0 && all_zero(m + PG + 100, PG - 100), "the last page reads zeros past the end");
  char *priv = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  sig = touch(priv + PG + 10, 1);
  check(sig == 0, "a private mapping can write the partial last page");
  sig = touch(priv + PG, 0);
  check(sig == 0, "and read it");
  check(ftruncate(fd, 3 * PG) == 0 && touch(m + 2 * PG, 0) == 0 && all_zero(m + 2 * PG, PG),
        "growing the file again gives zeroed pages, no SIGBUS");
  check(file_holds(fd, 0, PG, 3), "the data before the cut is kept");
  munmap(priv, 2 * PG);
  munmap(m, 6 * PG);
  close(fd);
}

static void mremap_checks(void) {
  /* anonymous */
  char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fill(a, 4 * PG, 4);
  char *b = mremap(a, 4 * PG, 2 * PG, 0);
  check(b == a && holds(b, 2 * PG, 4), "mremap shrink keeps the address and contents");
  /* Make room after it, so it can grow in place. */
  munmap(a + 2 * PG, 8 * PG);
  b = mremap(a, 2 * PG, 6 * PG, 0);
  check(b == a, "mremap grows in place when the space after it is free");
  check(holds(b, 2 * PG, 4) && all_zero(b + 2 * PG, 4 * PG), "grown in place: old contents, zeroed new pages");
  char *block = mmap(b + 6 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  errno = 0;
  check_ret(mremap(b, 6 * PG, 8 * PG, 0), (long)MAP_FAILED, ENOMEM, "mremap cannot grow over a mapping without MAYMOVE");
  fill(b + 2 * PG, 4 * PG, 5);
  char *c = mremap(b, 6 * PG, 16 * PG, MREMAP_MAYMOVE);
  check(c != MAP_FAILED && c != b, "MREMAP_MAYMOVE moves it");
  check(holds(c, 2 * PG, 4) && holds(c + 2 * PG, 4 * PG, 5) && all_zero(c + 6 * PG, 10 * PG), "moved: contents kept");
  unsigned char v;
  check_ret(mincore(b, PG, &v), -1, ENOMEM, "the old range is unmapped");
  char *target = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *d = mremap(c, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target + PG);
  check(d == target + PG && holds(d, 2 * PG, 4), "MREMAP_FIXED moves onto a given address, replacing what was there");
  check(touch(target, 0) == 0, "the rest of the replaced mapping stays");
  /* errnos */
  check_ret(mremap(d + 1, PG, PG, 0), (long)MAP_FAILED, EINVAL, "mremap of an unaligned address");
  check_ret(mremap(d, PG, 0, 0), (long)MAP_FAILED, EINVAL, "mremap to length 0");
  check_ret(mremap(d, PG, PG, 0x100), (long)MAP_FAILED, EINVAL, "mremap with an unknown flag");
  check_ret(mremap(d, PG, PG, MREMAP_FIXED, target + 8 * PG), (long)MAP_FAILED, EINVAL, "MREMAP_FIXED without MAYMOVE");
  check_ret(mremap(d, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, d + PG), (long)MAP_FAILED, EINVAL,
            "MREMAP_FIXED onto an overlapping range");
  check_ret(mremap(d, PG, 3 * PG, MREMAP_DONTUNMAP | MREMAP_MAYMOVE), (long)MAP_FAILED, EINVAL,
            "MREMAP_DONTUNMAP that resizes");
  check_ret(mremap(d, 0, PG, MREMAP_MAYMOVE), (long)MAP_FAILED, EINVAL, "old length 0 of a private mapping");
  check_ret(mremap(block + 2 * PG, PG, 2 * PG, MREMAP_MAYMOVE), (long)MAP_FAILED, EFAULT, "mremap of nothing");
  check_ret(mremap(d, 4 * PG, 8 * PG, MREMAP_MAYMOVE), (long)MAP_FAILED, EFAULT, "mremap across the end of a mapping");
  munmap(block, PG);
  munmap(target, 4 * PG);
  munmap(c + 2 * PG, 14 * PG);

  /* file */
  int fd = make_file("remap", 8 * PG, 6);
  char *f = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PG);
  memcpy(f + 5, "before move", 11);
  char *g = mremap(f, 2 * PG, 5 * PG, MREMAP_MAYMOVE);
  check(g != MAP_FAILED && memcmp(g + 5, "before move", 11) == 0, "a shared file mapping moves with its writes");
  check(file_holds(fd, 4 * PG, 3 * PG, 6) && memcmp(g + 2 * PG, (char[]){(char)pat(6, 4 * PG)}, 1) == 0,
        "grown: the next file pages appear");
  memcpy(g + 4 * PG, "after move", 10);
  char buf[11] = {0};
  check(pread(fd, buf, 10, 6 * PG) == 10 && strcmp(buf, "after move") == 0, "writes after the move reach the file");
  char *h = mremap(g, 5 * PG, 7 * PG, MREMAP_MAYMOVE);
  int sig = touch(h + 6 * PG, 0);
  check(sig == SIGBUS, "grown past the end of the file: SIGBUS there (got %s)", sig_name(sig));
  munmap(h, 7 * PG);
  char *pr = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  memcpy(pr, "private copy", 12);
  char *pr2 = mremap(pr, PG, 3 * PG, MREMAP_MAYMOVE);
  check(memcmp(pr2, "private copy", 12) == 0 && memcmp(pr2 + PG, (char[]){(char)pat(6, PG)}, 1) == 0 &&
            memcmp(pr2 + 2 * PG + 5, "before move", 11) == 0,
        "a private file mapping keeps its copy and maps the file after it");
  munmap(pr2, 3 * PG);
  /* old_len 0: a second mapping of the same shared pages */
  char *s1 = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *s2 = mremap(s1, 0, PG, MREMAP_MAYMOVE);
  check(s2 != MAP_FAILED && s2 != s1, "old length 0 duplicates a shared mapping");
  if (s2 != MAP_FAILED) {
    s1[0] = 'Q';
    check(s2[0] == 'Q', "both show the same page");
    munmap(s2, PG);
  }
  munmap(s1, PG);
  /* MREMAP_DONTUNMAP: the pages move, the old range stays mapped and empty */
  char *an = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fill(an, 2 * PG, 7);
  char *mv = mremap(an, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL); /* new_addr is checked */
  check(mv != MAP_FAILED && holds(mv, 2 * PG, 7), "MREMAP_DONTUNMAP moves the pages");
  check(touch(an, 0) == 0 && all_zero(an, 2 * PG), "and leaves the old range mapped, zero-filled");
  munmap(an, 2 * PG);
  munmap(mv, 2 * PG);
  close(fd);
}

static void mincore_checks(void) {
  unsigned char v[64];
  /* Pages 0 and 40 touched, 20 not: far enough apart that the guest's
   * fault-around (16 pages) of one never reaches another. */
  char *a = mmap(NULL, 48 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  a[0] = 1;
  a[40 * PG] = 1;
  int r = mincore(a, 48 * PG, v);
  check(r == 0 && (v[0] & 1) && !(v[20] & 1) && (v[40] & 1),
        "mincore: touched anonymous pages are resident, untouched ones not (%d%d%d)", v[0] & 1, v[20] & 1,
        v[40] & 1);
  madvise(a, PG, MADV_DONTNEED);
  check(mincore(a, PG, v) == 0 && !(v[0] & 1), "a page dropped by MADV_DONTNEED is not resident");
  check(mincore(a, 3 * PG + 1, v) == 0, "a length that is not a page multiple covers the partial page");
  check_ret(mincore(a + 1, PG, v), -1, EINVAL, "mincore of an unaligned address");
  munmap(a + 3 * PG, PG);
  check_ret(mincore(a, 4 * PG, v), -1, ENOMEM, "mincore across an unmapped page");
  check_ret(mincore(a, PG, (unsigned char *)8), -1, EFAULT, "mincore with a bad vector");
  munmap(a, 48 * PG);
  /* A sparse file: a page written through the mapping is resident, a hole never touched is not. */
  int fd = open(path_of("sparse"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (ftruncate(fd, 4 * PG)) check(0, "ftruncate");
  char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  m[PG] = 'x';
  check(mincore(m, 4 * PG, v) == 0 && (v[1] & 1), "a file page written through a mapping is resident");
  munmap(m, 4 * PG);
  char *m2 = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, fd, 0);
  check(mincore(m2, 4 * PG, v) == 0 && (v[1] & 1), "and stays in the page cache after munmap");
  munmap(m2, 4 * PG);
  close(fd);
}

static void msync_checks(void) {
  int fd = make_file("msync", 2 * PG, 8);
  char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  memcpy(m + 7, "synced", 6);
  check_ret(msync(m, 2 * PG, MS_SYNC), 0, 0, "msync MS_SYNC");
  char buf[7] = {0};
  int rfd = open(path_of("msync"), O_RDONLY);
  check(pread(rfd, buf, 6, 7) == 6 && strcmp(buf, "synced") == 0, "the file holds the write after msync");
  close(rfd);
  check_ret(msync(m, PG, MS_ASYNC), 0, 0, "msync MS_ASYNC");
  check_ret(msync(m, PG, MS_INVALIDATE), 0, 0, "msync MS_INVALIDATE");
  check_ret(msync(m, PG, MS_SYNC | MS_INVALIDATE), 0, 0, "msync MS_SYNC|MS_INVALIDATE");
  check_ret(msync(m, 0, MS_SYNC), 0, 0, "msync of length 0");
  check_ret(msync(m + 1, PG, MS_SYNC), -1, EINVAL, "msync of an unaligned address");
  check_ret(msync(m, PG, MS_SYNC | MS_ASYNC), -1, EINVAL, "msync MS_SYNC|MS_ASYNC");
  check_ret(msync(m, PG, 0x100), -1, EINVAL, "msync with an unknown flag");
  munmap(m + PG, PG);
  check_ret(msync(m, 2 * PG, MS_SYNC), -1, ENOMEM, "msync across an unmapped page");
  check_ret(msync(m + PG, PG, MS_ASYNC), -1, ENOMEM, "msync of unmapped memory");
  munmap(m, PG);
  close(fd);
}

static void madvise_checks(void) {
  int fd = make_file("advise", 2 * PG, 9);
  char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *a = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(p, "private", 7);
  memcpy(s + PG, "shared", 6);
  memset(a, 0x55, 2 * PG);
  check_ret(madvise(p, 2 * PG, MADV_DONTNEED), 0, 0, "MADV_DONTNEED on a private file mapping");
  check(memcmp(p, (char[]){(char)pat(9, 0)}, 1) == 0 && memcmp(p + PG, "shared", 6) == 0,
        "its pages show the file again");
  check_ret(madvise(s, 2 * PG, MADV_DONTNEED), 0, 0, "MADV_DONTNEED on a shared file mapping");
  check(memcmp(s + PG, "shared", 6) == 0, "a shared page keeps its data");
  check_ret(madvise(a, 2 * PG, MADV_DONTNEED), 0, 0, "MADV_DONTNEED on anonymous memory");
  check(all_zero(a, 2 * PG), "anonymous pages come back zeroed");
  check_ret(madvise(a, 2 * PG, MADV_WILLNEED), 0, 0, "MADV_WILLNEED");
  check_ret(madvise(p, 2 * PG, MADV_FREE), -1, EINVAL, "MADV_FREE on a file mapping");
  check_ret(madvise(a + 1, PG, MADV_DONTNEED), -1, EINVAL, "madvise of an unaligned address");
  char *sa = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  memcpy(sa, "shm", 3);
  check_ret(madvise(sa, 2 * PG, MADV_REMOVE), 0, 0, "MADV_REMOVE on shared anonymous memory");
  check(all_zero(sa, 3), "frees its pages: zeros again");
  munmap(sa, 2 * PG);
  munmap(p, 2 * PG);
  munmap(s, 2 * PG);
  munmap(a, 2 * PG);
  close(fd);
}

static void mmap_errnos(void) {
  int fd = make_file("errnos", PG, 10);
  close(fd);
  int wo = open(path_of("errnos"), O_WRONLY);
  check_ret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0), (long)MAP_FAILED, EACCES, "mmap of a write-only fd");
  close(wo);
  int ro = open(path_of("errnos"), O_RDONLY);
  check_ret(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), (long)MAP_FAILED, EACCES,
            "a writable shared mapping of a read-only fd");
  void *ok = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  check(ok != MAP_FAILED, "a writable private mapping of a read-only fd");
  munmap(ok, PG);
  check_ret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, ro, 1), (long)MAP_FAILED, EINVAL, "an unaligned offset");
  check_ret(mmap(NULL, 0, PROT_READ, MAP_PRIVATE, ro, 0), (long)MAP_FAILED, EINVAL, "length 0");
  close(ro);
  int ap = open(path_of("errnos"), O_RDWR | O_APPEND);
  void *apm = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ap, 0);
  check(apm != MAP_FAILED, "a writable shared mapping of an O_APPEND fd");
  if (apm != MAP_FAILED) munmap(apm, PG);
  close(ap);
  int d = open(dir, O_RDONLY | O_DIRECTORY);
  check_ret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, d, 0), (long)MAP_FAILED, ENODEV, "mmap of a directory");
  close(d);
  check_ret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 999, 0), (long)MAP_FAILED, EBADF, "mmap of a bad fd");
  int pfd[2];
  if (pipe(pfd) == 0) {
    check_ret(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pfd[0], 0), (long)MAP_FAILED, ENODEV, "mmap of a pipe");
    close(pfd[0]);
    close(pfd[1]);
  }
}

/* Mapped, then closed and unlinked: the mapping keeps the file alive. */
static void mapping_outlives_the_name(void) {
  int fd = make_file("unlinked", 2 * PG, 11);
  char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  unlink(path_of("unlinked"));
  memcpy(m + PG, "still here", 10);
  check(holds(m, PG, 11) && memcmp(m + PG, "still here", 10) == 0, "a mapping outlives close and unlink");
  munmap(m, 2 * PG);
}

/* The result file: written through a shared mapping by a child that exits;
 * a freshly exec'd process checks it with read(). */
static void result_file(void) {
  int fd = open(path_of("pagecache.result"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (ftruncate(fd, 3 * PG)) check(0, "ftruncate");
  pid_t pid = gt_fork();
  if (pid == 0) {
    char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) _exit(1);
    fill(m, 3 * PG, 12);
    _exit(0); /* no msync, no munmap: exit writes it back */
  }
  int st;
  wait_for(pid, &st, 0);
  check_status(st, 0, 0, "a child fills the result file through a mapping and exits");
  close(fd);
  pid = gt_fork();
  if (pid == 0) {
    char *args[] = {self, dir, "verify", NULL};
    execv(self, args);
    _exit(127);
  }
  wait_for(pid, &st, 0);
  check_status(st, 0, 0, "an exec'd process reads the child's data from the file");
}

static int verify(void) {
  int fd = open(path_of("pagecache.result"), O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) || st.st_size != 3 * PG) return 2;
  return file_holds(fd, 0, 3 * PG, 12) ? 0 : 3;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: pagecache DIR [verify]\n");
    return 2;
  }
  snprintf(dir, sizeof dir, "%s", argv[1]);
  snprintf(self, sizeof self, "%s", argv[0]);
  if (argc > 2 && strcmp(argv[2], "verify") == 0) return verify();
  set_handler(SIGBUS, on_fault, SA_SIGINFO | SA_NODEFER);
  set_handler(SIGSEGV, on_fault, SA_SIGINFO | SA_NODEFER);
  two_processes_share();
  private_never_reaches_the_file();
  sigbus_past_eof();
  mremap_checks();
  mincore_checks();
  msync_checks();
  madvise_checks();
  mmap_errnos();
  mapping_outlives_the_name();
  result_file();
  const char *names[] = {"shared", "private", "trunc", "remap", "sparse", "msync", "advise", "errnos"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) unlink(path_of(names[i]));
  return finish("pagecache");
}
