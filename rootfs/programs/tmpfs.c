/* tmpfs DIR: what Linux's tmpfs answers, in a directory of one (the test
 * runs it natively in /dev/shm and in the guest's /tmp):
 *   - statfs type, block size, name length;
 *   - directory link counts and sizes (20 bytes per entry), file blocks
 *     (sparse files cost nothing), symlink sizes;
 *   - which of atime/mtime/ctime each operation changes (create, unlink,
 *     link, rename, chmod, chown, write, truncate, read, readdir, readlink);
 *   - rename's rules (NOREPLACE, EXCHANGE across directories, onto empty and
 *     non-empty directories), rmdir, unlink of open files, device nodes.
 * `tmpfs DIR mount` (guest only, needs mount(2)): a tmpfs mounted on DIR
 * with size=64k,mode=0700 fills up with ENOSPC (write and a mapping's
 * SIGBUS) and reports its size and mode. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "guest_test.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static char dir[400];

static const char *at(const char *name) {
  static char buf[4][512];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

static struct stat st_of(const char *path) {
  struct stat st;
  memset(&st, 0, sizeof st);
  lstat(path, &st);
  return st;
}

/* Sets a file's times far in the past, so any change shows. */
static void age(const char *path) {
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  utimensat(AT_FDCWD, path, old, AT_SYMLINK_NOFOLLOW);
}

/* Which of the times of `path` moved since age(): "amc" letters or "-". */
static const char *moved(const char *path) {
  static char buf[4][8];
  static int next;
  char *b = buf[next++ % 4];
  struct stat st = st_of(path);
  int n = 0;
  if (st.st_atim.tv_sec != 1000) b[n++] = 'a';
  if (st.st_mtim.tv_sec != 1000) b[n++] = 'm';
  /* ctime cannot be set: it moved if it is newer than our own age() call */
  b[n] = 0;
  return n ? b : "-";
}

/* ctime is compared before and after, with a pause so it can differ. */
static struct timespec ctime_of(const char *path) { return st_of(path).st_ctim; }
static int later(struct timespec a, struct timespec b) {
  return b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec > a.tv_nsec);
}

static void pause_tick(void) { sleep_ms(20); }

/* Runs `op` and reports which times of each path changed. */
#define TIMES(what, op, ...)                                                      \
  do {                                                                            \
    const char *given_[] = {__VA_ARGS__};                                         \
    size_t n_ = sizeof given_ / sizeof *given_;                                   \
    char paths_[4][512]; /* at()'s buffers are reused by `op` */                  \
    struct timespec c_[4];                                                        \
    for (size_t i_ = 0; i_ < n_; i_++) snprintf(paths_[i_], 512, "%s", given_[i_]); \
    for (size_t i_ = 0; i_ < n_; i_++) {                                          \
      age(paths_[i_]);                                                            \
      c_[i_] = ctime_of(paths_[i_]);                                              \
    }                                                                             \
    pause_tick();                                                                 \
    op;                                                                           \
    printf("%s:", what);                                                          \
    for (size_t i_ = 0; i_ < n_; i_++)                                            \
      printf(" %s=%s%s", strrchr(paths_[i_], '/') + 1, moved(paths_[i_]),         \
             later(c_[i_], ctime_of(paths_[i_])) ? "+c" : "");                    \
    printf("\n");                                                                 \
  } while (0)

static void statfs_and_sizes(void) {
  struct statfs sf;
  check(statfs(dir, &sf) == 0, "statfs");
  printf("f_type %lx bsize %ld namelen %ld\n", (long)sf.f_type, (long)sf.f_bsize, (long)sf.f_namelen);
  mkdir(at("d"), 0755);
  struct stat st = st_of(at("d"));
  printf("new dir: nlink %ld size %ld blocks %ld\n", (long)st.st_nlink, (long)st.st_size, (long)st.st_blocks);
  mkdir(at("d/sub"), 0755);
  close(open(at("d/f"), O_CREAT | O_WRONLY, 0644));
  symlink("f", at("d/l"));
  st = st_of(at("d"));
  printf("dir with a subdir, a file, a link: nlink %ld size %ld\n", (long)st.st_nlink, (long)st.st_size);
  int fd = open(at("d/f"), O_WRONLY);
  char buf[5000];
  memset(buf, 'x', sizeof buf);
  if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) check(0, "write");
  st = st_of(at("d/f"));
  printf("5000 bytes: size %ld blocks %ld\n", (long)st.st_size, (long)st.st_blocks);
  if (ftruncate(fd, 1 << 20)) check(0, "ftruncate");
  st = st_of(at("d/f"));
  printf("grown to 1 MiB: size %ld blocks %ld\n", (long)st.st_size, (long)st.st_blocks);
  if (pwrite(fd, "y", 1, 600000) != 1) check(0, "pwrite");
  printf("one byte in the hole: blocks %ld\n", (long)st_of(at("d/f")).st_blocks);
  close(fd);
  st = st_of(at("d/l"));
  printf("symlink: size %ld blocks %ld mode %o\n", (long)st.st_size, (long)st.st_blocks, st.st_mode);
  char longt[300];
  memset(longt, 'p', sizeof longt - 1);
  longt[sizeof longt - 1] = 0;
  symlink(longt, at("d/long"));
  st = st_of(at("d/long"));
  printf("long symlink: size %ld blocks %ld\n", (long)st.st_size, (long)st.st_blocks);
  check(mknod(at("d/null"), S_IFCHR | 0666, makedev(1, 3)) == 0, "mknod a character device");
  st = st_of(at("d/null"));
  printf("device: %s %u,%u size %ld\n", S_ISCHR(st.st_mode) ? "chr" : "?", major(st.st_rdev), minor(st.st_rdev),
         (long)st.st_size);
  check(mkfifo(at("d/fifo"), 0600) == 0 && S_ISFIFO(st_of(at("d/fifo")).st_mode), "mkfifo");
  int nfd = open(at("d/null"), O_WRONLY);
  check(nfd >= 0 && write(nfd, "x", 1) == 1, "the device node opens the device");
  close(nfd);
  DIR *dp = opendir(at("d"));
  int n = 0;
  for (struct dirent *e; (e = readdir(dp));) n++;
  closedir(dp);
  printf("entries listed: %d\n", n);
}

