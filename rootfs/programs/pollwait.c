/* pollwait: waiting on file descriptors - poll, ppoll, select, pselect,
 * epoll and eventfd, on pipes and eventfds only (no files, no sockets).
 *   1. poll: empty/readable read end, POLLOUT on a write end, event
 *      filtering, the same fd twice, negative fds, POLLHUP when every write
 *      end (a dup too) is closed, POLLERR on a write end without readers,
 *      EPIPE, POLLNVAL, timeouts, nfds over the limit;
 *   2. poll blocks until a forked child writes 100 ms later;
 *   3. ppoll: its sigmask lets a blocked, pending SIGUSR1 in (-1 EINTR, the
 *      handler ran, the old mask is back) or keeps it out (timeout);
 *      a child's SIGUSR1 sent while the parent waits;
 *   4. select: read/write/except bits, the count of ready bits, the nfds
 *      bound, EBADF, the timeout; pselect with a sigmask as for ppoll;
 *   5. epoll: create1, ADD/MOD/DEL, data.u64, level/edge-triggered,
 *      EPOLLONESHOT, EPOLLHUP/EPOLLERR, the errors (EEXIST, ENOENT, EINVAL,
 *      EBADF), close removes a registration only when the open file goes
 *      away, a blocking wait woken by a child, epoll_pwait with a sigmask;
 *   6. eventfd: counter sums, EFD_NONBLOCK, EFD_SEMAPHORE, EINVAL for
 *      short buffers and 2^64-1, the POLLOUT limit, poll/epoll, a blocking
 *      read woken by a child;
 *   7. O_NONBLOCK pipes: EAGAIN on empty and full, capacity 65536 bytes,
 *      POLLOUT only once a whole PIPE_BUF (4096 bytes) is free, partial
 *      non-blocking writes, fcntl F_GETFL/F_SETFL;
 *   8. poll, select and epoll_wait interrupted by an SA_RESTART handler
 *      still fail with EINTR (they are never restarted).
 * Children that write hold their fds until released, so their exit never
 * adds a POLLHUP to what the parent is looking at; signals sent by children
 * are blocked outside the masked waits (or repeated), so no timing can lose
 * one. Libc differences that do not show in the output: musl's select() is
 * the select syscall and glibc's is pselect6 (which also writes back the
 * time left, so that is never printed); musl's epoll_wait() is epoll_pwait
 * with a NULL mask.
 * Output: a header line, 192 check lines, "pollwait: PASS"; it takes about
 * 2 s. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>

#include "guest_test.h"

#define MS 1000000LL

static volatile int usr1_count;

static void on_usr1(int sig) {
  (void)sig;
  usr1_count++;
}

/* A call returned r (errno err) and reported events ev; it should have
 * returned want_r with events want_ev. */
__attribute__((format(printf, 6, 7))) static int check_ev(long r, int err, long want_r, unsigned ev, unsigned want_ev,
                                                          const char *fmt, ...) {
  int ok = r == want_r && ev == want_ev;
  va_list ap;
  va_start(ap, fmt);
  fputs(ok ? "ok - " : "not ok - ", stdout);
  vprintf(fmt, ap);
  va_end(ap);
  if (!ok) {
    if (r == -1)
      printf(" (got -1, %s)", errno_name(err));
    else
      printf(" (got %ld, %s)", r, ev_text(ev));
  }
  fputc('\n', stdout);
  if (!ok) gt_failures++;
  return ok;
}

/* poll() of one fd; *revents gets the result (preset to garbage so that a
 * kernel that does not write it is caught). Leaves errno alone. */
static int poll1(int fd, int events, int timeout, unsigned *revents) {
  struct pollfd p = {fd, (short)events, 0x7e};
  int r = poll(&p, 1, timeout);
  *revents = (unsigned short)p.revents;
  return r;
}

/* epoll_wait() for at most 4 events into out (zeroed first). */
static int ep_wait(int ep, struct epoll_event *out, int timeout) {
  memset(out, 0, 4 * sizeof *out);
  return epoll_wait(ep, out, 4, timeout);
}

/* epoll_wait returned r (errno err) with out[]: it should have returned
 * want_r, and when that is 1, one event want_ev with data want_data. */
__attribute__((format(printf, 7, 8))) static int check_ep(long r, int err, const struct epoll_event *out, long want_r,
                                                          unsigned want_ev, uint64_t want_data, const char *fmt, ...) {
  int ok = r == want_r && (want_r != 1 || (out[0].events == want_ev && out[0].data.u64 == want_data));
  va_list ap;
  va_start(ap, fmt);
  fputs(ok ? "ok - " : "not ok - ", stdout);
  vprintf(fmt, ap);
  va_end(ap);
  if (!ok) {
    if (r == -1)
      printf(" (got -1, %s)", errno_name(err));
    else if (r >= 1)
      printf(" (got %ld, first %s data %llu)", r, ev_text(out[0].events), (unsigned long long)out[0].data.u64);
    else
      printf(" (got %ld)", r);
  }
  fputc('\n', stdout);
  if (!ok) gt_failures++;
  return ok;
}

static int ep_ctl(int ep, int op, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  ev.data.u64 = data;
  return epoll_ctl(ep, op, fd, &ev);
}

/* A forked child that sleeps ms milliseconds, writes n bytes to fd, then
 * waits (keeping its copies of the fds open) until the parent releases it
 * with writer_done(), and exits 0 (2 if the write failed). Holding on
 * keeps the child's exit, which closes its write end, out of the parent's
 * wait. */
struct writer {
  pid_t pid;
  int release;
};

