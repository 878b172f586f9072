/* confine: path resolution at the root of a tree full of symlinks that try
 * to leave it (the test builds the tree; see tests/integration/rootfs_test.cpp).
 * Run as the root's /confine: natively in a chroot, in the guest with
 * --rootfs or --rootfs-ro. Every read, write and chdir through an escape
 * must stay inside; the errnos of loops, dangling links and files used as
 * directories must be Linux's. Prints results, compared with the native run,
 * and "ok - " checks of what Linux documents. */
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

/* The first line of a file, or "(ERRNO)". */
static const char *first_line(const char *path) {
  static char buf[256];
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    snprintf(buf, sizeof buf, "(%s)", errno_name(errno));
    return buf;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) {
    snprintf(buf, sizeof buf, "(read %s)", errno_name(errno));
    return buf;
  }
  buf[n] = 0;
  buf[strcspn(buf, "\n")] = 0;
  return buf;
}

static void show_read(const char *path) { printf("read %s: %s\n", path, first_line(path)); }

static void show_stat(const char *path, int nofollow) {
  struct stat st;
  int r = nofollow ? lstat(path, &st) : stat(path, &st);
  if (r)
    printf("%s %s: %s\n", nofollow ? "lstat" : "stat", path, errno_name(errno));
  else
    printf("%s %s: %s\n", nofollow ? "lstat" : "stat", path,
           S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : S_ISLNK(st.st_mode) ? "link" : "other");
}

static void write_to(const char *path, int flags, const char *text) {
  int fd = open(path, flags, 0644);
  if (fd < 0) {
    printf("write %s: %s\n", path, errno_name(errno));
    return;
  }
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  printf("write %s: %s\n", path, n == (ssize_t)strlen(text) ? "done" : errno_name(errno));
}

static void show_cwd(const char *after) {
  char buf[PATH_MAX];
  printf("cwd after chdir %s: %s\n", after, getcwd(buf, sizeof buf) ? buf : errno_name(errno));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    printf("ls %s: %s\n", dir, errno_name(errno));
    return;
  }
  char *names[256];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp_str);
  printf("ls %s:", dir);
  for (int i = 0; i < n; ++i) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

/* "sub/back/" repeated n times, then `tail`. */
static const char *backs(int n, const char *tail) {
  static char buf[1024];
  buf[0] = 0;
  for (int i = 0; i < n; ++i) strcat(buf, "sub/back/");
  strcat(buf, tail);
  return buf;
}

