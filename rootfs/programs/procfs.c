/* procfs [child-mode...]: /proc/self and /proc/PID files, magic links
 * (exec through /proc/self/exe, reopening a pipe through /proc/self/fd),
 * zombies, the memory devices in /dev, and prctl(2). Prints the same lines
 * natively and in the guest (run it as root). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "guest_test.h"

/* Reads a whole small file; returns its length or -1 (errno set). */
static ssize_t slurp(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t got = read_full(fd, buf, n - 1);
  int e = errno;
  close(fd);
  if (got >= 0) buf[got] = 0;
  errno = e;
  return got;
}

/* The value after "Key:\t" in a status-like text, or "" */
static const char *field(const char *text, const char *key, char *out, size_t n) {
  size_t kl = strlen(key);
  out[0] = 0;
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if (!strncmp(p, key, kl) && p[kl] == ':') {
      p += kl + 1;
      while (*p == '\t' || *p == ' ') p++;
      size_t len = strcspn(p, "\n");
      if (len >= n) len = n - 1;
      memcpy(out, p, len);
      out[len] = 0;
      break;
    }
  return out;
}

static void self_files(const char *argv0) {
  char buf[8192], val[256], exe[PATH_MAX], real[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) exe[n] = 0;
  check(n > 0 && realpath(argv0, real) && !strcmp(exe, real), "readlink /proc/self/exe is the program's path");

  check(slurp("/proc/self/status", buf, sizeof buf) > 0, "read /proc/self/status");
  const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
  char comm[16];
  snprintf(comm, sizeof comm, "%s", base);
  check(!strcmp(field(buf, "Name", val, sizeof val), comm), "status Name is the program's name");
  check(atoi(field(buf, "Pid", val, sizeof val)) == getpid(), "status Pid is getpid()");
  check(atoi(field(buf, "PPid", val, sizeof val)) == getppid(), "status PPid is getppid()");
  check(atoi(field(buf, "Tgid", val, sizeof val)) == getpid(), "status Tgid is getpid()");
  check(!strcmp(field(buf, "State", val, sizeof val), "R (running)"), "status State is R (running)");
  check(atoi(field(buf, "Threads", val, sizeof val)) == 1, "status Threads is 1");
  check(!strncmp(field(buf, "Uid", val, sizeof val), "0\t0\t0\t0", 7), "status Uid has four fields");

  check(slurp("/proc/self/stat", buf, sizeof buf) > 0, "read /proc/self/stat");
  int pid = 0, ppid = 0, pgrp = 0, sid = 0;
  char state = 0;
  char *close_paren = strrchr(buf, ')');
  int fields = close_paren ? sscanf(close_paren + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid) : 0;
  sscanf(buf, "%d", &pid);
  check(fields == 4 && pid == getpid() && state == 'R' && ppid == getppid() && pgrp == getpgrp() &&
            sid == getsid(0),
        "stat: pid, state, ppid, pgrp, session");
  int count = 1;
  for (char *p = buf; *p; p++) count += *p == ' ';
  check(count == 52, "stat has 52 fields");
  char paren[64];
  snprintf(paren, sizeof paren, "%d (%s) ", getpid(), comm);
  check(!strncmp(buf, paren, strlen(paren)), "stat starts with pid (comm)");

  n = slurp("/proc/self/comm", buf, sizeof buf);
  snprintf(val, sizeof val, "%s\n", comm);
  check(n > 0 && !strcmp(buf, val), "comm is the name and a newline");

  char cwd[PATH_MAX], link[PATH_MAX];
  n = readlink("/proc/self/cwd", link, sizeof link - 1);
  if (n > 0) link[n] = 0;
  check(n > 0 && getcwd(cwd, sizeof cwd) && !strcmp(cwd, link), "readlink /proc/self/cwd is getcwd()");
  n = readlink("/proc/self/root", link, sizeof link - 1);
  check(n == 1 && link[0] == '/', "readlink /proc/self/root is /");

  struct stat a, b;
  check(stat("/proc/self", &a) == 0 && S_ISDIR(a.st_mode) && stat("/proc/self/stat", &a) == 0 &&
            S_ISREG(a.st_mode) && (a.st_mode & 0777) == 0444,
        "/proc/self is a directory, stat is a 0444 file");
  check(lstat("/proc/self/exe", &a) == 0 && S_ISLNK(a.st_mode), "/proc/self/exe is a symlink");
  check(stat("/proc/self/exe", &a) == 0 && stat(exe, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
        "stat through /proc/self/exe is the program file");
  check(stat("/proc/self/stat", &a) == 0 && stat("/proc/self/stat", &b) == 0 && a.st_ino == b.st_ino,
        "inode numbers are stable");
  snprintf(val, sizeof val, "%d", getpid());
  n = readlink("/proc/self", link, sizeof link - 1);
  if (n > 0) link[n] = 0;
  check(n > 0 && !strcmp(link, val), "readlink /proc/self is the pid");
  snprintf(val, sizeof val, "%d/task/%d", getpid(), (int)syscall(SYS_gettid));
  n = readlink("/proc/thread-self", link, sizeof link - 1);
  if (n > 0) link[n] = 0;
  check(n > 0 && !strcmp(link, val), "readlink /proc/thread-self is pid/task/tid");
  snprintf(val, sizeof val, "/proc/self/task/%d/stat", (int)syscall(SYS_gettid));
  check(slurp(val, buf, sizeof buf) > 0 && atoi(buf) == getpid(), "task/TID/stat of the main thread");

  /* Small reads see one consistent text. */
  int fd = open("/proc/self/status", O_RDONLY);
  char one[8192];
  size_t got = 0;
  ssize_t r;
  while (fd >= 0 && got < sizeof one - 1 && (r = read(fd, one + got, 7)) > 0) got += (size_t)r;
  one[got] = 0;
  close(fd);
  check(got > 100 && strstr(one, "\nPPid:") && strstr(one, "\nSigCgt:"), "status read 7 bytes at a time");
  fd = open("/proc/self/stat", O_RDONLY);
  check_ret(lseek(fd, 0, SEEK_END), -1, EINVAL, "lseek SEEK_END on a /proc file");
  close(fd);
}

static void maps_and_cmdline(int argc, char **argv) {
  char buf[65536];
  void *want = (void *)0x200000000UL;
  char *p = mmap(want, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  check(p == want, "mmap at a fixed address");
  check(mprotect(p + 4096, 4096, PROT_READ | PROT_WRITE) == 0, "mprotect the middle page");
  check(slurp("/proc/self/maps", buf, sizeof buf) > 0, "read /proc/self/maps");
  check(strstr(buf, "200000000-200001000 r--p 00000000 00:00 0 \n") &&
            strstr(buf, "200001000-200002000 rw-p 00000000 00:00 0 \n") &&
            strstr(buf, "200002000-200003000 r--p 00000000 00:00 0 \n"),
        "maps shows the three pieces with their permissions");
  check(strstr(buf, "[stack]\n") != NULL, "maps names the stack");
  unsigned long lo, hi;
  int ok = 1;
  for (char *line = buf; *line; line = strchr(line, '\n') + 1) {
    if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || lo >= hi) ok = 0;
    size_t len = strcspn(line, "\n"); /* a name starts at column 73 */
    if (len > 73 && (line[72] != ' ' || line[73] == ' ')) ok = 0;
    if (len <= 73 && line[len - 1] != ' ') ok = 0;
  }
  check(ok, "maps lines parse, names at column 73");
  munmap(p, 3 * 4096);

  ssize_t n = slurp("/proc/self/cmdline", buf, sizeof buf);
  size_t want_len = 0;
  for (int i = 0; i < argc; i++) want_len += strlen(argv[i]) + 1;
  ok = n == (ssize_t)want_len;
  char *q = buf;
  for (int i = 0; ok && i < argc; q += strlen(argv[i]) + 1, i++) ok = !strcmp(q, argv[i]);
  check(ok, "cmdline is argv, NUL-separated");

  n = slurp("/proc/self/environ", buf, sizeof buf);
  check(n >= 0 && (n == 0 || buf[n - 1] == 0), "environ ends in NUL");
}

/* A child that execs itself in "wait" mode: tells us through a pipe, then
 * waits to be killed. */
static void other_process(const char *self) {
  int ready[2];
  pipe(ready);
  pid_t pid = gt_fork();
  if (pid == 0) {
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", ready[1]);
    close(ready[0]);
    execl(self, self, "wait", fdarg, "two words", "", "last", (char *)NULL);
    _exit(127);
  }
  close(ready[1]);
  char c;
  check(read(ready[0], &c, 1) == 1, "child started");
  close(ready[0]);
  char path[64], buf[4096], want[4096];
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  ssize_t n = slurp(path, buf, sizeof buf);
  int wn = snprintf(want, sizeof want, "%s%cwait%c%d%ctwo words%c%clast", self, 0, 0, ready[1], 0, 0, 0) + 1;
  check(n == wn && !memcmp(buf, want, (size_t)wn), "/proc/PID/cmdline of a child, NUL-separated (empty argument kept)");
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  char *cp = NULL;
  for (int i = 0; i < 100; i++) { /* until it reaches pause() */
    n = slurp(path, buf, sizeof buf);
    cp = strrchr(buf, ')');
    if (n <= 0 || !cp || cp[2] == 'S') break;
    usleep(10000);
  }
  check(n > 0 && cp && cp[2] == 'S', "a child in pause() is S");
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  char val[64];
  check(slurp(path, buf, sizeof buf) > 0 && atoi(field(buf, "PPid", val, sizeof val)) == getpid(),
        "/proc/PID/status PPid is us");

  /* /proc lists the child's pid. */
  DIR *d = opendir("/proc");
  struct dirent *e;
  int seen = 0, self_seen = 0;
  while (d && (e = readdir(d)))
    if (atoi(e->d_name) == pid) seen = 1;
    else if (!strcmp(e->d_name, "self")) self_seen = 1;
  if (d) closedir(d);
  check(seen && self_seen, "/proc lists the child's pid and self");

  kill(pid, SIGKILL);
  usleep(100000);
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  n = slurp(path, buf, sizeof buf);
  cp = strrchr(buf, ')');
  check(n > 0 && cp && cp[2] == 'Z', "a killed, unwaited child is Z");
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  check_ret(readlink(path, buf, sizeof buf), -1, ENOENT, "readlink of a zombie's exe");
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  check(slurp(path, buf, sizeof buf) == 0, "a zombie's cmdline is empty");
  int st;
  wait_for(pid, &st, 0);
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  check_ret(open(path, O_RDONLY), -1, ENOENT, "a reaped child's /proc/PID/stat");
  snprintf(path, sizeof path, "/proc/%d", pid);
  struct stat sb;
  check_ret(stat(path, &sb), -1, ENOENT, "a reaped child's /proc/PID");
}

static void exec_through_proc(void) {
  pid_t pid = gt_fork();
  if (pid == 0) {
    execl("/proc/self/exe", "procfs", "exit", "42", (char *)NULL);
    _exit(127);
  }
  int st;
  wait_for(pid, &st, 0);
  check_status(st, 42, 0, "exec of /proc/self/exe runs the program again");
}

static void fd_links(void) {
  int null = open("/dev/null", O_RDONLY);
  int p[2];
  pipe(p);
  char path[64], link[PATH_MAX];
  snprintf(path, sizeof path, "/proc/self/fd/%d", null);
  ssize_t n = readlink(path, link, sizeof link - 1);
  if (n > 0) link[n] = 0;
  check(n > 0 && !strcmp(link, "/dev/null"), "fd link of /dev/null");
  struct stat pst;
  fstat(p[0], &pst);
  char want[64];
  snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)pst.st_ino);
  snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
  n = readlink(path, link, sizeof link - 1);
  if (n > 0) link[n] = 0;
  check(n > 0 && !strcmp(link, want), "fd link of a pipe is pipe:[inode]");
  struct stat l;
  check(lstat(path, &l) == 0 && (l.st_mode & 0777) == 0300, "a write-only fd link is l-wx------");

  /* Opening the link reopens the pipe. */
  int w = open(path, O_WRONLY);
  check(w >= 0 && write(w, "hi", 2) == 2, "write through an opened /proc/self/fd pipe link");
  char got[4] = {0};
  check(read(p[0], got, 2) == 2 && !strcmp(got, "hi"), "the pipe's reader gets it");
  if (w >= 0) close(w);

  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int seen_null = 0, seen_pipe = 0, count = 0;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    count++;
    if (atoi(e->d_name) == null) seen_null = e->d_type == DT_LNK;
    if (atoi(e->d_name) == p[0]) seen_pipe = 1;
  }
  if (d) closedir(d);
  check(seen_null && seen_pipe && count >= 6, "/proc/self/fd lists the open fds as links");

  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", p[1]);
  char info[512], val[64];
  check(slurp(path, info, sizeof info) > 0 && !strcmp(field(info, "pos", val, sizeof val), "0") &&
            (strtol(field(info, "flags", val, sizeof val), NULL, 8) & O_ACCMODE) == O_WRONLY,
        "fdinfo pos and flags");

  int dup = open("/dev/stdout", O_WRONLY);
  check(dup >= 0, "open /dev/stdout");
  if (dup >= 0) close(dup);
  close(null);
  close(p[0]);
  close(p[1]);
}