static struct writer writer_start(int ms, int fd, const void *buf, size_t n) {
  struct writer w = {-1, -1};
  int rel[2];
  if (pipe(rel) != 0) return w;
  w.pid = gt_fork();
  if (w.pid == 0) {
    close(rel[1]);
    sleep_ms(ms);
    int ok = write_all(fd, buf, n) == 0;
    char c;
    read_full(rel[0], &c, 1); /* returns at end of file */
    _exit(ok ? 0 : 2);
  }
  close(rel[0]);
  w.release = rel[1];
  return w;
}

static void reap(pid_t pid, const char *what) {
  int st = -1;
  if (pid < 0 || wait_for(pid, &st, 0) != pid) st = -1;
  check_status(st, 0, 0, "%s exited 0", what);
}

static void writer_done(struct writer w) {
  if (w.release >= 0) close(w.release);
  reap(w.pid, "the writing child");
}

static void poll_tests(void) {
  int p[2];
  unsigned ev;
  int r;
  char c;
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  r = poll1(p[0], POLLIN, 0, &ev);
  check_ev(r, errno, 0, ev, 0, "poll of an empty pipe's read end with timeout 0 returns 0, revents 0");
  r = poll1(p[1], POLLOUT, 0, &ev);
  check_ev(r, errno, 1, ev, POLLOUT, "poll of an empty pipe's write end gives POLLOUT");
  write_all(p[1], "x", 1);
  r = poll1(p[0], POLLIN, 0, &ev);
  check_ev(r, errno, 1, ev, POLLIN, "after a write the read end gives POLLIN");
  r = poll1(p[0], POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM, 0, &ev);
  check_ev(r, errno, 1, ev, POLLIN | POLLRDNORM,
           "asking a readable read end for POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM gives POLLIN|POLLRDNORM");
  r = poll1(p[0], 0, 0, &ev);
  check_ev(r, errno, 0, ev, 0, "events 0 on a readable read end gives revents 0 and returns 0");

  struct pollfd two[4] = {{p[0], POLLIN, 0x7e}, {-1, POLLIN, 0x7e}, {p[1], POLLOUT, 0x7e}, {p[0], POLLIN, 0x7e}};
  r = poll(two, 4, 0);
  check(r == 3 && two[0].revents == POLLIN && two[1].revents == 0 && two[2].revents == POLLOUT &&
            two[3].revents == POLLIN,
        "poll of {read end, -1, write end, read end again} returns 3; the negative fd gets revents 0");
  struct pollfd neg = {-5, POLLIN | POLLOUT, 0x7e};
  r = poll(&neg, 1, 0);
  check_ev(r, errno, 0, (unsigned short)neg.revents, 0, "poll of only a negative fd returns 0, revents 0");

  check_ret(read(p[0], &c, 1), 1, 0, "read the byte back");
  r = poll1(p[0], POLLIN, 0, &ev);
  check_ev(r, errno, 0, ev, 0, "drained: the read end is no longer ready");

  /* POLLHUP only when every write end is closed. */
  int w2 = dup(p[1]);
  close(p[1]);
  r = poll1(p[0], POLLIN, 0, &ev);
  check_ev(r, errno, 0, ev, 0, "with a dup of the write end still open the read end is not hung up");
  write_all(w2, "ab", 2);
  close(w2);
  r = poll1(p[0], POLLIN, 0, &ev);
  check_ev(r, errno, 1, ev, POLLIN | POLLHUP, "data left and every write end closed: POLLIN|POLLHUP");
  char buf2[8];
  check_ret(read(p[0], buf2, sizeof buf2), 2, 0, "read returns the 2 bytes left");
  r = poll1(p[0], POLLIN, 0, &ev);
  check_ev(r, errno, 1, ev, POLLHUP, "empty and no writers: POLLHUP only");
  r = poll1(p[0], 0, 0, &ev);
  check_ev(r, errno, 1, ev, POLLHUP, "POLLHUP is reported even when events is 0");
  check_ret(read(p[0], buf2, sizeof buf2), 0, 0, "read at end of file returns 0");
  close(p[0]);

  /* POLLERR on a write end whose read end is closed. */
  int q[2];
  if (pipe(q) != 0) {
    check(0, "pipe");
    return;
  }
  close(q[0]);
  r = poll1(q[1], POLLOUT, 0, &ev);
  check_ev(r, errno, 1, ev, POLLOUT | POLLERR, "the write end of a pipe without readers gives POLLOUT|POLLERR");
  r = poll1(q[1], 0, 0, &ev);
  check_ev(r, errno, 1, ev, POLLERR, "POLLERR is reported even when events is 0");
  set_disposition(SIGPIPE, SIG_IGN);
  check_ret(write(q[1], "x", 1), -1, EPIPE, "write to a pipe without readers (SIGPIPE ignored) gives EPIPE");
  set_disposition(SIGPIPE, SIG_DFL);
  close(q[1]);

  /* q[1] is now a closed descriptor number. */
  r = poll1(q[1], POLLIN, 0, &ev);
  check_ev(r, errno, 1, ev, POLLNVAL, "poll of a closed fd number gives POLLNVAL and counts it");
  r = poll1(q[1], 0, 0, &ev);
  check_ev(r, errno, 1, ev, POLLNVAL, "POLLNVAL is reported even when events is 0");

  int64_t t0 = mono_ns();
  r = poll(NULL, 0, 50);
  int e = errno;
  check(r == 0 && mono_ns() - t0 >= 50 * MS, "poll of no fds with timeout 50 ms returns 0 after at least 50 ms%s%s",
        r == -1 ? " - got " : "", r == -1 ? errno_name(e) : "");
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  t0 = mono_ns();
  r = poll1(p[0], POLLIN, 50, &ev);
  int64_t dt = mono_ns() - t0;
  check(r == 0 && ev == 0 && dt >= 50 * MS, "poll of an empty pipe with timeout 50 ms returns 0 after at least 50 ms");
  struct pollfd one = {p[0], POLLIN, 0};
  volatile nfds_t huge = UINT_MAX; /* volatile: gcc sees the overflow */
  check_ret(poll(&one, huge, 0), -1, EINVAL, "poll with nfds over RLIMIT_NOFILE gives EINVAL");
  close(p[0]);
  close(p[1]);
}

