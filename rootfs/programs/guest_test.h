/* Helpers shared by the process/thread/signal/time guest test programs
 * (forktree, cow, vforkexec, execchain, threads, sigsegv, signals, sigchld,
 * altstack, eintr, timers, futex, spinfair, forkbomb, pgrp). Header-only:
 * every helper is static inline, so a program uses what it needs.
 *
 * Conventions of those programs:
 *   - one line per check: "ok - WHAT" or "not ok - WHAT (DETAIL)"; the last
 *     line is "NAME: PASS" (exit 0) or "NAME: FAIL" (exit 1);
 *   - nothing printed depends on pids, addresses, times or the libc: errors
 *     and signals are printed by their symbolic names (errno_name(),
 *     sig_name()), and values that vary are only compared;
 *   - only the parent prints: a child reports through its exit status or a
 *     pipe, and stdout is flushed before every fork (gt_fork()) so no
 *     buffered text is written twice;
 *   - nothing is printed from a signal handler.
 * Programs include this after defining _GNU_SOURCE. */
#ifndef GUEST_TEST_H
#define GUEST_TEST_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_common.h"

static int gt_failures;

/* Symbolic errno name (same text under both libcs). */
static inline const char *errno_name(int e) {
  switch (e) {
  case 0: return "0";
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EINTR: return "EINTR";
  case EIO: return "EIO";
  case ENOEXEC: return "ENOEXEC";
  case EBADF: return "EBADF";
  case ECHILD: return "ECHILD";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EEXIST: return "EEXIST";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EINVAL: return "EINVAL";
  case EMFILE: return "EMFILE";
  case ENOSPC: return "ENOSPC";
  case EPIPE: return "EPIPE";
  case ERANGE: return "ERANGE";
  case ENOSYS: return "ENOSYS";
  case ETIMEDOUT: return "ETIMEDOUT";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case ELOOP: return "ELOOP";
  case ENOTEMPTY: return "ENOTEMPTY";
  case EXDEV: return "EXDEV";
  case EROFS: return "EROFS";
  case EBUSY: return "EBUSY";
  case ENAMETOOLONG: return "ENAMETOOLONG";
  case EMLINK: return "EMLINK";
  case ETXTBSY: return "ETXTBSY";
  case EBADFD: return "EBADFD";
  case ENXIO: return "ENXIO";
  case ESPIPE: return "ESPIPE";
  case EDOM: return "EDOM";
  case ENOTSOCK: return "ENOTSOCK";
  case EDESTADDRREQ: return "EDESTADDRREQ";
  case EMSGSIZE: return "EMSGSIZE";
  case EPROTOTYPE: return "EPROTOTYPE";
  case ENOPROTOOPT: return "ENOPROTOOPT";
  case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
  case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
  case EAFNOSUPPORT: return "EAFNOSUPPORT";
  case EADDRINUSE: return "EADDRINUSE";
  case ECONNABORTED: return "ECONNABORTED";
  case ECONNRESET: return "ECONNRESET";
  case ENOBUFS: return "ENOBUFS";
  case EISCONN: return "EISCONN";
  case ENOTCONN: return "ENOTCONN";
  case ECONNREFUSED: return "ECONNREFUSED";
  default: {
    static char buf[32];
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
  }
  }
}

/* A syscall's result as the checkers print it: the value, or errno's name. */
static inline const char *result_text(long r) {
  static char buf[24];
  if (r < 0) return errno_name(errno);
  snprintf(buf, sizeof buf, "%ld", r);
  return buf;
}

/* poll/epoll event bits in words ("POLLIN|POLLOUT"; "0" for none). The
 * EPOLL* bits that matter here have the same values as the POLL* ones. */
static inline const char *ev_text(unsigned ev) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{POLLIN, "POLLIN"},         {POLLPRI, "POLLPRI"},       {POLLOUT, "POLLOUT"},
               {POLLERR, "POLLERR"},       {POLLHUP, "POLLHUP"},       {POLLNVAL, "POLLNVAL"},
               {POLLRDNORM, "POLLRDNORM"}, {POLLRDBAND, "POLLRDBAND"}, {POLLWRNORM, "POLLWRNORM"},
               {POLLWRBAND, "POLLWRBAND"}, {POLLRDHUP, "POLLRDHUP"}};
  static char buf[192];
  buf[0] = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (!(ev & names[i].bit)) continue;
    if (buf[0]) strcat(buf, "|");
    strcat(buf, names[i].name);
    ev &= ~names[i].bit;
  }
  if (ev) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s0x%x", buf[0] ? "|" : "", ev);
  if (!buf[0]) strcpy(buf, "0");
  return buf;
}

