/* fsat DIR: the *at syscalls, the cwd and the root, umask, and the rules of
 * file metadata, in a fresh directory DIR/fsat-work. Only relative paths
 * are used and only paths relative to DIR are printed, so the output is the
 * same natively and in the guest, whatever file system DIR is on.
 *
 * Lines are "ok - WHAT" checks (Linux's documented answer) or "WHAT: RESULT"
 * reports (compared with a native run by the test). Run as root. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_test.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static char base[PATH_MAX]; /* DIR, as getcwd spells it */

/* "WHAT: r" or "WHAT: -1 ENAME" (for answers compared with native). */
static void report(const char *what, long r, int err) {
  if (r < 0)
    printf("%s: -1 %s\n", what, errno_name(err));
  else
    printf("%s: %ld\n", what, r);
}
#define REPORT(what, call)         \
  do {                             \
    long r_ = (long)(call);        \
    report((what), r_, errno);     \
  } while (0)

/* The cwd relative to DIR ("." for DIR itself), from the raw syscall. */
static const char *cwd_rel(void) {
  static char buf[PATH_MAX + 32];
  char raw[PATH_MAX];
  long r = syscall(SYS_getcwd, raw, sizeof raw);
  if (r < 0) {
    snprintf(buf, sizeof buf, "-1 %s", errno_name(errno));
    return buf;
  }
  size_t n = strlen(base);
  if (strncmp(raw, base, n) == 0 && (raw[n] == 0 || raw[n] == '/'))
    snprintf(buf, sizeof buf, ".%s", raw + n);
  else
    snprintf(buf, sizeof buf, "%s", raw);
  return buf;
}

static mode_t mode_of(const char *path) {
  struct stat st;
  return lstat(path, &st) ? 0 : st.st_mode;
}
static long nlink_of(const char *path) {
  struct stat st;
  return lstat(path, &st) ? -1 : (long)st.st_nlink;
}
static long size_of(const char *path) {
  struct stat st;
  return stat(path, &st) ? -1 : (long)st.st_size;
}
static void put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) printf("not ok - put %s\n", path);
  close(fd);
}
static const char *get(const char *path) {
  static char buf[256];
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    snprintf(buf, sizeof buf, "(%s)", errno_name(errno));
    return buf;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = 0;
  return buf;
}

static void test_umask(void) {
  umask(027);
  int fd = creat("u_file", 0777);
  close(fd);
  check(fd >= 0 && (mode_of("u_file") & 07777) == 0750, "umask 027: creat 0777 gives 0750");
  check(mkdir("u_dir", 0777) == 0 && (mode_of("u_dir") & 07777) == 0750, "umask 027: mkdir 0777 gives 0750");
  umask(0);
  check(mkdir("u_dir0", 01777) == 0 && (mode_of("u_dir0") & 07777) == 01777, "umask 0: mkdir keeps the sticky bit");
  check(mknod("u_fifo", S_IFIFO | 0666, 0) == 0 && mode_of("u_fifo") == (S_IFIFO | 0666), "umask 0: mkfifo 0666");
  check(umask(022) == 0, "umask returns the old mask");
}

