/* execchain SELF N
 *
 *   SELF  the path of this very program (the tests pass the absolute path of
 *         build/rootfs/execchain-musl or execchain-glibc; no /proc/self/exe
 *         is needed);
 *   N     how many times it execve()s itself, 1..50.
 *
 * The first image sets up state that execve() must keep or reset, then
 * execs SELF with "--chain" and the state in argv; every later image checks
 * the state, sets it up again and execs the next one, N times in all. The
 * last image prints the results (nothing is printed before), one line per
 * property, each true for every one of the N execs:
 *   - getpid() and getppid() are unchanged;
 *   - a pipe made with pipe2(O_CLOEXEC) just before the exec is closed
 *     (write and close give EBADF); a pipe made with pipe() stays open: each
 *     image writes one byte into it and the last reads them back in order;
 *   - a caught signal (SIGUSR1, plain handler; SIGTERM, SA_SIGINFO handler)
 *     is reset to SIG_DFL; SIGUSR2, ignored, stays SIG_IGN;
 *   - the signal mask (SIGHUP and SIGWINCH blocked) is kept, and a pending
 *     signal (SIGHUP, raised while blocked before the first exec) stays
 *     pending;
 *   - an alternate signal stack set before the exec is gone (SS_DISABLE);
 *   - the time left on an alarm(1000) set before the first exec is kept.
 * Output: "execchain: N execs", 11 check lines, "execchain: PASS".
 * Exit status 64 on bad usage. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>

#include "guest_test.h"

extern char **environ;

enum {
  F_PID = 1 << 0,
  F_PPID = 1 << 1,
  F_CLOEXEC = 1 << 2,
  F_HANDLER = 1 << 3,
  F_IGNORED = 1 << 4,
  F_MASK = 1 << 5,
  F_PENDING = 1 << 6,
  F_ALTSTACK = 1 << 7,
  F_SETUP = 1 << 8,
};

struct state {
  const char *self;
  long remaining; /* execs still to do after this image */
  long total;
  long pid, ppid;
  long keep_r, keep_w, cloex_r, cloex_w;
  long fails;
  long level; /* images before this one */
};

static void on_usr1(int sig) { (void)sig; }
static void on_term(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
}

static int usage(void) {
  fprintf(stderr, "usage: execchain SELF N   (N = 1..50; SELF = the path of this program)\n");
  return 64;
}

static long num(const char *s, int *ok) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0') *ok = 0;
  return v;
}

/* Sets up what the next execve must keep or reset, then execs SELF. */
__attribute__((noreturn)) static void exec_next(struct state *s) {
  int cl[2];
  if (pipe2(cl, O_CLOEXEC) != 0) {
    s->fails |= F_SETUP;
    cl[0] = cl[1] = -1;
  }
  s->cloex_r = cl[0];
  s->cloex_w = cl[1];
  if (set_handler(SIGUSR1, (void *)on_usr1, 0) != 0 || set_handler(SIGTERM, (void *)on_term, SA_SIGINFO) != 0)
    s->fails |= F_SETUP;
  static char *alt;
  if (!alt) alt = malloc(65536);
  stack_t ss = {.ss_sp = alt, .ss_size = 65536, .ss_flags = 0};
  if (!alt || sigaltstack(&ss, NULL) != 0) s->fails |= F_SETUP;
  unsigned char b = (unsigned char)s->level;
  if (write_all((int)s->keep_w, &b, 1) != 0) s->fails |= F_SETUP;

  char f[10][32];
  long vals[10] = {s->remaining - 1, s->total,   s->pid,     s->ppid,  s->keep_r,
                   s->keep_w,        s->cloex_r, s->cloex_w, s->fails, s->level + 1};
  char *argv[14];
  argv[0] = (char *)s->self;
  argv[1] = "--chain";
  for (int i = 0; i < 10; i++) {
    snprintf(f[i], sizeof f[i], "%ld", vals[i]);
    argv[2 + i] = f[i];
  }
  argv[12] = NULL;
  execve(s->self, argv, environ);
  check(0, "execve of SELF (%s)", errno_name(errno));
  exit(finish("execchain"));
}