static void poll_block_test(void) {
  int p[2];
  unsigned ev;
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  int64_t t0 = mono_ns();
  struct writer w = writer_start(100, p[1], "w", 1);
  close(p[1]);
  int r = poll1(p[0], POLLIN, 5000, &ev);
  int64_t dt = mono_ns() - t0;
  check_ev(r, errno, 1, ev, POLLIN, "poll blocks until a child writes 100 ms later: returns 1, POLLIN");
  check(dt >= 100 * MS, "poll returned no earlier than the child's write");
  writer_done(w);
  r = poll1(p[0], POLLIN, 0, &ev);
  check_ev(r, errno, 1, ev, POLLIN | POLLHUP, "after the child exits the read end gives POLLIN|POLLHUP");
  close(p[0]);
}

/* The sigmask tests of ppoll, pselect and epoll_pwait. wait_fn waits on
 * an empty pipe read end for up to timeout_ms with the given sigmask and
 * returns the call's result (errno set). */
typedef int (*masked_wait_fn)(int fd, int timeout_ms, const sigset_t *mask);

static void sigmask_tests(const char *name, masked_wait_fn wait_fn) {
  int p[2];
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  set_handler(SIGUSR1, (void *)on_usr1, 0);
  sigset_t old, blocked, none;
  sigemptyset(&none);
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigprocmask(SIG_BLOCK, &blocked, &old);
  usr1_count = 0;
  raise(SIGUSR1);
  int r = wait_fn(p[0], 50, &blocked);
  int e = errno;
  check(r == 0 && usr1_count == 0 && is_pending(SIGUSR1),
        "%s whose mask blocks the pending SIGUSR1 times out: returns 0, the signal stays pending%s%s", name,
        r == -1 ? " - got " : "", r == -1 ? errno_name(e) : "");
  r = wait_fn(p[0], 5000, &none);
  e = errno;
  check(r == -1 && e == EINTR && usr1_count == 1,
        "%s whose mask lets the pending SIGUSR1 in: -1 EINTR, the handler ran once%s%s", name,
        r != -1 ? " - returned " : (e != EINTR ? " - got " : ""),
        r != -1 ? (r == 0 ? "0" : "> 0") : (e != EINTR ? errno_name(e) : ""));
  check(is_blocked(SIGUSR1) && !is_pending(SIGUSR1), "after %s the old mask is back: SIGUSR1 blocked, none pending",
        name);

  /* A child sends SIGUSR1 100 ms later. It is blocked outside the call, so
   * it cannot be lost before the call starts. */
  pid_t parent = getpid();
  usr1_count = 0;
  pid_t pid = gt_fork();
  if (pid == 0) {
    sleep_ms(100);
    _exit(kill(parent, SIGUSR1) == 0 ? 0 : 2);
  }
  r = wait_fn(p[0], 5000, &none);
  e = errno;
  check(r == -1 && e == EINTR && usr1_count == 1,
        "%s is interrupted by a child's SIGUSR1 that its mask lets in: -1 EINTR, the handler ran%s%s", name,
        r == -1 ? (e != EINTR ? " - got " : "") : " - no EINTR", r == -1 && e != EINTR ? errno_name(e) : "");
  reap(pid, "the signalling child");
  sigprocmask(SIG_SETMASK, &old, NULL);
  set_disposition(SIGUSR1, SIG_DFL);
  close(p[0]);
  close(p[1]);
}

static int ppoll_wait(int fd, int timeout_ms, const sigset_t *mask) {
  struct pollfd p = {fd, POLLIN, 0};
  struct timespec ts = ns_to_ts(timeout_ms * MS);
  return ppoll(&p, 1, &ts, mask);
}

static void ppoll_tests(void) {
  int p[2];
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  struct pollfd pf = {p[0], POLLIN, 0x7e};
  struct timespec zero = {0, 0};
  int r = ppoll(&pf, 1, &zero, NULL);
  check_ev(r, errno, 0, (unsigned short)pf.revents, 0, "ppoll with a zero timeout and no sigmask returns 0");
  write_all(p[1], "x", 1);
  pf.revents = 0x7e;
  r = ppoll(&pf, 1, NULL, NULL);
  check_ev(r, errno, 1, (unsigned short)pf.revents, POLLIN,
           "ppoll with no timeout on a readable read end returns 1, POLLIN");
  struct timespec bad = {0, 1000000000};
  check_ret(ppoll(&pf, 1, &bad, NULL), -1, EINVAL, "ppoll with tv_nsec = 1e9 gives EINVAL");
  struct timespec t50 = {0, 50 * MS};
  pf.fd = p[1];
  pf.events = POLLIN; /* never true for a write end */
  int64_t t0 = mono_ns();
  r = ppoll(&pf, 1, &t50, NULL);
  check(r == 0 && mono_ns() - t0 >= 50 * MS, "ppoll with a 50 ms timeout returns 0 after at least 50 ms");
  close(p[0]);
  close(p[1]);
  sigmask_tests("ppoll", ppoll_wait);
}