static void test_openat(void) {
  check_ret(mkdir("d", 0755), 0, 0, "mkdir d");
  int dfd = open("d", O_RDONLY | O_DIRECTORY);
  check(dfd >= 0, "open d O_DIRECTORY");
  int fd = openat(dfd, "f", O_CREAT | O_WRONLY, 0644);
  check(fd >= 0 && write(fd, "abc", 3) == 3, "openat(dirfd, f, O_CREAT) and write");
  close(fd);
  check(size_of("d/f") == 3, "the file is d/f");
  fd = openat(AT_FDCWD, "d/f", O_RDONLY);
  check(fd >= 0, "openat(AT_FDCWD, d/f)");
  struct stat st;
  check(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && st.st_size == 3 && S_ISREG(st.st_mode),
        "fstatat(fd, \"\", AT_EMPTY_PATH) is the fd's file");
  check_ret(fstatat(fd, "", &st, 0), -1, ENOENT, "fstatat(fd, \"\") without AT_EMPTY_PATH");
  check(fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode), "AT_EMPTY_PATH with AT_FDCWD is the cwd");
  check_ret(openat(fd, "x", O_RDONLY), -1, ENOTDIR, "openat with a file as dirfd");
  check_ret(openat(999, "x", O_RDONLY), -1, EBADF, "openat with a closed dirfd");
  int r = openat(999, "/", O_RDONLY);
  check(r >= 0, "an absolute path ignores the dirfd");
  close(r);
  r = openat(dfd, "../u_file", O_RDONLY);
  check(r >= 0, "openat(dirfd, ../u_file)");
  close(r);
  close(fd);

  check_ret(symlink("d/f", "sl"), 0, 0, "symlink sl -> d/f");
  check(fstatat(AT_FDCWD, "sl", &st, 0) == 0 && S_ISREG(st.st_mode), "fstatat follows the symlink");
  check(fstatat(dfd, "../sl", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && st.st_size == 3,
        "AT_SYMLINK_NOFOLLOW gives the link (size = target length)");
  char buf[64] = {0};
  check(readlinkat(dfd, "../sl", buf, sizeof buf) == 3 && !strcmp(buf, "d/f"), "readlinkat(dirfd, ../sl)");
  check_ret(readlinkat(dfd, "../sl", buf, 2), 2, 0, "readlink truncates to the buffer");
  check_ret(readlink("d/f", buf, sizeof buf), -1, EINVAL, "readlink of a file");
  check_ret(symlink("", "empty_sl"), -1, ENOENT, "symlink with an empty target");
  check_ret(linkat(AT_FDCWD, "sl", AT_FDCWD, "sl_link", 0), 0, 0, "linkat without FOLLOW links the symlink");
  check(S_ISLNK(mode_of("sl_link")) && nlink_of("sl") == 2, "the link is a second name of the symlink");
  check_ret(linkat(AT_FDCWD, "sl", dfd, "f2", AT_SYMLINK_FOLLOW), 0, 0, "linkat AT_SYMLINK_FOLLOW");
  check(S_ISREG(mode_of("d/f2")) && nlink_of("d/f") == 2, "links the target");
  check_ret(linkat(AT_FDCWD, "sl", AT_FDCWD, "x", 0x8000), -1, EINVAL, "linkat with an unknown flag");

  check_ret(unlinkat(AT_FDCWD, "d", AT_REMOVEDIR), -1, ENOTEMPTY, "unlinkat AT_REMOVEDIR on a non-empty dir");
  check_ret(mkdirat(dfd, "e", 0755), 0, 0, "mkdirat(dirfd, e)");
  check_ret(unlinkat(dfd, "e", 0), -1, EISDIR, "unlinkat of a directory without AT_REMOVEDIR");
  check_ret(unlinkat(dfd, "f", AT_REMOVEDIR), -1, ENOTDIR, "unlinkat AT_REMOVEDIR of a file");
  check_ret(unlinkat(dfd, "e", AT_REMOVEDIR), 0, 0, "unlinkat AT_REMOVEDIR");
  check_ret(unlinkat(dfd, "f", 0), 0, 0, "unlinkat(dirfd, f)");
  check_ret(unlinkat(dfd, "f2", 1), -1, EINVAL, "unlinkat with an unknown flag");
  check_ret(unlinkat(dfd, "f2", 0), 0, 0, "unlinkat(dirfd, f2)");
  check_ret(unlinkat(AT_FDCWD, "d", AT_REMOVEDIR), 0, 0, "unlinkat AT_REMOVEDIR of the now empty d");
  check_ret(openat(dfd, "g", O_CREAT | O_WRONLY, 0644), -1, ENOENT, "creating in a removed directory");
  close(dfd);
}