/* Symbolic signal name. Real-time signals are named relative to the libc's
 * SIGRTMIN (34 in glibc, 35 in musl), so "SIGRTMIN+1" reads the same under
 * both. Returns a static buffer for unknown numbers: use one per printf. */
static inline const char *sig_name(int sig) {
  static const char *const names[32] = {
      "0",         "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
      "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
      "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
      "SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS"};
  static char buf[32];
  if (sig >= 0 && sig < 32) return names[sig];
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    snprintf(buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
    return buf;
  }
  snprintf(buf, sizeof buf, "signal %d", sig);
  return buf;
}

/* Symbolic si_code for a signal: the fault codes of SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL and SIGTRAP, the CLD_* codes of SIGCHLD, and the generic
 * SI_* codes. */
static inline const char *code_name(int sig, int code) {
  static char buf[48];
  switch (code) {
  case SI_USER: return "SI_USER";
  case SI_KERNEL: return "SI_KERNEL";
  case SI_QUEUE: return "SI_QUEUE";
  case SI_TIMER: return "SI_TIMER";
  case SI_MESGQ: return "SI_MESGQ";
  case SI_ASYNCIO: return "SI_ASYNCIO";
  case SI_SIGIO: return "SI_SIGIO";
  case SI_TKILL: return "SI_TKILL";
  }
  if (code > 0) {
    switch (sig) {
    case SIGSEGV:
      switch (code) {
      case SEGV_MAPERR: return "SEGV_MAPERR";
      case SEGV_ACCERR: return "SEGV_ACCERR";
      }
      break;
    case SIGBUS:
      switch (code) {
      case BUS_ADRALN: return "BUS_ADRALN";
      case BUS_ADRERR: return "BUS_ADRERR";
      case BUS_OBJERR: return "BUS_OBJERR";
      }
      break;
    case SIGFPE:
      switch (code) {
      case FPE_INTDIV: return "FPE_INTDIV";
      case FPE_INTOVF: return "FPE_INTOVF";
      case FPE_FLTDIV: return "FPE_FLTDIV";
      case FPE_FLTOVF: return "FPE_FLTOVF";
      case FPE_FLTUND: return "FPE_FLTUND";
      case FPE_FLTRES: return "FPE_FLTRES";
      case FPE_FLTINV: return "FPE_FLTINV";
      case FPE_FLTSUB: return "FPE_FLTSUB";
      }
      break;
    case SIGILL:
      switch (code) {
      case ILL_ILLOPC: return "ILL_ILLOPC";
      case ILL_ILLOPN: return "ILL_ILLOPN";
      case ILL_ILLADR: return "ILL_ILLADR";
      case ILL_ILLTRP: return "ILL_ILLTRP";
      case ILL_PRVOPC: return "ILL_PRVOPC";
      case ILL_PRVREG: return "ILL_PRVREG";
      case ILL_COPROC: return "ILL_COPROC";
      case ILL_BADSTK: return "ILL_BADSTK";
      }
      break;
    case SIGTRAP:
      switch (code) {
      case TRAP_BRKPT: return "TRAP_BRKPT";
      case TRAP_TRACE: return "TRAP_TRACE";
      }
      break;
    case SIGCHLD:
      switch (code) {
      case CLD_EXITED: return "CLD_EXITED";
      case CLD_KILLED: return "CLD_KILLED";
      case CLD_DUMPED: return "CLD_DUMPED";
      case CLD_TRAPPED: return "CLD_TRAPPED";
      case CLD_STOPPED: return "CLD_STOPPED";
      case CLD_CONTINUED: return "CLD_CONTINUED";
      }
      break;
    }
  }
  snprintf(buf, sizeof buf, "si_code %d", code);
  return buf;
}

/* A wait status in words: "exited with N", "killed by signal N",
 * "stopped by signal N", "continued". Signals by number, as the shell does. */