static int pselect_wait(int fd, int timeout_ms, const sigset_t *mask) {
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  struct timespec ts = ns_to_ts(timeout_ms * MS);
  return pselect(fd + 1, &rd, NULL, NULL, &ts, mask);
}

static int max3(int a, int b, int c) {
  int m = a > b ? a : b;
  return m > c ? m : c;
}

static void select_tests(void) {
  int a[2], b[2];
  if (pipe(a) != 0 || pipe(b) != 0) {
    check(0, "pipe");
    return;
  }
  write_all(b[1], "y", 1);
  int nfds = max3(a[0], a[1], max3(b[0], b[1], 0)) + 1;
  fd_set rd, wr, ex;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_ZERO(&ex);
  FD_SET(a[0], &rd);
  FD_SET(b[0], &rd);
  FD_SET(a[1], &wr);
  FD_SET(b[0], &wr); /* a read end is never writable */
  FD_SET(a[0], &ex);
  FD_SET(b[0], &ex);
  struct timeval tv = {0, 0};
  int r = select(nfds, &rd, &wr, &ex, &tv);
  int e = errno;
  check_call(r, e, 2, 0, "select (timeout 0) of {a, b read ends} {a write end, b read end} returns 2");
  check(!FD_ISSET(a[0], &rd) && FD_ISSET(b[0], &rd), "readfds: only b's read end (it has data) is left set");
  check(FD_ISSET(a[1], &wr) && !FD_ISSET(b[0], &wr), "writefds: only a's write end is left set");
  check(!FD_ISSET(a[0], &ex) && !FD_ISSET(b[0], &ex), "exceptfds: cleared (pipes have no exceptions)");

  FD_ZERO(&rd);
  FD_SET(b[0], &rd);
  tv.tv_sec = 0;
  tv.tv_usec = 0;
  check_ret(select(b[0], &rd, NULL, NULL, &tv), 0, 0, "select with nfds = the ready fd does not look at that fd");
  FD_ZERO(&rd);
  FD_SET(b[0], &rd);
  tv.tv_usec = 0;
  check_ret(select(b[0] + 1, &rd, NULL, NULL, &tv), 1, 0, "select with nfds = the ready fd + 1 finds it");
  tv.tv_usec = 0;
  check_ret(select(-1, NULL, NULL, NULL, &tv), -1, EINVAL, "select with nfds -1 gives EINVAL");
  tv.tv_sec = 0;
  tv.tv_usec = -1;
  check_ret(select(nfds, NULL, NULL, NULL, &tv), -1, EINVAL, "select with tv_usec -1 gives EINVAL");

  int efd = eventfd(1, 0);
  if (efd >= 0) {
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(efd, &rd);
    FD_SET(efd, &wr);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    r = select(efd + 1, &rd, &wr, NULL, &tv);
    e = errno;
    check_call(r, e, 2, 0, "select counts ready bits: an eventfd (count 1) in readfds and writefds gives 2");
    check(FD_ISSET(efd, &rd) && FD_ISSET(efd, &wr), "both of the eventfd's bits are left set");
    close(efd);
  } else {
    check(0, "eventfd(1, 0) for select (%s)", errno_name(errno));
  }

  int c[2];
  if (pipe(c) != 0) {
    check(0, "pipe");
    return;
  }
  int closed = c[0];
  close(c[0]);
  close(c[1]);
  FD_ZERO(&rd);
  FD_SET(b[0], &rd);
  FD_SET(closed, &rd);
  tv.tv_sec = 0;
  tv.tv_usec = 0;
  int n2 = (closed > b[0] ? closed : b[0]) + 1;
  check_ret(select(n2, &rd, NULL, NULL, &tv), -1, EBADF, "select with a closed fd in readfds gives EBADF");

  FD_ZERO(&rd);
  FD_SET(a[0], &rd);
  tv.tv_sec = 0;
  tv.tv_usec = 50000;
  int64_t t0 = mono_ns();
  r = select(a[0] + 1, &rd, NULL, NULL, &tv);
  int64_t dt = mono_ns() - t0;
  check(r == 0 && dt >= 50 * MS && !FD_ISSET(a[0], &rd),
        "select with a 50 ms timeval on an empty pipe returns 0 after at least 50 ms, bit cleared");
  tv.tv_sec = 0;
  tv.tv_usec = 50000;
  t0 = mono_ns();
  r = select(0, NULL, NULL, NULL, &tv);
  dt = mono_ns() - t0;
  check(r == 0 && dt >= 50 * MS, "select of no fds with a 50 ms timeval returns 0 after at least 50 ms");

  /* Blocking select (no timeout) woken by a child's write. */
  int64_t t1 = mono_ns();
  struct writer w = writer_start(100, a[1], "z", 1);
  FD_ZERO(&rd);
  FD_SET(a[0], &rd);
  r = select(a[0] + 1, &rd, NULL, NULL, NULL);
  e = errno;
  dt = mono_ns() - t1;
  check(r == 1 && FD_ISSET(a[0], &rd) && dt >= 100 * MS,
        "select with no timeout blocks until a child writes 100 ms later%s%s", r == -1 ? " - got " : "",
        r == -1 ? errno_name(e) : "");
  writer_done(w);

  struct timespec ts0 = {0, 0};
  FD_ZERO(&rd);
  FD_SET(a[0], &rd);
  FD_SET(b[0], &rd);
  r = pselect(nfds, &rd, NULL, NULL, &ts0, NULL);
  e = errno;
  check(r == 2 && FD_ISSET(a[0], &rd) && FD_ISSET(b[0], &rd),
        "pselect (timespec 0, no sigmask) finds both read ends readable%s%s", r == -1 ? " - got " : "",
        r == -1 ? errno_name(e) : "");
  struct timespec bad = {0, 1000000000};
  check_ret(pselect(nfds, &rd, NULL, NULL, &bad, NULL), -1, EINVAL, "pselect with tv_nsec = 1e9 gives EINVAL");
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
  sigmask_tests("pselect", pselect_wait);
}