static void devices(void) {
  char buf[64];
  int fd = open("/dev/null", O_RDWR);
  check_ret(read(fd, buf, sizeof buf), 0, 0, "read /dev/null gives end of file");
  check_ret(write(fd, "abc", 3), 3, 0, "write /dev/null takes everything");
  check_ret(lseek(fd, 100, SEEK_SET), 0, 0, "lseek /dev/null stays at 0");
  struct stat st;
  fstat(fd, &st);
  check(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3), "/dev/null is char 1:3");
  close(fd);

  fd = open("/dev/zero", O_RDWR);
  memset(buf, 0x55, sizeof buf);
  int zeros = read(fd, buf, sizeof buf) == sizeof buf;
  for (size_t i = 0; i < sizeof buf; i++) zeros &= buf[i] == 0;
  check(zeros, "read /dev/zero gives zeros");
  check_ret(write(fd, "abc", 3), 3, 0, "write /dev/zero");
  char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  check(m != MAP_FAILED && m[0] == 0 && m[8191] == 0, "private mmap of /dev/zero is zeros");
  if (m != MAP_FAILED) munmap(m, 8192);
  close(fd);

  fd = open("/dev/full", O_RDWR);
  check_ret(write(fd, "abc", 3), -1, ENOSPC, "write /dev/full");
  check_ret(read(fd, buf, 16), 16, 0, "read /dev/full gives zeros");
  close(fd);

  fd = open("/dev/urandom", O_RDONLY);
  memset(buf, 0, sizeof buf);
  check_ret(read(fd, buf, 32), 32, 0, "read 32 bytes of /dev/urandom");
  int nonzero = 0;
  for (int i = 0; i < 32; i++) nonzero |= buf[i];
  check(nonzero != 0, "/dev/urandom bytes are not all zero");
  close(fd);
  fd = open("/dev/random", O_RDONLY);
  check_ret(read(fd, buf, 16), 16, 0, "read /dev/random");
  close(fd);

  check(stat("/dev/tty", &st) == 0 && st.st_rdev == makedev(5, 0), "/dev/tty is char 5:0");
  pid_t pid = gt_fork();
  if (pid == 0) {
    setsid();
    int t = open("/dev/tty", O_RDWR);
    _exit(t < 0 && errno == ENXIO ? 0 : 1);
  }
  int s;
  wait_for(pid, &s, 0);
  check_status(s, 0, 0, "/dev/tty without a controlling terminal is ENXIO");
}

