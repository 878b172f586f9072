/* vforkexec PROG BADFILE
 *
 *   PROG     a program that execve() can run, that prints its own output and
 *            exits 0: the tests pass build/rootfs/hello-musl or hello-glibc
 *            (its line, "Hello from a guest program!", appears in the output
 *            between this program's lines, at a fixed place).
 *   BADFILE  an existing file that execve() must refuse: one without any
 *            execute permission (EACCES), or an executable file that is not
 *            a program (ENOEXEC), e.g. rootfs/programs/hello.c (mode 644:
 *            EACCES, even for root). Either error is accepted and the
 *            printed line does not say which.
 *
 * Checks, all against the same output natively and in the guest:
 *   1. vfork(); the child stores 1 in a global, sleeps 20 ms, stores 2 and
 *      _exit(7)s: when vfork() returns in the parent the global is 2 (the
 *      parent was suspended and shares the child's memory), status 7;
 *   2. the same, ending in execve(PROG) instead of _exit: the parent sees 4,
 *      PROG runs and exits 0;
 *   3. vfork() then execve() of a path that does not exist: the child
 *      _exit(100 + errno)s, the parent sees 100 + ENOENT;
 *   4. fork() then execve() of that path: 100 + ENOENT;
 *   5. fork() then execve(BADFILE): 100 + EACCES or 100 + ENOEXEC.
 * Output: a header line, 9 check lines with PROG's own output after the
 * third, "vforkexec: PASS". Exit status 64 on bad usage. */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "guest_test.h"

#define MISSING "/no/such/dir/vforkexec-missing-program"

extern char **environ;
static volatile int vflag;

static void child_sleep_20ms(void) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  syscall(SYS_nanosleep, &ts, NULL);
}

static int reap(pid_t pid, int *st) {
  *st = -1;
  return wait_for(pid, st, 0) == pid;
}

static int exited_with(int st, int code) { return WIFEXITED(st) && WEXITSTATUS(st) == code; }

/* fork() + execve(path); returns the wait status. */
static int fork_exec(const char *path) {
  pid_t pid = gt_fork();
  if (pid == 0) {
    char *argv[] = {(char *)path, NULL};
    execve(path, argv, environ);
    _exit(100 + errno);
  }
  int st = -1;
  if (pid < 0 || !reap(pid, &st)) return -1;
  return st;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: vforkexec PROG BADFILE\n");
    return 64;
  }
  const char *prog = argv[1], *badfile = argv[2];
  char text[64];
  int st;
  printf("vforkexec: vfork, fork and execve\n");

  /* 1: vfork + _exit */
  vflag = 0;
  fflush(stdout);
  pid_t pid = vfork();
  if (pid == 0) {
    vflag = 1;
    child_sleep_20ms();
    vflag = 2;
    _exit(7);
  }
  int seen = vflag;
  check(pid > 0, "vfork returned a child pid in the parent");
  check(seen == 2, "the parent was suspended until the vforked child's _exit and sees its write");
  int reaped = pid > 0 && reap(pid, &st);
  check(reaped && exited_with(st, 7), "the vforked child exited with 7 (%s)", status_text(st, text, sizeof text));

  /* 2: vfork + execve(PROG) */
  vflag = 0;
  fflush(stdout);
  pid = vfork();
  if (pid == 0) {
    vflag = 3;
    child_sleep_20ms();
    vflag = 4;
    char *cargv[] = {(char *)prog, NULL};
    execve(prog, cargv, environ);
    _exit(100 + errno);
  }
  seen = vflag;
  reaped = pid > 0 && reap(pid, &st);
  check(seen == 4, "the parent was suspended until the vforked child's execve and sees its write");
  check(reaped && exited_with(st, 0), "the program the vforked child execve'd exited with 0 (%s)",
        status_text(st, text, sizeof text));

  /* 3: vfork + failing execve */
  vflag = 0;
  fflush(stdout);
  pid = vfork();
  if (pid == 0) {
    vflag = 5;
    char *cargv[] = {MISSING, NULL};
    execve(MISSING, cargv, environ);
    _exit(100 + errno);
  }
  seen = vflag;
  reaped = pid > 0 && reap(pid, &st);
  check(seen == 5, "the parent sees the write of a vforked child whose execve failed");
  check(reaped && exited_with(st, 100 + ENOENT), "execve of a missing path after vfork fails with ENOENT (%s)",
        status_text(st, text, sizeof text));

  /* 4: fork + execve of a missing path */
  st = fork_exec(MISSING);
  check(st != -1 && exited_with(st, 100 + ENOENT), "execve of a missing path after fork fails with ENOENT (%s)",
        status_text(st, text, sizeof text));

  /* 5: fork + execve of a file that is not a program */
  st = fork_exec(badfile);
  int refused = st != -1 && (exited_with(st, 100 + EACCES) || exited_with(st, 100 + ENOEXEC));
  if (refused || st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) < 100)
    check(refused, "execve of a file that is not an executable program fails with EACCES or ENOEXEC%s%s",
          refused ? "" : " - ", refused ? "" : status_text(st, text, sizeof text));
  else
    check(0, "execve of a file that is not an executable program fails with EACCES or ENOEXEC - got %s",
          errno_name(WEXITSTATUS(st) - 100));
  return finish("vforkexec");
}
