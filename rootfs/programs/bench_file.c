/* bench_file KIND N [DIR]   (DIR defaults to /tmp)
 *
 * File and pipe costs, one JSON line per run:
 *   {"bench":"file_KIND","iters":N,"ns_per_op":X}
 * KIND is one of
 *   open   open+close of an existing file in DIR
 *   stat   stat of that file
 *   read   pread of 4 KiB from it
 *   write  pwrite of 4 KiB to it
 *   pipe   ping-pong latency: one byte there and back between two processes
 *   tput   pipe throughput: 64 KiB writes to a reading child (ns per 64 KiB;
 *          the line also carries "mib_per_s")
 * The figures differ between runs; they are for bench/, not compared. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static char buf[65536];

static double run(const char *kind, long n, const char *path) {
  struct stat st;
  if (!strcmp(kind, "open")) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      int fd = open(path, O_RDONLY);
      if (fd < 0) die("open");
      close(fd);
    }
    return now_ns() - t0;
  }
  if (!strcmp(kind, "stat")) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
      if (stat(path, &st)) die("stat");
    return now_ns() - t0;
  }
  if (!strcmp(kind, "read") || !strcmp(kind, "write")) {
    int fd = open(path, O_RDWR);
    if (fd < 0) die("open");
    int w = kind[0] == 'w';
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
      if ((w ? pwrite(fd, buf, 4096, 0) : pread(fd, buf, 4096, 0)) != 4096) die(w ? "pwrite" : "pread");
    double t = now_ns() - t0;
    close(fd);
    return t;
  }
  int there[2], back[2];
  if (pipe(there) || pipe(back)) die("pipe");
  int tput = !strcmp(kind, "tput");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(there[1]);
    close(back[0]);
    if (tput) {
      long want = n * (long)sizeof buf, got = 0;
      while (got < want) {
        ssize_t r = read(there[0], buf, sizeof buf);
        if (r <= 0) _exit(1);
        got += r;
      }
      if (write(back[1], "k", 1) != 1) _exit(1);
    } else {
      for (long i = 0; i < n; i++)
        if (read(there[0], buf, 1) != 1 || write(back[1], buf, 1) != 1) _exit(1);
    }
    _exit(0);
  }
  close(there[0]);
  close(back[1]);
  double t0 = now_ns();
  if (tput) {
    for (long i = 0; i < n; i++)
      for (size_t off = 0; off < sizeof buf;) {
        ssize_t w = write(there[1], buf + off, sizeof buf - off);
        if (w <= 0) die("write");
        off += (size_t)w;
      }
    if (read(back[0], buf, 1) != 1) die("read");
  } else {
    for (long i = 0; i < n; i++)
      if (write(there[1], "p", 1) != 1 || read(back[0], buf, 1) != 1) die("ping");
  }
  double t = now_ns() - t0;
  int status;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status)) {
    fprintf(stderr, "bench_file: child failed\n");
    exit(1);
  }
  return t;
}

int main(int argc, char **argv) {
  static const char *kinds[] = {"open", "stat", "read", "write", "pipe", "tput"};
  int ok = 0;
  for (unsigned i = 0; argc >= 3 && i < sizeof kinds / sizeof *kinds; i++) ok |= !strcmp(argv[1], kinds[i]);
  char *end = NULL;
  long n = argc >= 3 ? strtol(argv[2], &end, 10) : 0;
  if (!ok || *end || n <= 0) {
    fprintf(stderr, "usage: bench_file open|stat|read|write|pipe|tput N [DIR]\n");
    return 64;
  }
  const char *dir = argc > 3 ? argv[3] : "/tmp";
  char path[4096];
  snprintf(path, sizeof path, "%s/bench_file.%d", dir, (int)getpid());
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) die(path);
  memset(buf, 'x', sizeof buf);
  if (write(fd, buf, 4096) != 4096) die("write");
  close(fd);
  run(argv[1], n / 10 + 1, path); /* warm-up */
  double t = run(argv[1], n, path);
  unlink(path);
  printf("{\"bench\":\"file_%s\",\"iters\":%ld,\"ns_per_op\":%.1f", argv[1], n, t / (double)n);
  if (!strcmp(argv[1], "tput")) printf(",\"mib_per_s\":%.1f", (double)n * 65536.0 / (1 << 20) / (t / 1e9));
  printf("}\n");
  return 0;
}