static int g_ep_for_pwait = -1;

static int epoll_pwait_wait(int fd, int timeout_ms, const sigset_t *mask) {
  (void)fd; /* registered in g_ep_for_pwait */
  struct epoll_event out[4];
  memset(out, 0, sizeof out);
  return epoll_pwait(g_ep_for_pwait, out, 4, timeout_ms, mask);
}

static void epoll_tests(void) {
  struct epoll_event out[4];
  int p[2];
  int r;
  check_ret(epoll_create1(0x1234), -1, EINVAL, "epoll_create1 with unknown flags gives EINVAL");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (!check(ep >= 0, "epoll_create1(EPOLL_CLOEXEC) returns an fd")) return;
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 42), 0, 0, "EPOLL_CTL_ADD the read end, EPOLLIN, data.u64 42");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "epoll_wait with timeout 0 on the empty pipe returns 0");
  write_all(p[1], "ab", 2);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 42, "after a write epoll_wait returns 1: EPOLLIN, data.u64 42");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 42, "level-triggered: still reported while unread");
  char buf[16];
  check_ret(read(p[0], buf, 1), 1, 0, "read 1 of the 2 bytes");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 42, "level-triggered: reported again with 1 byte left");
  check_ret(read(p[0], buf, sizeof buf), 1, 0, "read the last byte");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "level-triggered: drained, epoll_wait returns 0");

  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1), -1, EEXIST, "ADD of an fd already added gives EEXIST");
  check_ret(ep_ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 1), -1, ENOENT, "MOD of an fd not added gives ENOENT");
  check_ret(ep_ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0), -1, ENOENT, "DEL of an fd not added gives ENOENT");
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 1), -1, EINVAL, "ADD of the epoll fd to itself gives EINVAL");
  check_ret(ep_ctl(p[0], EPOLL_CTL_ADD, p[1], EPOLLOUT, 1), -1, EINVAL,
            "epoll_ctl on an epfd that is not an epoll fd gives EINVAL");
  check_ret(ep_ctl(ep, 99, p[1], EPOLLOUT, 1), -1, EINVAL, "epoll_ctl with an unknown op gives EINVAL");
  memset(out, 0, sizeof out);
  check_ret(epoll_wait(ep, out, 0, 0), -1, EINVAL, "epoll_wait with maxevents 0 gives EINVAL");
  check_ret(epoll_wait(p[0], out, 4, 0), -1, EINVAL, "epoll_wait on an fd that is not an epoll fd gives EINVAL");

  /* Both ends: the write end reports EPOLLOUT, two events in one call. */
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 7), 0, 0, "ADD the write end, EPOLLOUT, data.u64 7");
  write_all(p[1], "c", 1);
  r = ep_wait(ep, out, 0);
  {
    int got42 = 0, got7 = 0;
    for (int i = 0; i < r && i < 4; i++) {
      if (out[i].data.u64 == 42 && out[i].events == EPOLLIN) got42++;
      if (out[i].data.u64 == 7 && out[i].events == EPOLLOUT) got7++;
    }
    check(r == 2 && got42 == 1 && got7 == 1,
          "epoll_wait returns 2 events: EPOLLIN (data 42) and EPOLLOUT (data 7)");
  }
  memset(out, 0, sizeof out);
  r = epoll_wait(ep, out, 1, 0);
  check(r == 1, "epoll_wait with maxevents 1 returns 1 of the 2 ready events");
  check_ret(ep_ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0), 0, 0, "DEL the write end");

  /* MOD: change events and data. */
  check_ret(ep_ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 43), 0, 0, "MOD the read end to data.u64 43");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 43, "epoll_wait reports the new data 43");
  check_ret(ep_ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLOUT, 44), 0, 0, "MOD the read end to EPOLLOUT only");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "a readable read end watched for EPOLLOUT is not reported");
  check_ret(ep_ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0), 0, 0, "DEL the read end");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "after DEL epoll_wait returns 0 although the pipe has data");
  check_ret(read(p[0], buf, sizeof buf), 1, 0, "drain the pipe");

  /* Edge-triggered. */
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLET, 50), 0, 0, "ADD the read end with EPOLLIN|EPOLLET");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "EPOLLET: nothing before a write");
  write_all(p[1], "d", 1);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 50, "EPOLLET: a write is reported once");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "EPOLLET: not again while the data stays unread");
  write_all(p[1], "e", 1);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 50, "EPOLLET: a second write is reported once more");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "EPOLLET: and then not again");
  check_ret(read(p[0], buf, sizeof buf), 2, 0, "read both bytes");
  check_ret(ep_ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0), 0, 0, "DEL the edge-triggered read end");

  /* One-shot. */
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLONESHOT, 60), 0, 0,
            "ADD the read end with EPOLLIN|EPOLLONESHOT");
  write_all(p[1], "f", 1);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 60, "EPOLLONESHOT: reported once");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "EPOLLONESHOT: then disabled although still readable");
  write_all(p[1], "g", 1);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "EPOLLONESHOT: a new write does not re-enable it");
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 61), -1, EEXIST, "a disabled one-shot fd is still added (EEXIST)");
  check_ret(ep_ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 61), 0, 0, "re-arm it with MOD");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 61, "EPOLLONESHOT: reported again after MOD");
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "EPOLLONESHOT: and disabled again");
  check_ret(read(p[0], buf, sizeof buf), 2, 0, "read both bytes");
  check_ret(ep_ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0), 0, 0, "DEL the one-shot read end");

  /* Blocking epoll_wait woken by a child. */
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 42), 0, 0, "ADD the read end again (data 42)");
  int64_t t0 = mono_ns();
  r = ep_wait(ep, out, 50);
  int64_t dt = mono_ns() - t0;
  check(r == 0 && dt >= 50 * MS, "epoll_wait with a 50 ms timeout returns 0 after at least 50 ms");
  t0 = mono_ns();
  struct writer w = writer_start(100, p[1], "h", 1);
  r = ep_wait(ep, out, 5000);
  dt = mono_ns() - t0;
  check_ep(r, errno, out, 1, EPOLLIN, 42, "epoll_wait blocks until a child writes 100 ms later: EPOLLIN, data 42");
  check(dt >= 100 * MS, "epoll_wait returned no earlier than the child's write");
  writer_done(w);
  check_ret(read(p[0], buf, sizeof buf), 1, 0, "read the child's byte");
  t0 = mono_ns();
  w = writer_start(100, p[1], "i", 1);
  r = ep_wait(ep, out, -1);
  dt = mono_ns() - t0;
  check_ep(r, errno, out, 1, EPOLLIN, 42, "epoll_wait with timeout -1 blocks until a child's write");
  writer_done(w);
  check_ret(read(p[0], buf, sizeof buf), 1, 0, "read the child's byte");

  /* EPOLLHUP / EPOLLERR are always reported. */
  close(p[1]);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLHUP, 42, "all write ends closed: EPOLLHUP, not requested");
  close(p[0]);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "closing the only fd of a registered pipe end removes it");
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 8), 0, 0, "ADD a write end, EPOLLOUT, data 8");
  close(p[0]);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLOUT | EPOLLERR, 8, "its read end closed: EPOLLOUT|EPOLLERR");
  close(p[1]);
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLIN, 1), -1, EBADF, "ADD of a closed fd gives EBADF");

  /* A registration belongs to the open file: a dup keeps it alive. */
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  check_ret(ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 9), 0, 0, "ADD a read end (data 9), then dup it and close it");
  int d = dup(p[0]);
  close(p[0]);
  write_all(p[1], "j", 1);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 1, EPOLLIN, 9, "the closed fd's registration still reports (its file is open via the dup)");
  close(d);
  r = ep_wait(ep, out, 0);
  check_ep(r, errno, out, 0, 0, 0, "closing the dup too removes the registration");
  close(p[1]);
  close(ep);

  /* epoll_pwait and its sigmask. */
  ep = epoll_create1(0);
  if (!check(ep >= 0, "epoll_create1(0) returns an fd")) return;
  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 5);
  memset(out, 0, sizeof out);
  r = epoll_pwait(ep, out, 4, 0, NULL);
  check_ep(r, errno, out, 0, 0, 0, "epoll_pwait with no sigmask and timeout 0 returns 0");
  write_all(p[1], "k", 1);
  r = epoll_pwait(ep, out, 4, 0, NULL);
  check_ep(r, errno, out, 1, EPOLLIN, 5, "epoll_pwait after a write: EPOLLIN, data 5");
  read(p[0], buf, sizeof buf);
  g_ep_for_pwait = ep;
  sigmask_tests("epoll_pwait", epoll_pwait_wait);
  g_ep_for_pwait = -1;
  close(p[0]);
  close(p[1]);
  close(ep);
}