static int disposition_is(int sig, void (*want)(int)) {
  struct sigaction old;
  memset(&old, 0, sizeof old);
  if (sigaction(sig, NULL, &old) != 0) return 0;
  return !(old.sa_flags & SA_SIGINFO) && old.sa_handler == want;
}

/* The checks made by every image after an exec. */
static long check_after_exec(const struct state *s) {
  long fails = 0;
  if (getpid() != s->pid) fails |= F_PID;
  if (getppid() != s->ppid) fails |= F_PPID;
  char c = 'x';
  errno = 0;
  if (!(write((int)s->cloex_w, &c, 1) == -1 && errno == EBADF)) fails |= F_CLOEXEC;
  errno = 0;
  if (!(close((int)s->cloex_r) == -1 && errno == EBADF)) fails |= F_CLOEXEC;
  if (!disposition_is(SIGUSR1, SIG_DFL) || !disposition_is(SIGTERM, SIG_DFL)) fails |= F_HANDLER;
  if (!disposition_is(SIGUSR2, SIG_IGN)) fails |= F_IGNORED;
  if (!is_blocked(SIGHUP) || !is_blocked(SIGWINCH) || is_blocked(SIGUSR1) || is_blocked(SIGTERM)) fails |= F_MASK;
  if (!is_pending(SIGHUP) || is_pending(SIGWINCH)) fails |= F_PENDING;
  stack_t old;
  memset(&old, 0, sizeof old);
  if (sigaltstack(NULL, &old) != 0 || !(old.ss_flags & SS_DISABLE)) fails |= F_ALTSTACK;
  return fails;
}

static int report(const struct state *s) {
  long f = s->fails;
  printf("execchain: %ld execs\n", s->total);
  check(s->level == s->total, "the chain ran %ld images after the first", s->total);
  check(!(f & F_SETUP), "the state before each exec could be set up");
  check(!(f & F_PID), "getpid() is the same after every execve");
  check(!(f & F_PPID), "getppid() is the same after every execve");
  check(!(f & F_CLOEXEC), "a pipe2(O_CLOEXEC) pipe is closed by every execve");

  unsigned char got[64];
  ssize_t n = read_full((int)s->keep_r, got, (size_t)s->total);
  int in_order = n == s->total;
  for (long i = 0; in_order && i < s->total; i++) in_order = got[i] == i;
  check(in_order, "a pipe without O_CLOEXEC stays open across every execve (%ld bytes read back in order)", s->total);

  check(!(f & F_HANDLER), "caught signals (a plain and an SA_SIGINFO handler) are reset to SIG_DFL");
  check(!(f & F_IGNORED), "an ignored signal stays SIG_IGN");
  check(!(f & (F_MASK | F_PENDING)), "the signal mask and a pending blocked signal are kept");
  check(!(f & F_ALTSTACK), "the alternate signal stack is disabled by execve");
  unsigned left = alarm(0);
  check(left > 0 && left <= 1000, "the time left on alarm(1000) is kept across execve");
  return finish("execchain");
}

int main(int argc, char **argv) {
  struct state s;
  memset(&s, 0, sizeof s);
  int ok = 1;
  if (argc == 12 && strcmp(argv[1], "--chain") == 0) {
    s.self = argv[0];
    long *fields[] = {&s.remaining, &s.total,   &s.pid,     &s.ppid,  &s.keep_r,
                      &s.keep_w,    &s.cloex_r, &s.cloex_w, &s.fails, &s.level};
    for (int i = 0; i < 10; i++) *fields[i] = num(argv[2 + i], &ok);
    if (!ok) return usage();
    s.fails |= check_after_exec(&s);
    if (s.remaining > 0) exec_next(&s);
    return report(&s);
  }

  if (argc != 3) return usage();
  s.self = argv[1];
  s.total = num(argv[2], &ok);
  if (!ok || s.total < 1 || s.total > 50) return usage();
  s.remaining = s.total;
  s.pid = getpid();
  s.ppid = getppid();
  int keep[2];
  if (pipe(keep) != 0) {
    check(0, "pipe (%s)", errno_name(errno));
    return finish("execchain");
  }
  s.keep_r = keep[0];
  s.keep_w = keep[1];
  if (set_disposition(SIGUSR2, SIG_IGN) != 0) s.fails |= F_SETUP;
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, NULL);
  raise(SIGHUP);
  alarm(1000);
  exec_next(&s);
}