static inline const char *status_text(int st, char *buf, size_t n) {
  if (WIFEXITED(st))
    snprintf(buf, n, "exited with %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    snprintf(buf, n, "killed by signal %d%s", WTERMSIG(st), WCOREDUMP(st) ? " (core dumped)" : "");
  else if (WIFSTOPPED(st))
    snprintf(buf, n, "stopped by signal %d", WSTOPSIG(st));
  else if (WIFCONTINUED(st))
    snprintf(buf, n, "continued");
  else
    snprintf(buf, n, "unknown status 0x%x", (unsigned)st);
  return buf;
}

/* "ok - WHAT" or "not ok - WHAT"; returns ok. */
__attribute__((format(printf, 2, 3))) static inline int check(int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(ok ? "ok - " : "not ok - ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  if (!ok) gt_failures++;
  return ok;
}

/* A call that returned `ret` with errno `err` was expected to return
 * `want_ret` and, when want_err != 0, to fail with want_err. On a mismatch
 * the line says what happened instead. */
__attribute__((format(printf, 5, 6))) static inline int check_call(long ret, int err, long want_ret, int want_err,
                                                                   const char *fmt, ...) {
  int ok = ret == want_ret && (want_err == 0 || err == want_err);
  va_list ap;
  va_start(ap, fmt);
  fputs(ok ? "ok - " : "not ok - ", stdout);
  vprintf(fmt, ap);
  va_end(ap);
  if (!ok) {
    if (ret == -1)
      printf(" (got -1, %s)", errno_name(err));
    else
      printf(" (got %ld)", ret);
  }
  fputc('\n', stdout);
  if (!ok) gt_failures++;
  return ok;
}

/* check_ret(CALL, want_ret, want_err, fmt, ...): check_call() on the result
 * of CALL and the errno it left. CALL is evaluated before errno is read
 * (function arguments have no order, so check_call(f(), errno, ...) could
 * read a stale errno). */
#define check_ret(call, want_ret, want_err, ...)                   \
  __extension__({                                                  \
    long gt_r_ = (long)(call);                                     \
    int gt_e_ = errno;                                             \
    check_call(gt_r_, gt_e_, (want_ret), (want_err), __VA_ARGS__); \
  })

/* Checks a wait status: exited with `code` (want_sig == 0) or killed by
 * want_sig (core dump or not). st == -1 means the wait itself failed. The
 * status is printed only when it is not the expected one. */
__attribute__((format(printf, 4, 5))) static inline int check_status(int st, int code, int want_sig, const char *fmt,
                                                                     ...) {
  int ok =
      st != -1 && (want_sig ? WIFSIGNALED(st) && WTERMSIG(st) == want_sig : WIFEXITED(st) && WEXITSTATUS(st) == code);
  va_list ap;
  va_start(ap, fmt);
  fputs(ok ? "ok - " : "not ok - ", stdout);
  vprintf(fmt, ap);
  va_end(ap);
  if (!ok) {
    char text[64];
    printf(" (got: %s)", st == -1 ? "wait failed" : status_text(st, text, sizeof text));
  }
  fputc('\n', stdout);
  if (!ok) gt_failures++;
  return ok;
}

/* Prints "NAME: PASS" or "NAME: FAIL" and returns the exit status. */
static inline int finish(const char *name) {
  printf("%s: %s\n", name, gt_failures ? "FAIL" : "PASS");
  fflush(stdout);
  return gt_failures ? 1 : 0;
}

/* fork() after flushing stdio, so a child never writes the parent's
 * buffered text a second time. */
static inline pid_t gt_fork(void) {
  fflush(stdout);
  fflush(stderr);
  return fork();
}

static inline int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline struct timespec ns_to_ts(int64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
  return ts;
}

/* Sleeps at least ms milliseconds, sleeping again for the rest when a
 * signal handler interrupts the sleep. */
static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* write()s all n bytes (retrying after EINTR); 0 on success, -1 on error. */
static inline int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* read()s until n bytes or end of file (retrying after EINTR); returns the
 * number of bytes read, or -1 on error. */
static inline ssize_t read_full(int fd, void *buf, size_t n) {
  char *p = buf;
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

/* waitpid() retrying after EINTR. */
static inline pid_t wait_for(pid_t pid, int *status, int options) {
  pid_t r;
  do r = waitpid(pid, status, options);
  while (r == -1 && errno == EINTR);
  return r;
}

/* Installs handler (a sa_handler, or a sa_sigaction when SA_SIGINFO is in
 * flags) for sig with an empty sa_mask. */
static inline int set_handler(int sig, void *handler, int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (flags & SA_SIGINFO)
    sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))handler;
  else
    sa.sa_handler = (void (*)(int))handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

/* Sets sig's disposition to SIG_DFL or SIG_IGN. */
static inline int set_disposition(int sig, void (*disp)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = disp;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

/* Blocks (how = SIG_BLOCK) or unblocks (SIG_UNBLOCK) one signal. */
static inline void mask_one(int how, int sig) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(how, &s, NULL);
}

static inline int is_pending(int sig) {
  sigset_t s;
  sigemptyset(&s);
  sigpending(&s);
  return sigismember(&s, sig) == 1;
}

static inline int is_blocked(int sig) {
  sigset_t s;
  sigemptyset(&s);
  sigprocmask(SIG_BLOCK, NULL, &s);
  return sigismember(&s, sig) == 1;
}

#endif