static void test_cwd(void) {
  int top = open(".", O_RDONLY | O_DIRECTORY);
  check_ret(mkdir("real", 0755), 0, 0, "mkdir real");
  check_ret(mkdir("real/in", 0755), 0, 0, "mkdir real/in");
  check_ret(symlink("real/in", "lnk"), 0, 0, "symlink lnk -> real/in");
  check_ret(chdir("lnk"), 0, 0, "chdir through a symlink");
  printf("cwd after chdir lnk: %s\n", cwd_rel());
  check_ret(chdir(".."), 0, 0, "chdir ..");
  printf("cwd after ..: %s (the physical parent)\n", cwd_rel());
  check_ret(fchdir(top), 0, 0, "fchdir back");
  printf("cwd after fchdir: %s\n", cwd_rel());
  int in = open("real/in", O_RDONLY | O_DIRECTORY);
  check_ret(fchdir(in), 0, 0, "fchdir(real/in)");
  printf("cwd after fchdir(in): %s\n", cwd_rel());
  int file = open("../../u_file", O_RDONLY);
  check(file >= 0, "open ../../u_file from real/in");
  check_ret(fchdir(file), -1, ENOTDIR, "fchdir to a file");
  check_ret(fchdir(999), -1, EBADF, "fchdir to a closed fd");
  check_ret(chdir("../../u_file"), -1, ENOTDIR, "chdir to a file");
  check_ret(chdir("nowhere"), -1, ENOENT, "chdir to nothing");
  close(file);
  fchdir(top);

  /* The cwd removed under us. */
  check_ret(mkdir("gone", 0755), 0, 0, "mkdir gone");
  check_ret(chdir("gone"), 0, 0, "chdir gone");
  check_ret(rmdir("../gone"), 0, 0, "rmdir the cwd");
  printf("getcwd in a removed dir: %s\n", cwd_rel());
  REPORT("creat in a removed cwd", open("new", O_CREAT | O_WRONLY, 0644));
  REPORT("mkdir in a removed cwd", mkdir("sub", 0755));
  struct stat st;
  REPORT("stat . in a removed cwd", stat(".", &st));
  if (stat(".", &st) == 0) printf("nlink of the removed cwd: %ld\n", (long)st.st_nlink);
  REPORT("chdir .. from a removed cwd", chdir(".."));
  printf("cwd after ..: %s\n", cwd_rel());
  fchdir(top);
  close(in);
  close(top);
}

/* chroot in a child: / and .. stay inside; the old cwd is outside. */
static void test_chroot(void) {
  check_ret(mkdir("jail", 0755), 0, 0, "mkdir jail");
  check_ret(mkdir("jail/inner", 0755), 0, 0, "mkdir jail/inner");
  put("jail/inner/mark", "inside the jail\n");
  put("secret", "outside the jail\n");
  fflush(stdout);
  int pfd[2];
  if (pipe(pfd)) return;
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(pfd[0]);
    dup2(pfd[1], 1);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (chroot("jail")) {
      printf("chroot: -1 %s\n", errno_name(errno));
      _exit(1);
    }
    char raw[PATH_MAX];
    long r = syscall(SYS_getcwd, raw, sizeof raw);
    printf("getcwd before chdir: %s\n", r < 0 ? errno_name(errno) : strncmp(raw, "(unreachable)", 13) ? raw : "(unreachable)...");
    printf("secret through the old cwd: %s", get("secret"));
    chdir("/");
    printf("getcwd after chdir /: %s\n", getcwd(raw, sizeof raw) ? raw : errno_name(errno));
    chdir("/../../..");
    printf("getcwd after chdir /../../..: %s\n", getcwd(raw, sizeof raw) ? raw : errno_name(errno));
    printf("mark through ../..: %s", get("../../inner/mark"));
    printf("secret through ../..: %s\n", get("../../secret"));
    chdir("inner");
    symlink("/..", "up");
    printf("mark through up/inner: %s", get("up/inner/mark"));
    printf("getcwd in inner: %s\n", getcwd(raw, sizeof raw) ? raw : errno_name(errno));
    _exit(0);
  }
  close(pfd[1]);
  char out[2048];
  ssize_t n = read_full(pfd[0], out, sizeof out - 1);
  close(pfd[0]);
  out[n < 0 ? 0 : n] = 0;
  int st;
  wait_for(pid, &st, 0);
  fputs(out, stdout);
  check_status(st, 0, 0, "chroot child");
}