static int pdeath_flag;
static void on_usr1(int sig) {
  (void)sig;
  pdeath_flag = 1;
}

static void prctl_checks(void) {
  char name[32] = {0};
  check_ret(prctl(PR_SET_NAME, "renamed-by-prctl-long", 0, 0, 0), 0, 0, "PR_SET_NAME");
  check(prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && !strcmp(name, "renamed-by-prct"), "PR_GET_NAME (15 bytes)");
  char buf[4096], val[64];
  check(slurp("/proc/self/comm", buf, sizeof buf) > 0 && !strcmp(buf, "renamed-by-prct\n"), "comm shows the new name");
  check(slurp("/proc/self/status", buf, sizeof buf) > 0 && !strcmp(field(buf, "Name", val, sizeof val), "renamed-by-prct"),
        "status Name shows the new name");
  int fd = open("/proc/self/comm", O_WRONLY);
  check(fd >= 0 && write(fd, "viaproc", 7) == 7, "write /proc/self/comm");
  close(fd);
  check(prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && !strcmp(name, "viaproc"), "PR_GET_NAME after writing comm");

  check_ret(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1, 0, "PR_GET_DUMPABLE");
  check_ret(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0, 0, "PR_SET_DUMPABLE 0");
  check_ret(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0, 0, "PR_GET_DUMPABLE after");
  check_ret(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), -1, EINVAL, "PR_SET_DUMPABLE 2");
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  check_ret(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0, 0, "PR_GET_NO_NEW_PRIVS");
  check_ret(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), -1, EINVAL, "PR_SET_NO_NEW_PRIVS 2");
  check_ret(prctl(PR_CAPBSET_READ, 0, 0, 0, 0), 1, 0, "PR_CAPBSET_READ CAP_CHOWN");
  check_ret(prctl(PR_CAPBSET_READ, 999, 0, 0, 0), -1, EINVAL, "PR_CAPBSET_READ 999");
  check_ret(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0, 0, "PR_GET_SECCOMP");
  check_ret(prctl(0x7fff, 0, 0, 0, 0), -1, EINVAL, "an unknown prctl option");
  int sig = -1;
  check(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 && sig == 0, "PR_GET_PDEATHSIG is 0");
  check_ret(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0), -1, EINVAL, "PR_SET_PDEATHSIG 65");

  /* A subreaper adopts its orphaned grandchild; the grandchild hears of its
   * parent's death by PR_SET_PDEATHSIG. */
  int sub = -1;
  check_ret(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0, 0, "PR_SET_CHILD_SUBREAPER");
  check(prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0) == 0 && sub == 1, "PR_GET_CHILD_SUBREAPER");
  int rep[2];
  pipe(rep);
  pid_t child = gt_fork();
  if (child == 0) {
    int go[2];
    pipe(go);
    pid_t gc = fork();
    if (gc == 0) {
      set_handler(SIGUSR1, (void *)on_usr1, 0);
      prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
      close(go[0]);
      close(go[1]); /* parent sees EOF: ready */
      for (int i = 0; i < 500 && !pdeath_flag; i++) usleep(10000);
      int me = getppid();
      write(rep[1], &pdeath_flag, sizeof pdeath_flag);
      write(rep[1], &me, sizeof me);
      _exit(0);
    }
    close(go[1]);
    char c;
    read(go[0], &c, 1);
    _exit(0);
  }
  close(rep[1]);
  int st;
  wait_for(child, &st, 0);
  int flag = 0, newparent = 0;
  check(read_full(rep[0], &flag, sizeof flag) == sizeof flag && flag == 1, "PR_SET_PDEATHSIG signal on parent's death");
  check(read_full(rep[0], &newparent, sizeof newparent) == sizeof newparent && newparent == getpid(),
        "the orphan's new parent is the subreaper");
  close(rep[0]);
  while (waitpid(-1, &st, 0) > 0) {
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static void system_files(void) {
  char buf[65536];
  unsigned long total = 0, freekb = 0;
  check(slurp("/proc/meminfo", buf, sizeof buf) > 0 &&
            sscanf(buf, "MemTotal: %lu kB\nMemFree: %lu kB", &total, &freekb) == 2 && freekb <= total,
        "meminfo starts with MemTotal and MemFree");
  double up = 0, idle = 0;
  check(slurp("/proc/uptime", buf, sizeof buf) > 0 && sscanf(buf, "%lf %lf", &up, &idle) == 2 && up > 0,
        "uptime has two numbers");
  double l1, l5, l15;
  int run, all, last;
  check(slurp("/proc/loadavg", buf, sizeof buf) > 0 &&
            sscanf(buf, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &run, &all, &last) == 6 && run >= 1 && all >= run,
        "loadavg has its six fields");
  unsigned long long u, n, s, i;
  check(slurp("/proc/stat", buf, sizeof buf) > 0 && sscanf(buf, "cpu  %llu %llu %llu %llu", &u, &n, &s, &i) == 4 &&
            strstr(buf, "\ncpu0 ") && strstr(buf, "\nbtime ") && strstr(buf, "\nprocesses "),
        "stat has the cpu lines, btime and processes");
  check(slurp("/proc/cpuinfo", buf, sizeof buf) > 0 && !strncmp(buf, "processor\t: 0\n", 14) &&
            strstr(buf, "\nmodel name\t: "),
        "cpuinfo starts with processor 0 and has a model name");
  check(slurp("/proc/version", buf, sizeof buf) > 0 && !strncmp(buf, "Linux version ", 14), "version");
  check(slurp("/proc/filesystems", buf, sizeof buf) > 0 && strstr(buf, "nodev\tproc\n"), "filesystems lists proc");
  check(slurp("/proc/mounts", buf, sizeof buf) > 0 && strstr(buf, "proc /proc proc rw"),
        "mounts has /proc");
  check(slurp("/proc/self/mounts", buf, sizeof buf) > 0 && strstr(buf, " /proc proc "), "self/mounts has /proc");
  check(slurp("/proc/sys/kernel/ostype", buf, sizeof buf) > 0 && !strcmp(buf, "Linux\n"), "sys/kernel/ostype");
  check(slurp("/proc/sys/kernel/pid_max", buf, sizeof buf) > 0 && atoi(buf) >= 32768, "sys/kernel/pid_max");
  check(slurp("/proc/sys/vm/overcommit_memory", buf, sizeof buf) > 0 && buf[0] >= '0' && buf[0] <= '2',
        "sys/vm/overcommit_memory");
  check(slurp("/proc/swaps", buf, sizeof buf) > 0 && !strncmp(buf, "Filename\t\t\t\tType", 16), "swaps header");
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "exit")) return atoi(argv[2]);
  if (argc > 2 && !strcmp(argv[1], "wait")) {
    char c = 1;
    write(atoi(argv[2]), &c, 1);
    char buf[1];
    read(0, buf, 0);
    for (;;) pause();
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  self_files(argv[0]);
  maps_and_cmdline(argc, argv);
  other_process(argv[0]);
  exec_through_proc();
  fd_links();
  devices();
  system_files();
  prctl_checks();
  return finish("procfs");
}