static void timestamps(void) {
  mkdir(at("t"), 0755);
  mkdir(at("t2"), 0755);
  close(open(at("t/a"), O_CREAT | O_WRONLY, 0644));
  TIMES("create", close(open(at("t/b"), O_CREAT | O_WRONLY, 0644)), at("t"), at("t/a"));
  TIMES("write", { int fd = open(at("t/a"), O_WRONLY); if (write(fd, "abc", 3) != 3) check(0, "w"); close(fd); },
        at("t/a"), at("t"));
  TIMES("read", { char c[3]; int fd = open(at("t/a"), O_RDONLY); if (read(fd, c, 3) != 3) check(0, "r"); close(fd); },
        at("t/a"));
  TIMES("truncate", { if (truncate(at("t/a"), 1)) check(0, "t"); }, at("t/a"));
  TIMES("chmod", chmod(at("t/a"), 0600), at("t/a"), at("t"));
  TIMES("chown", { if (chown(at("t/a"), 0, 0)) check(0, "chown"); }, at("t/a"));
  TIMES("link", link(at("t/a"), at("t/c")), at("t/a"), at("t"));
  TIMES("unlink", unlink(at("t/c")), at("t/a"), at("t"));
  TIMES("rename", rename(at("t/a"), at("t2/a")), at("t2/a"), at("t"), at("t2"));
  TIMES("mkdir", mkdir(at("t/sub"), 0755), at("t"));
  TIMES("readdir", { DIR *d = opendir(at("t")); while (readdir(d)) {} closedir(d); }, at("t"));
  symlink("target", at("t/sl"));
  TIMES("readlink", { char b[16]; if (readlink(at("t/sl"), b, sizeof b) != 6) check(0, "rl"); }, at("t/sl"));
  TIMES("utimensat now", utimensat(AT_FDCWD, at("t2/a"), NULL, 0), at("t2/a"));
  /* relatime: a second read right after the first leaves atime alone */
  char c;
  int fd = open(at("t2/a"), O_RDONLY);
  if (read(fd, &c, 1) != 1) check(0, "read");
  struct timespec a1 = st_of(at("t2/a")).st_atim;
  pause_tick();
  lseek(fd, 0, SEEK_SET);
  if (read(fd, &c, 1) != 1) check(0, "read");
  close(fd);
  struct timespec a2 = st_of(at("t2/a")).st_atim;
  check(a1.tv_sec == a2.tv_sec && a1.tv_nsec == a2.tv_nsec, "relatime: a second read keeps atime");
}