static long renameat2_(int od, const char *o, int nd, const char *n, unsigned flags) {
  return syscall(SYS_renameat2, od, o, nd, n, flags);
}

static void test_rename(void) {
  put("ra", "A");
  put("rb", "B");
  check_ret(mkdir("rd", 0755), 0, 0, "mkdir rd");
  check_ret(mkdir("rd2", 0755), 0, 0, "mkdir rd2");
  put("rd2/x", "x");
  check_ret(renameat2_(AT_FDCWD, "ra", AT_FDCWD, "rb", RENAME_NOREPLACE), -1, EEXIST, "RENAME_NOREPLACE onto a file");
  check_ret(renameat2_(AT_FDCWD, "ra", AT_FDCWD, "rc", RENAME_NOREPLACE), 0, 0, "RENAME_NOREPLACE to a new name");
  check_ret(renameat2_(AT_FDCWD, "rc", AT_FDCWD, "nothing", RENAME_EXCHANGE), -1, ENOENT,
            "RENAME_EXCHANGE with a missing target");
  check_ret(renameat2_(AT_FDCWD, "rc", AT_FDCWD, "rb", RENAME_EXCHANGE | RENAME_NOREPLACE), -1, EINVAL,
            "EXCHANGE|NOREPLACE");
  check_ret(renameat2_(AT_FDCWD, "rc", AT_FDCWD, "rb", RENAME_EXCHANGE), 0, 0, "RENAME_EXCHANGE of two files");
  printf("after exchange: rb=%s", get("rb"));
  printf(" rc=%s\n", get("rc"));
  check_ret(renameat2_(AT_FDCWD, "rc", AT_FDCWD, "rd", RENAME_EXCHANGE), 0, 0, "RENAME_EXCHANGE of a file and a dir");
  check(S_ISDIR(mode_of("rc")) && S_ISREG(mode_of("rd")), "the two swapped types");
  renameat2_(AT_FDCWD, "rc", AT_FDCWD, "rd", RENAME_EXCHANGE);
  check_ret(renameat2_(AT_FDCWD, "rc", AT_FDCWD, "rb", 4 /* RENAME_WHITEOUT */ << 4), -1, EINVAL, "unknown flags");
  check_ret(rename("rd", "rd2"), -1, ENOTEMPTY, "rename a dir onto a non-empty dir");
  check_ret(rename("rd", "rd/sub"), -1, EINVAL, "rename a dir below itself");
  check_ret(rename("rb", "rd"), -1, EISDIR, "rename a file onto a dir");
  check_ret(rename("rd", "rb"), -1, ENOTDIR, "rename a dir onto a file");
  check_ret(rename("rb", "rb"), 0, 0, "rename onto itself");
  check_ret(rename("nothing", "x"), -1, ENOENT, "rename of nothing");
  check_ret(rename("rb", "nodir/x"), -1, ENOENT, "rename into a missing dir");
  check_ret(rename("rb/", "rz"), -1, ENOTDIR, "rename file/ (trailing slash)");
  REPORT("rename . x", rename(".", "x"));
  REPORT("rename rb ..", rename("rb", ".."));
  check_ret(mkdir("rd3", 0755), 0, 0, "mkdir rd3");
  check_ret(rename("rd", "rd3"), 0, 0, "rename a dir onto an empty dir");
  check(S_ISDIR(mode_of("rd3")) && mode_of("rd") == 0, "the dir moved");
  check_ret(rename("rd2/x", "rd3/y"), 0, 0, "rename across directories");
  printf("rd3/y: %s\n", get("rd3/y"));
  int fd = open("rd3/y", O_RDONLY);
  check_ret(rename("rc", "rd3/y"), 0, 0, "rename over an open file");
  char b[8] = {0};
  check(read(fd, b, sizeof b) == 1 && b[0] == 'x', "the replaced file stays readable through its fd");
  struct stat st;
  check(fstat(fd, &st) == 0 && st.st_nlink == 0, "and has no links left");
  close(fd);
}

