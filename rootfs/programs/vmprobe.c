/* vmprobe [DIR [PAGES]]: a guest that holds still to be looked at through --export.
 *
 * It maps 8 private pages at 0x20000000 and fills pages 0, 1, 2 and 5 with
 * byte (31*N + i) & 0xff (N the page, i the byte), maps one MAP_SHARED
 * anonymous page at 0x20100000 filled with 0x33, and forks: the child (pid
 * 2) sleeps, so those pages are copy-on-write shared between the two. The
 * parent then writes page 2 again, with byte (0xa5 ^ i) & 0xff, which
 * gives it a frame of its own (the child keeps the old one), and creates
 * DIR/vmprobe.txt (default DIR: /tmp) holding "hello from the guest\n".
 * With PAGES it then maps PAGES private pages at 0x40000000 and writes one
 * byte to each, in a scattered order (for the host MMU exercises of
 * docs/teaching.md).
 *
 * Once the child has settled it prints "ready", its own /proc/self/maps
 * between "--- maps" and "--- end", then /proc/meminfo between "--- meminfo"
 * and "--- end", and sleeps until killed. Everything after the fork is done
 * with raw syscalls on buffers touched beforehand, so from "ready" on no
 * page of either process changes and no frame is allocated. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest_common.h"

#define REGION ((void *)0x20000000UL)
#define SHARED ((void *)0x20100000UL)
#define SCATTER ((void *)0x40000000UL)
#define PAGES 8

static char maps[64 << 10], meminfo[16 << 10];

static void put(const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void say(const char *s) { put(s, strlen(s)); }

/* Reads a whole file into buf (NUL-terminated); the length, or -1. */
static ssize_t slurp(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  size_t len = 0;
  ssize_t r;
  while (len < size - 1 && (r = read(fd, buf + len, size - 1 - len)) > 0) len += (size_t)r;
  close(fd);
  buf[len] = 0;
  return (ssize_t)len;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/tmp";
  unsigned char *region = mmap(REGION, PAGES * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  unsigned char *shared = mmap(SHARED, GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (region != REGION || shared != SHARED) {
    say("vmprobe: mmap failed\n");
    return 1;
  }
  static const int written[] = {0, 1, 2, 5};
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < GUEST_PAGE_SIZE; i++)
      region[written[k] * GUEST_PAGE_SIZE + i] = (unsigned char)((31 * written[k] + i) & 0xff);
  memset(shared, 0x33, GUEST_PAGE_SIZE);
  int settled[2];
  if (pipe(settled) != 0) return 1;
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    char c = 'c';
    if (write(settled[1], &c, 1) != 1) _exit(1);
    for (;;) pause();
  }
  for (size_t i = 0; i < GUEST_PAGE_SIZE; i++) region[2 * GUEST_PAGE_SIZE + i] = (unsigned char)((0xa5 ^ i) & 0xff);
  memset(maps, 0, sizeof maps); /* fault the buffers in before anything is measured */
  memset(meminfo, 0, sizeof meminfo);
  char path[256];
  snprintf(path, sizeof path, "%s/vmprobe.txt", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "hello from the guest\n", 21) != 21) {
    say("vmprobe: cannot create the file\n");
    return 1;
  }
  close(fd);
  if (argc > 2) {
    uint64_t n = strtoull(argv[2], NULL, 0);
    unsigned char *pages = mmap(SCATTER, n * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (n == 0 || pages != SCATTER) {
      say("vmprobe: cannot map the scattered pages\n");
      return 1;
    }
    struct perm order;
    perm_init(&order, n, 1);
    for (uint64_t i = 0; i < n; i++) pages[perm_next(&order) * GUEST_PAGE_SIZE] = 1;
  }
  char c;
  if (read(settled[0], &c, 1) != 1) return 1;
  struct timespec calm = {0, 200 * 1000 * 1000}; /* the child is in pause() by then */
  nanosleep(&calm, NULL);
  ssize_t nm = slurp("/proc/self/maps", maps, sizeof maps);
  ssize_t ni = slurp("/proc/meminfo", meminfo, sizeof meminfo);
  if (nm < 0 || ni < 0) {
    say("vmprobe: cannot read /proc\n");
    return 1;
  }
  say("ready\n--- maps\n");
  put(maps, (size_t)nm);
  say("--- end\n--- meminfo\n");
  put(meminfo, (size_t)ni);
  say("--- end\n");
  for (;;) pause();
}