static void eventfd_tests(void) {
  uint64_t v = 0;
  unsigned ev;
  int r;
  check_ret(eventfd(0, 0x2), -1, EINVAL, "eventfd with an unknown flag gives EINVAL");
  int fd = eventfd(3, EFD_CLOEXEC);
  if (!check(fd >= 0, "eventfd(3, EFD_CLOEXEC) returns an fd")) return;
  int fl = fcntl(fd, F_GETFL);
  check(fl != -1 && (fl & (O_ACCMODE | O_NONBLOCK)) == O_RDWR, "F_GETFL: O_RDWR, blocking");
  r = poll1(fd, POLLIN | POLLOUT, 0, &ev);
  check_ev(r, errno, 1, ev, POLLIN | POLLOUT, "poll of an eventfd with count 3: POLLIN|POLLOUT");
  v = 4;
  check_ret(write(fd, &v, 8), 8, 0, "write 4 returns 8");
  v = 0;
  check_ret(read(fd, &v, 8), 8, 0, "read returns 8 bytes");
  check(v == 7, "the value read is the initial 3 + 4 = 7");
  r = poll1(fd, POLLIN | POLLOUT, 0, &ev);
  check_ev(r, errno, 1, ev, POLLOUT, "after the read the count is 0: POLLOUT only");
  char big[16];
  v = 9;
  write(fd, &v, 8);
  check_ret(read(fd, big, sizeof big), 8, 0, "read with a 16-byte buffer returns 8");
  check_ret(read(fd, big, 4), -1, EINVAL, "read with a 4-byte buffer gives EINVAL");
  check_ret(write(fd, big, 4), -1, EINVAL, "write of 4 bytes gives EINVAL");
  v = UINT64_MAX;
  check_ret(write(fd, &v, 8), -1, EINVAL, "write of 0xffffffffffffffff gives EINVAL");
  v = 0;
  check_ret(write(fd, &v, 8), 8, 0, "write of 0 returns 8");
  r = poll1(fd, POLLIN, 0, &ev);
  check_ev(r, errno, 0, ev, 0, "writing 0 leaves the count 0: not readable");

  /* Blocking read woken by a child. */
  uint64_t five = 5;
  int64_t t0 = mono_ns();
  struct writer w = writer_start(100, fd, &five, 8);
  v = 0;
  r = (int)read(fd, &v, 8);
  int e = errno;
  int64_t dt = mono_ns() - t0;
  check(r == 8 && v == 5 && dt >= 100 * MS, "a blocking read of count 0 waits for a child's write of 5 (100 ms later)%s%s",
        r == -1 ? " - got " : "", r == -1 ? errno_name(e) : "");
  writer_done(w);
  close(fd);

  fd = eventfd(0, EFD_NONBLOCK);
  if (!check(fd >= 0, "eventfd(0, EFD_NONBLOCK) returns an fd")) return;
  fl = fcntl(fd, F_GETFL);
  check(fl != -1 && (fl & (O_ACCMODE | O_NONBLOCK)) == (O_RDWR | O_NONBLOCK), "F_GETFL: O_RDWR|O_NONBLOCK");
  check_ret(read(fd, &v, 8), -1, EAGAIN, "EFD_NONBLOCK: read of count 0 gives EAGAIN");
  v = UINT64_MAX - 1;
  check_ret(write(fd, &v, 8), 8, 0, "write of the maximum 0xfffffffffffffffe returns 8");
  r = poll1(fd, POLLIN | POLLOUT, 0, &ev);
  check_ev(r, errno, 1, ev, POLLIN, "at the maximum count: POLLIN, no POLLOUT");
  v = 1;
  check_ret(write(fd, &v, 8), -1, EAGAIN, "EFD_NONBLOCK: a write past the maximum gives EAGAIN");
  v = 0;
  check_ret(read(fd, &v, 8), 8, 0, "read the maximum");
  check(v == UINT64_MAX - 1, "the value read is 0xfffffffffffffffe");
  close(fd);

  fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  if (!check(fd >= 0, "eventfd(3, EFD_SEMAPHORE|EFD_NONBLOCK) returns an fd")) return;
  int ones = 0;
  for (int i = 0; i < 3; i++) {
    v = 0;
    if (read(fd, &v, 8) == 8 && v == 1) ones++;
  }
  check(ones == 3, "EFD_SEMAPHORE: three reads of count 3 each return 1");
  check_ret(read(fd, &v, 8), -1, EAGAIN, "EFD_SEMAPHORE: a fourth read gives EAGAIN");
  v = 2;
  write(fd, &v, 8);
  r = poll1(fd, POLLIN, 0, &ev);
  check_ev(r, errno, 1, ev, POLLIN, "EFD_SEMAPHORE: after a write of 2 it is readable");
  v = 0;
  read(fd, &v, 8);
  check(v == 1, "EFD_SEMAPHORE: the read after the write of 2 returns 1");

  /* epoll on an eventfd. */
  int ep = epoll_create1(0);
  struct epoll_event out[4];
  if (ep >= 0) {
    check_ret(ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 77), 0, 0, "epoll ADD of the eventfd, EPOLLIN, data 77");
    r = ep_wait(ep, out, 0);
    check_ep(r, errno, out, 1, EPOLLIN, 77, "count 1: epoll reports EPOLLIN, data 77");
    read(fd, &v, 8);
    r = ep_wait(ep, out, 0);
    check_ep(r, errno, out, 0, 0, 0, "count 0: epoll returns 0");
    int64_t t1 = mono_ns();
    w = writer_start(100, fd, &five, 8);
    r = ep_wait(ep, out, 5000);
    dt = mono_ns() - t1;
    check_ep(r, errno, out, 1, EPOLLIN, 77, "epoll_wait on the eventfd blocks until a child writes 100 ms later");
    check(dt >= 100 * MS, "epoll_wait returned no earlier than the child's write");
    writer_done(w);
    close(ep);
  } else {
    check(0, "epoll_create1 for the eventfd (%s)", errno_name(errno));
  }
  close(fd);
}