static void test_links(void) {
  put("la", "link me");
  check_ret(link("la", "lb"), 0, 0, "link la lb");
  check_ret(link("la", "lc"), 0, 0, "link la lc");
  check(nlink_of("la") == 3 && nlink_of("lc") == 3, "three names, nlink 3");
  check_ret(link("la", "lb"), -1, EEXIST, "link onto an existing name");
  check_ret(link("rd3", "ldir"), -1, EPERM, "link of a directory");
  check_ret(link("nothing", "ln"), -1, ENOENT, "link of nothing");
  check_ret(unlink("lb"), 0, 0, "unlink lb");
  check(nlink_of("la") == 2, "nlink 2 after one unlink");
  int fd = open("la", O_RDONLY);
  unlink("la");
  unlink("lc");
  struct stat st;
  check(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 7, "an open file with no names: nlink 0, data kept");
  close(fd);
  check_ret(unlink("rd3"), -1, EISDIR, "unlink of a directory");
  check_ret(unlink("nothing"), -1, ENOENT, "unlink of nothing");
  check_ret(unlink("u_file/x"), -1, ENOTDIR, "unlink below a file");
  check_ret(rmdir("u_file"), -1, ENOTDIR, "rmdir of a file");
  check_ret(rmdir("."), -1, EINVAL, "rmdir .");
  REPORT("rmdir ..", rmdir(".."));
  check_ret(rmdir("rd3"), -1, ENOTEMPTY, "rmdir of a non-empty dir");
  check_ret(mkdir("rd3", 0755), -1, EEXIST, "mkdir of an existing dir");
  check_ret(mkdir("u_file/x", 0755), -1, ENOTDIR, "mkdir below a file");
  check_ret(mkdir("sl", 0755), -1, EEXIST, "mkdir onto a symlink");
}