static void renames_and_links(void) {
  mkdir(at("r"), 0755);
  mkdir(at("r/x"), 0755);
  mkdir(at("r/y"), 0755);
  mkdir(at("r/y/inner"), 0755);
  close(open(at("r/f"), O_CREAT | O_WRONLY, 0644));
  check_ret(rename(at("r/x"), at("r/y")), -1, ENOTEMPTY, "rename a dir onto a non-empty dir");
  check_ret(rename(at("r/x"), at("r/f")), -1, ENOTDIR, "rename a dir onto a file");
  check_ret(rename(at("r/f"), at("r/x")), -1, EISDIR, "rename a file onto a dir");
  check_ret(rmdir(at("r/y")), -1, ENOTEMPTY, "rmdir of a non-empty dir");
  check_ret(syscall(SYS_renameat2, AT_FDCWD, at("r/f"), AT_FDCWD, at("r/x"), RENAME_NOREPLACE), -1, EEXIST,
            "RENAME_NOREPLACE onto a dir");
  printf("r nlink %ld, r/y nlink %ld\n", (long)st_of(at("r")).st_nlink, (long)st_of(at("r/y")).st_nlink);
  check_ret(syscall(SYS_renameat2, AT_FDCWD, at("r/f"), AT_FDCWD, at("r/y/inner"), RENAME_EXCHANGE), 0, 0,
            "RENAME_EXCHANGE of a file and a dir in another dir");
  printf("after the exchange: r nlink %ld, r/y nlink %ld, r/f is %s, r/y/inner is %s\n", (long)st_of(at("r")).st_nlink,
         (long)st_of(at("r/y")).st_nlink, S_ISDIR(st_of(at("r/f")).st_mode) ? "a dir" : "a file",
         S_ISDIR(st_of(at("r/y/inner")).st_mode) ? "a dir" : "a file");
  check_ret(rename(at("r/f"), at("r/x")), 0, 0, "rename a dir onto an empty dir");
  printf("r nlink %ld\n", (long)st_of(at("r")).st_nlink);
  int fd = open(at("r/y/inner"), O_RDWR);
  if (write(fd, "kept", 4) != 4) check(0, "write");
  check(unlink(at("r/y/inner")) == 0, "unlink an open file");
  struct stat st;
  fstat(fd, &st);
  char buf[5] = {0};
  check(st.st_nlink == 0 && pread(fd, buf, 4, 0) == 4 && strcmp(buf, "kept") == 0,
        "it has no links and keeps its data");
  close(fd);
  check_ret(link(at("r/x"), at("r/x2")), -1, EPERM, "link of a directory");
  check_ret(mkdir(at("r/x"), 0755), -1, EEXIST, "mkdir of an existing name");
  /* a removed directory that is someone's cwd takes nothing new */
  mkdir(at("r/gone"), 0755);
  int keep = open(".", O_RDONLY | O_DIRECTORY);
  if (chdir(at("r/gone")) == 0) {
    rmdir(at("r/gone"));
    check_ret(open("new", O_CREAT | O_WRONLY, 0644), -1, ENOENT, "creating in a removed cwd");
    check_ret(mkdir("newdir", 0755), -1, ENOENT, "mkdir in a removed cwd");
    if (fchdir(keep)) check(0, "fchdir");
  }
  close(keep);
}

static sigjmp_buf jb;
static void on_bus(int sig) {
  (void)sig;
  siglongjmp(jb, 1);
}

/* Guest only: a small tmpfs of our own. */
static int mounted(void) {
  check_ret(mount("none", dir, "tmpfs", 0, "size=64k,mode=0700,nr_inodes=8"), 0, 0, "mount a tmpfs, size=64k");
  struct statfs sf;
  statfs(dir, &sf);
  printf("f_type %lx blocks %ld free %ld files %ld mode %o\n", (long)sf.f_type, (long)sf.f_blocks, (long)sf.f_bfree,
         (long)sf.f_files, st_of(dir).st_mode & 07777);
  int fd = open(at("big"), O_CREAT | O_RDWR, 0644);
  char page[4096];
  memset(page, 'z', sizeof page);
  int pages = 0;
  while (write(fd, page, sizeof page) == (ssize_t)sizeof page) pages++;
  check(errno == ENOSPC, "writing fills it up with ENOSPC (%s)", errno_name(errno));
  printf("pages written: %d\n", pages);
  if (ftruncate(fd, 32 * 4096)) check(0, "ftruncate");
  char *m = mmap(NULL, 32 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  set_handler(SIGBUS, (void *)on_bus, 0);
  int bus = 0;
  if (sigsetjmp(jb, 1) == 0) m[20 * 4096] = 1; /* a hole: no page to be had */
  else bus = 1;
  check(bus, "touching a hole of the full tmpfs through a mapping gives SIGBUS");
  check(m[4096] == 'z', "the written pages are mapped");
  munmap(m, 32 * 4096);
  close(fd);
  int made = 0;
  char name[32];
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "f%d", i);
    int f = open(at(name), O_CREAT | O_WRONLY, 0644);
    if (f < 0) break;
    close(f);
    made++;
  }
  check(errno == ENOSPC, "nr_inodes runs out with ENOSPC (%s)", errno_name(errno));
  printf("files made: %d\n", made);
  check_ret(umount(dir), 0, 0, "umount");
  check_ret(mount("none", dir, "tmpfs", 0, "size=12q"), -1, EINVAL, "a bad size");
  check_ret(mount("none", dir, "tmpfs", 0, "colour=blue"), -1, EINVAL, "an unknown option");
  return finish("tmpfs");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tmpfs DIR [mount]\n");
    return 2;
  }
  snprintf(dir, sizeof dir, "%s", argv[1]);
  if (argc > 2 && strcmp(argv[2], "mount") == 0) return mounted();
  statfs_and_sizes();
  timestamps();
  renames_and_links();
  return finish("tmpfs");
}