static void reads(void) {
  const char *paths[] = {"inside", "esc_etc/passwd", "esc_passwd_rel", "esc_passwd_abs", "up/inside",
                         "up/up/up/etc/passwd", "sub/up2/inside", "sub/deep/inside", "sub/deep/etc/passwd",
                         "/../../../etc/passwd", "../../../../inside", "secret_rel", "secret_rel2", "secret_abs",
                         "/../secret", "../secret", "../../secret", "sub/../../secret", "up/../secret"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; ++i) show_read(paths[i]);
  char buf[PATH_MAX];
  ssize_t n = readlink("esc_etc", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("readlink esc_etc: %s\n", buf);
  struct stat root, dotdot;
  check(stat("/", &root) == 0 && stat("/..", &dotdot) == 0 && root.st_ino == dotdot.st_ino &&
            root.st_dev == dotdot.st_dev,
        "/.. is /");
  int rfd = open("/", O_RDONLY | O_DIRECTORY);
  check_ret(openat(rfd, "../../secret", O_RDONLY), -1, ENOENT, "openat(root fd, ../../secret)");
  check_ret(openat(rfd, "secret_abs", O_RDONLY), -1, ENOENT, "openat(root fd, secret_abs)");
  close(rfd);
}

static void errnos(void) {
  check_ret(open("loop1", O_RDONLY), -1, ELOOP, "open loop1 (loop1 -> loop2 -> loop1)");
  check_ret(open("self", O_RDONLY), -1, ELOOP, "open self (self -> self)");
  check_ret(open("sub/cyc/x", O_RDONLY), -1, ELOOP, "open sub/cyc/x (sub/cyc -> ../sub/cyc)");
  check_ret(open("loop1", O_WRONLY | O_CREAT, 0644), -1, ELOOP, "O_CREAT through a loop");
  check_ret(mkdir("loop1/x", 0755), -1, ELOOP, "mkdir below a loop");
  int fd = open("c00", O_RDONLY);
  check(fd >= 0, "a chain of 40 symlinks resolves");
  close(fd);
  check_ret(open("d00", O_RDONLY), -1, ELOOP, "a chain of 41 symlinks is ELOOP");
  fd = open(backs(40, "inside"), O_RDONLY);
  check(fd >= 0, "40 x sub/back/ resolves");
  close(fd);
  check_ret(open(backs(41, "inside"), O_RDONLY), -1, ELOOP, "41 x sub/back/ is ELOOP");
  check_ret(open("dangling", O_RDONLY), -1, ENOENT, "open a dangling symlink");
  check_ret(open("dangling/x", O_RDONLY), -1, ENOENT, "a dangling symlink as a directory");
  check_ret(open("inside/x", O_RDONLY), -1, ENOTDIR, "a file used as a directory");
  check_ret(open("inside/", O_RDONLY), -1, ENOTDIR, "a file with a trailing slash");
  check_ret(open("esc_passwd_abs/", O_RDONLY), -1, ENOTDIR, "a symlink to a file, with a trailing slash");
  check_ret(access("inside/x", F_OK), -1, ENOTDIR, "access below a file");
  check_ret(mkdir("inside/x", 0755), -1, ENOTDIR, "mkdir below a file");
  check_ret(mkdir("dangling", 0755), -1, EEXIST, "mkdir onto a dangling symlink");
  check_ret(rmdir("up"), -1, ENOTDIR, "rmdir of a symlink to a directory");
  check_ret(chdir("inside"), -1, ENOTDIR, "chdir to a file");
  check_ret(open("loop1", O_RDONLY | O_NOFOLLOW), -1, ELOOP, "O_NOFOLLOW on a symlink");
  show_stat("dangling", 0);
  show_stat("dangling", 1);
  show_stat("loop1", 0);
  show_stat("loop1", 1);
  show_stat("up", 0);
  show_stat("up", 1);
  show_stat("up/", 1);
  show_stat("sub/cyc", 1);
  char name[300];
  memset(name, 'n', 256);
  name[256] = 0;
  check_ret(open(name, O_RDONLY), -1, ENAMETOOLONG, "a 256-byte name");
  name[255] = 0;
  check_ret(open(name, O_RDONLY), -1, ENOENT, "a 255-byte name is fine (and absent)");
  static char longpath[5000];
  for (int i = 0; i < 2400; ++i) memcpy(longpath + 2 * i, "./", 2);
  longpath[4800] = 0;
  check_ret(open(longpath, O_RDONLY), -1, ENAMETOOLONG, "a path of 4800 bytes");
}

static void writes(void) {
  write_to("wfile_esc", O_WRONLY | O_CREAT, "through wfile_esc\n");
  write_to("esc_etc/newfile", O_WRONLY | O_CREAT, "through esc_etc\n");
  write_to("esc_passwd_abs", O_WRONLY | O_TRUNC, "overwritten through esc_passwd_abs\n");
  write_to("secret_rel", O_WRONLY | O_CREAT, "created through secret_rel\n");
  write_to("/../../secret_abs_target", O_WRONLY | O_CREAT, "absolute with dots\n");
  write_to("../../../../up_created", O_WRONLY | O_CREAT, "relative with dots\n");
  check_ret(mkdir("up/made_via_up", 0755), 0, 0, "mkdir up/made_via_up");
  check_ret(mkdir("sub/deep/made_via_deep", 0755), 0, 0, "mkdir sub/deep/made_via_deep");
  check_ret(rename("inside", "sub/deep/moved"), 0, 0, "rename inside -> sub/deep/moved");
  check_ret(rename("moved", "sub/up2/inside"), 0, 0, "rename it back through sub/up2");
  check_ret(symlink("/../../../made_by_guest_link", "newlink"), 0, 0, "symlink newlink -> /../../../made...");
  write_to("newlink", O_WRONLY | O_CREAT, "through a new symlink\n");
  check_ret(link("esc_passwd_abs", "hardlink"), 0, 0, "link of an escaping symlink");
  show_read("hardlink");
  check_ret(unlink("esc_etc/newfile"), 0, 0, "unlink through esc_etc");
  check_ret(unlink("secret_rel"), 0, 0, "unlink the symlink secret_rel");
  show_read("secret");
}

static void cwds(void) {
  check_ret(chdir("/.."), 0, 0, "chdir /..");
  show_cwd("/..");
  check_ret(chdir("up/up/sub/up2"), 0, 0, "chdir up/up/sub/up2");
  show_cwd("up/up/sub/up2");
  check_ret(chdir("../../.."), 0, 0, "chdir ../../..");
  show_cwd("../../..");
  check_ret(chdir("esc_etc"), 0, 0, "chdir esc_etc");
  show_cwd("esc_etc");
  show_read("passwd");
  check_ret(chdir("sub/deep"), -1, ENOENT, "chdir sub/deep from /etc");
  check_ret(chdir("/sub/deep"), 0, 0, "chdir /sub/deep");
  show_cwd("/sub/deep");
  chdir("/");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  umask(022);
  reads();
  errnos();
  writes();
  cwds();
  list("/");
  list("/etc");
  return finish("confine");
}