static void test_truncate_times(void) {
  put("t", "0123456789");
  check_ret(truncate("t", 4), 0, 0, "truncate to 4");
  printf("after truncate 4: %s (size %ld)\n", get("t"), size_of("t"));
  check_ret(truncate("t", 8192), 0, 0, "truncate to 8192");
  int fd = open("t", O_RDONLY);
  char c = 1;
  check(size_of("t") == 8192 && pread(fd, &c, 1, 5000) == 1 && c == 0, "the extension reads as zeros");
  check_ret(ftruncate(fd, 1), -1, EINVAL, "ftruncate on a read-only fd");
  close(fd);
  check_ret(truncate("rd3", 0), -1, EISDIR, "truncate a directory");
  check_ret(truncate("t", -1), -1, EINVAL, "truncate to a negative size");
  check_ret(truncate("nothing", 0), -1, ENOENT, "truncate nothing");
  fd = open("t", O_RDWR);
  check_ret(ftruncate(fd, 2), 0, 0, "ftruncate to 2");
  check(size_of("t") == 2, "size 2");
  close(fd);
  fd = open("rd3", O_RDONLY);
  REPORT("ftruncate of a directory fd", ftruncate(fd, 0));
  close(fd);

  struct timespec ts[2] = {{1000, 500}, {2000, 700}};
  struct stat st;
  check_ret(utimensat(AT_FDCWD, "t", ts, 0), 0, 0, "utimensat explicit times");
  check(stat("t", &st) == 0 && st.st_atim.tv_sec == 1000 && st.st_atim.tv_nsec == 500 && st.st_mtim.tv_sec == 2000 &&
            st.st_mtim.tv_nsec == 700,
        "atime and mtime as set, with nanoseconds");
  struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  time_t now = time(NULL);
  check_ret(utimensat(AT_FDCWD, "t", omit_now, 0), 0, 0, "utimensat UTIME_OMIT, UTIME_NOW");
  check(stat("t", &st) == 0 && st.st_atim.tv_sec == 1000 && st.st_mtim.tv_sec >= now - 5 && st.st_mtim.tv_sec <= now + 5,
        "atime kept, mtime now");
  struct timespec omit2[2] = {{5, UTIME_OMIT}, {6, UTIME_OMIT}};
  check_ret(utimensat(AT_FDCWD, "t", omit2, 0), 0, 0, "utimensat both UTIME_OMIT");
  check(stat("t", &st) == 0 && st.st_atim.tv_sec == 1000, "nothing changed");
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  check_ret(utimensat(AT_FDCWD, "t", bad, 0), -1, EINVAL, "utimensat with tv_nsec out of range");
  check_ret(utimensat(AT_FDCWD, "nothing", ts, 0), -1, ENOENT, "utimensat of nothing");
  fd = open("t", O_RDONLY);
  check_ret(futimens(fd, ts), 0, 0, "futimens");
  check(stat("t", &st) == 0 && st.st_mtim.tv_sec == 2000, "futimens set mtime");
  close(fd);
  check_ret(utimensat(AT_FDCWD, "t", NULL, 0), 0, 0, "utimensat NULL (now)");
  check(stat("t", &st) == 0 && st.st_atim.tv_sec >= now - 5 && st.st_mtim.tv_sec >= now - 5, "both now");
}

static void test_open_flags(void) {
  put("o", "abc");
  int fd = open("o", O_WRONLY | O_APPEND);
  lseek(fd, 0, SEEK_SET);
  check(write(fd, "D", 1) == 1, "write with O_APPEND");
  REPORT("pwrite at 0 with O_APPEND", pwrite(fd, "E", 1, 0));
  REPORT("lseek CUR after O_APPEND writes", lseek(fd, 0, SEEK_CUR));
  close(fd);
  printf("o after appends: %s\n", get("o"));
  check_ret(open("o", O_CREAT | O_EXCL | O_WRONLY, 0644), -1, EEXIST, "O_CREAT|O_EXCL on a file");
  check_ret(symlink("dangling-target", "dsl"), 0, 0, "symlink to nothing");
  check_ret(open("dsl", O_CREAT | O_EXCL | O_WRONLY, 0644), -1, EEXIST, "O_CREAT|O_EXCL on a dangling symlink");
  fd = open("dsl", O_CREAT | O_WRONLY, 0600);
  check(fd >= 0 && (mode_of("dangling-target") & 0777) == 0600, "O_CREAT through a dangling symlink creates its target");
  close(fd);
  check_ret(open("o", O_RDONLY | O_NOFOLLOW), 3, 0, "O_NOFOLLOW on a file");
  close(3);
  check_ret(open("dsl", O_RDONLY | O_NOFOLLOW), -1, ELOOP, "O_NOFOLLOW on a symlink");
  fd = open("dsl", O_PATH | O_NOFOLLOW);
  struct stat st;
  check(fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode), "O_PATH|O_NOFOLLOW opens the symlink itself");
  close(fd);
  fd = open("o", O_RDONLY | O_EXCL);
  check(fd >= 0, "O_EXCL without O_CREAT is ignored");
  close(fd);
  check_ret(open("o", O_RDONLY | O_DIRECTORY), -1, ENOTDIR, "O_DIRECTORY on a file");
  check_ret(open("rd3", O_WRONLY), -1, EISDIR, "open a directory O_WRONLY");
  check_ret(open("rd3", O_RDWR), -1, EISDIR, "open a directory O_RDWR");
  check_ret(open("rd3", O_RDONLY | O_CREAT, 0644), -1, EISDIR, "open a directory O_CREAT");
  check_ret(open("o/", O_RDONLY), -1, ENOTDIR, "o/ (a file with a trailing slash)");
  check_ret(open("newdir/", O_CREAT | O_WRONLY, 0644), -1, EISDIR, "O_CREAT of name/");
  check_ret(open("o/x", O_RDONLY), -1, ENOTDIR, "a file used as a directory");
  check_ret(open("missing/x", O_CREAT | O_WRONLY, 0644), -1, ENOENT, "O_CREAT in a missing dir");
  check_ret(open("o", O_RDONLY | O_TRUNC), 3, 0, "O_RDONLY|O_TRUNC opens");
  close(3);
  REPORT("size after O_RDONLY|O_TRUNC", size_of("o"));
  fd = open("rd3", O_RDONLY);
  char b[4];
  check_ret(read(fd, b, sizeof b), -1, EISDIR, "read of a directory");
  close(fd);
  check(access("o", W_OK) == 0, "access W_OK as root");
  check_ret(access("nothing", F_OK), -1, ENOENT, "access of nothing");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Lists DIR with getdents64 through a buffer of `bufsize` bytes. */