static void nonblock_pipe_tests(void) {
  int p[2];
  unsigned ev;
  int r;
  char buf[8192];
  if (pipe2(p, O_NONBLOCK) != 0) {
    check(0, "pipe2(O_NONBLOCK) (%s)", errno_name(errno));
    return;
  }
  int fl0 = fcntl(p[0], F_GETFL), fl1 = fcntl(p[1], F_GETFL);
  check(fl0 != -1 && (fl0 & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK) && fl1 != -1 &&
            (fl1 & (O_ACCMODE | O_NONBLOCK)) == (O_WRONLY | O_NONBLOCK),
        "pipe2(O_NONBLOCK): F_GETFL gives O_RDONLY|O_NONBLOCK and O_WRONLY|O_NONBLOCK");
  check_ret(read(p[0], buf, 1), -1, EAGAIN, "read of an empty non-blocking pipe gives EAGAIN");

  memset(buf, 'p', sizeof buf);
  long total = 0;
  int e = 0;
  for (int i = 0; i < 1024; i++) {
    ssize_t w = write(p[1], buf, 4096);
    if (w < 0) {
      e = errno;
      break;
    }
    total += w;
    if (w != 4096) break;
  }
  check(total == 65536 && e == EAGAIN, "writing 4096-byte chunks fills the pipe at 65536 bytes, then EAGAIN%s",
        total == 65536 && e == EAGAIN ? "" : " (other total or error)");
  check_ret(write(p[1], buf, 1), -1, EAGAIN, "a 1-byte write to the full pipe gives EAGAIN");
  r = poll1(p[1], POLLOUT, 0, &ev);
  check_ev(r, errno, 0, ev, 0, "a full pipe's write end has no POLLOUT");
  r = poll1(p[0], POLLIN, 0, &ev);
  check_ev(r, errno, 1, ev, POLLIN, "a full pipe's read end has POLLIN");
  check_ret(read(p[0], buf, 1), 1, 0, "read 1 byte");
  r = poll1(p[1], POLLOUT, 0, &ev);
  check_ev(r, errno, 0, ev, 0, "1 byte free (< PIPE_BUF): still no POLLOUT");
  check_ret(read(p[0], buf, 4095), 4095, 0, "read 4095 more bytes");
  r = poll1(p[1], POLLOUT, 0, &ev);
  check_ev(r, errno, 1, ev, POLLOUT, "4096 bytes (PIPE_BUF) free: POLLOUT");
  check_ret(write(p[1], buf, 8192), 4096, 0, "a non-blocking 8192-byte write with 4096 free writes 4096");
  r = poll1(p[1], POLLOUT, 0, &ev);
  check_ev(r, errno, 0, ev, 0, "full again: no POLLOUT");
  check_ret(write(p[1], buf, 1), -1, EAGAIN, "and a 1-byte write gives EAGAIN");
  total = 0;
  e = 0;
  for (int i = 0; i < 1024; i++) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n <= 0) {
      e = n < 0 ? errno : 0;
      break;
    }
    total += n;
  }
  check(total == 65536 && e == EAGAIN, "reading it all back gives 65536 bytes, then EAGAIN");
  close(p[1]);
  check_ret(read(p[0], buf, 1), 0, 0, "a non-blocking read with no writers left returns 0 (end of file)");
  close(p[0]);

  if (pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  fl0 = fcntl(p[0], F_GETFL);
  check(fl0 != -1 && !(fl0 & O_NONBLOCK), "pipe(): the read end is blocking");
  check_ret(fcntl(p[0], F_SETFL, fl0 | O_NONBLOCK), 0, 0, "F_SETFL O_NONBLOCK on the read end");
  fl0 = fcntl(p[0], F_GETFL);
  check(fl0 != -1 && (fl0 & O_NONBLOCK), "F_GETFL shows O_NONBLOCK");
  check_ret(read(p[0], buf, 1), -1, EAGAIN, "the read end now gives EAGAIN when empty");
  int d = dup(p[0]);
  fl1 = fcntl(d, F_GETFL);
  check(fl1 != -1 && (fl1 & O_NONBLOCK), "a dup shares the open file's O_NONBLOCK");
  close(d);
  check_ret(fcntl(p[0], F_SETFL, fl0 & ~O_NONBLOCK), 0, 0, "F_SETFL clears O_NONBLOCK");
  struct writer w = writer_start(100, p[1], "q", 1);
  check_ret(read(p[0], buf, 1), 1, 0, "the read end blocks again: a child's write 100 ms later is read");
  writer_done(w);
  close(p[0]);
  close(p[1]);
}