static void list_dir(const char *dir, size_t bufsize) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  char *names[64];
  int n = 0, calls = 0;
  char buf[4096];
  for (;;) {
    long r = syscall(SYS_getdents64, fd, buf, bufsize);
    if (r < 0) {
      printf("getdents64: -1 %s\n", errno_name(errno));
      break;
    }
    if (r == 0) break;
    calls++;
    for (long off = 0; off < r;) {
      struct linux_dirent64 *d = (void *)(buf + off);
      char *s = malloc(300);
      const char *t = d->d_type == DT_DIR ? "dir" : d->d_type == DT_REG ? "file" : d->d_type == DT_LNK ? "link"
                    : d->d_type == DT_FIFO ? "fifo" : "other";
      snprintf(s, 300, "%s (%s)", d->d_name, t);
      if (n < 64) names[n++] = s;
      off += d->d_reclen;
    }
  }
  qsort(names, (size_t)n, sizeof names[0], cmp_str);
  printf("%s:", dir);
  for (int i = 0; i < n; ++i) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
  if (bufsize < 100) check(calls > 1, "a small buffer takes several getdents64 calls");
  check_ret(syscall(SYS_getdents64, fd, buf, 8), 0, 0, "getdents64 at the end returns 0");
  lseek(fd, 0, SEEK_SET);
  check_ret(syscall(SYS_getdents64, fd, buf, 8), -1, EINVAL, "getdents64 with a buffer too small for one entry");
  close(fd);
}

static void test_getdents(void) {
  check_ret(mkdir("ls", 0755), 0, 0, "mkdir ls");
  char name[32];
  for (int i = 0; i < 12; ++i) {
    snprintf(name, sizeof name, "ls/file%02d", i);
    put(name, "x");
  }
  mkdir("ls/subdir", 0755);
  symlink("file00", "ls/link");
  mkfifo("ls/fifo", 0644);
  unlink("ls/file05");
  list_dir("ls", 4096);
  list_dir("ls", 64);
  int fd = open("u_file", O_RDONLY);
  check_ret(syscall(SYS_getdents64, fd, name, sizeof name), -1, ENOTDIR, "getdents64 on a file");
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1]) || !getcwd(base, sizeof base)) {
    fprintf(stderr, "usage: fsat DIR\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  umask(022);
  check_ret(mkdir("fsat-work", 0755), 0, 0, "mkdir fsat-work");
  check_ret(chdir("fsat-work"), 0, 0, "chdir fsat-work");
  printf("cwd: %s\n", cwd_rel());
  test_umask();
  test_openat();
  test_cwd();
  test_chroot();
  test_rename();
  test_links();
  test_truncate_times();
  test_open_flags();
  test_getdents();
  return finish("fsat");
}