/* poll, select and epoll_wait are never restarted after a handler, even
 * with SA_RESTART. A child sends SIGUSR1 every 100 ms until the parent
 * closes the stop pipe, so every wait (5 s timeout) is interrupted. */
static void restart_tests(void) {
  int stop[2], p[2];
  if (pipe(stop) != 0 || pipe(p) != 0) {
    check(0, "pipe");
    return;
  }
  set_handler(SIGUSR1, (void *)on_usr1, SA_RESTART);
  usr1_count = 0;
  pid_t parent = getpid();
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(stop[1]);
    fcntl(stop[0], F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 200; i++) {
      sleep_ms(100);
      char c;
      if (read(stop[0], &c, 1) == 0) _exit(0);
      kill(parent, SIGUSR1);
    }
    _exit(3);
  }
  close(stop[0]);

  int before = usr1_count;
  unsigned ev;
  int r = poll1(p[0], POLLIN, 5000, &ev);
  int e = errno;
  check(r == -1 && e == EINTR && usr1_count > before, "poll interrupted by an SA_RESTART handler gives EINTR%s%s",
        r == -1 ? (e == EINTR ? "" : " - got ") : " - no EINTR", r == -1 && e != EINTR ? errno_name(e) : "");

  before = usr1_count;
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  struct timeval tv = {5, 0};
  r = select(p[0] + 1, &rd, NULL, NULL, &tv);
  e = errno;
  check(r == -1 && e == EINTR && usr1_count > before, "select interrupted by an SA_RESTART handler gives EINTR%s%s",
        r == -1 ? (e == EINTR ? "" : " - got ") : " - no EINTR", r == -1 && e != EINTR ? errno_name(e) : "");

  int ep = epoll_create1(0);
  if (ep >= 0) {
    ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1);
    struct epoll_event out[4];
    before = usr1_count;
    r = ep_wait(ep, out, 5000);
    e = errno;
    check(r == -1 && e == EINTR && usr1_count > before,
          "epoll_wait interrupted by an SA_RESTART handler gives EINTR%s%s",
          r == -1 ? (e == EINTR ? "" : " - got ") : " - no EINTR", r == -1 && e != EINTR ? errno_name(e) : "");
    close(ep);
  } else {
    check(0, "epoll_create1 (%s)", errno_name(errno));
  }
  close(stop[1]);
  int st = -1;
  if (wait_for(pid, &st, 0) != pid) st = -1;
  check_status(st, 0, 0, "the signalling child exited 0");
  set_disposition(SIGUSR1, SIG_DFL);
  close(p[0]);
  close(p[1]);
}

int main(void) {
  printf("pollwait: poll, ppoll, select, pselect, epoll and eventfd on pipes\n");
  poll_tests();
  poll_block_test();
  ppoll_tests();
  select_tests();
  epoll_tests();
  eventfd_tests();
  nonblock_pipe_tests();
  restart_tests();
  return finish("pollwait");
}
