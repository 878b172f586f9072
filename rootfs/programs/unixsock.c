/* unixsock DIR: AF_UNIX sockets, with path names made in DIR (the program
 * works in DIR and names its sockets relative to it, so sun_path stays
 * short and the output holds no directory names).
 *   1. socket(): families, types, protocols and flags with their errnos;
 *      SO_TYPE/SO_DOMAIN/SO_PROTOCOL; fstat (S_IFSOCK 0777); the
 *      /proc/self/fd link socket:[INODE] and ENXIO on reopening it;
 *      ENOTSOCK and EBADF for every socket call; EFAULT;
 *   2. stream socketpair: read/write, readv/writev, MSG_PEEK, MSG_DONTWAIT,
 *      FIONREAD, MSG_WAITALL from a child, names, SO_PEERCRED, poll,
 *      shutdown (EOF, EPIPE with SIGPIPE unless MSG_NOSIGNAL), a peer that
 *      closes with or without unread data (ECONNRESET), 1 MiB through a
 *      blocking pipe-like stream from a child, a full non-blocking buffer,
 *      SO_SNDBUF/SO_RCVBUF, EINTR and SA_RESTART, SO_RCVTIMEO/SO_SNDTIMEO;
 *   3. datagram socketpair: boundaries, MSG_TRUNC (flag and length),
 *      FIONREAD, empty datagrams, EMSGSIZE, readv/writev, a closed peer
 *      (ECONNREFUSED, then ENOTCONN), shutdown;
 *   4. seqpacket socketpair: records, truncation, end of file, ECONNRESET;
 *   5. path names: the socket node (stat, mode from the umask, open gives
 *      ENXIO), EADDRINUSE, EINVAL, ENOENT, listen/backlog/non-blocking
 *      connect (EAGAIN), accept4 flags and addresses, EISCONN, ECONNREFUSED
 *      (no socket, stale name, not listening), EPROTOTYPE, EACCES for an
 *      unprivileged child, rename and hard links, unlink, a listener closed
 *      with a connection in its queue;
 *   6. a server and a client in two processes; a blocking connect waiting
 *      for room in the backlog;
 *   7. datagram names: unnamed and named sources, abstract names (one name
 *      space per type), autobind, SO_PASSCRED autobind, connect (EPERM,
 *      AF_UNSPEC), the receive queue limit (EAGAIN, poll, a blocking send
 *      woken by a reader), ECONNREFUSED, ENOENT;
 *   8. SCM_RIGHTS: files from a child (a pipe, a file whose offset is then
 *      shared, a socket), MSG_CMSG_CLOEXEC, MSG_CTRUNC, errors, a stream
 *      receive that stops after the message with files, MSG_PEEK;
 *   9. SCM_CREDENTIALS and SO_PEERCRED: implicit and explicit credentials,
 *      real versus effective ids, EPERM/ESRCH/EINVAL, streams that do not
 *      glue two writers' bytes;
 *  10. socket options and their errnos;
 *  11. epoll (edge-triggered) and select on sockets; sendmmsg/recvmmsg.
 * Only the parent prints; children report through their exit status or
 * a pipe. Nothing printed depends on pids, inode numbers or times.
 * Output: check lines and "unixsock: PASS". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "guest_test.h"

/* An unmapped user address (volatile: the compiler must not reason about it). */
static void *volatile bad_ptr = (void *)1;
#define BAD_PTR bad_ptr

static volatile int sigpipes, alarms;
static void on_sigpipe(int sig) {
  (void)sig;
  sigpipes++;
}
static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

/* ---- addresses ---- */

static socklen_t path_addr(struct sockaddr_un *a, const char *path) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, path);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  memcpy(a->sun_path + 1, name, strlen(name));
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

/* An address in words: "unnamed", "@name" (abstract; an autobind name is
 * "@<5 hex digits>"), or the path; with its length. */
static const char *addr_text(const struct sockaddr_un *a, socklen_t len) {
  static char buf[256];
  size_t off = offsetof(struct sockaddr_un, sun_path);
  if (len < off) {
    snprintf(buf, sizeof buf, "short address (len %u)", (unsigned)len);
  } else if (len == off) {
    snprintf(buf, sizeof buf, "unnamed (len %u, family %d)", (unsigned)len, a->sun_family);
  } else if (a->sun_path[0] == 0) {
    size_t n = len - off - 1, hex = 0;
    for (size_t i = 0; i < n; i++) hex += strchr("0123456789abcdef", a->sun_path[1 + i]) && a->sun_path[1 + i];
    if (n == 5 && hex == 5)
      snprintf(buf, sizeof buf, "@<5 hex digits> (len %u)", (unsigned)len);
    else
      snprintf(buf, sizeof buf, "@%.*s (len %u)", (int)n, a->sun_path + 1, (unsigned)len);
  } else {
    snprintf(buf, sizeof buf, "%s (len %u)", a->sun_path, (unsigned)len);
  }
  return buf;
}

static const char *sockname(int fd, int peer) {
  struct sockaddr_un a;
  socklen_t len = sizeof a;
  memset(&a, 0x55, sizeof a);
  int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
  if (r < 0) {
    static char buf[64];
    snprintf(buf, sizeof buf, "-1 %s", errno_name(errno));
    return buf;
  }
  return addr_text(&a, len);
}

/* bind() or connect() to a path or an abstract name. */
enum { BIND, CONNECT };
static int name_call(int op, int fd, const char *name, int abstract) {
  struct sockaddr_un a;
  socklen_t len = abstract ? abstract_addr(&a, name) : path_addr(&a, name);
  return op == BIND ? bind(fd, (struct sockaddr *)&a, len) : connect(fd, (struct sockaddr *)&a, len);
}
#define bind_path(fd, path) name_call(BIND, fd, path, 0)
#define connect_path(fd, path) name_call(CONNECT, fd, path, 0)
#define bind_abstract(fd, name) name_call(BIND, fd, name, 1)
#define connect_abstract(fd, name) name_call(CONNECT, fd, name, 1)

static int sendto_path(int fd, const char *msg, const char *path) {
  struct sockaddr_un a;
  socklen_t len = path_addr(&a, path);
  return (int)sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&a, len);
}

/* ---- small helpers ---- */

static int getint(int fd, int opt) {
  int v = -12345;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0) return -errno - 100000;
  return v;
}

static int setint(int fd, int opt, int v) { return setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v); }

static unsigned poll_ev(int fd, int events) {
  struct pollfd p = {fd, (short)events, 0};
  if (poll(&p, 1, 0) < 0) return 0xffff;
  return (unsigned)p.revents;
}

static int nread(int fd) {
  int n = -1;
  if (ioctl(fd, FIONREAD, &n) < 0) return -errno - 100000;
  return n;
}

/* recv() into a buffer, NUL-terminated for printing ("" on error). */
static char rbuf[4096];
static long rx(int fd, size_t n, int flags) {
  memset(rbuf, 0, sizeof rbuf);
  if (n >= sizeof rbuf) n = sizeof rbuf - 1;
  return (long)recv(fd, rbuf, n, flags);
}

static void set_nonblock(int fd, int on) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static int pair(int type, int sv[2]) { return socketpair(AF_UNIX, type, 0, sv); }

static void close2(int sv[2]) {
  close(sv[0]);
  close(sv[1]);
}

/* sendmsg with `nfds` descriptors in one SCM_RIGHTS message. */
static long send_fds(int fd, const char *data, const int *fds, int nfds) {
  char ctl[CMSG_SPACE(sizeof(int) * 8)];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {(void *)data, strlen(data)};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (nfds) {
    m.msg_control = ctl;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
  }
  return (long)sendmsg(fd, &m, 0);
}

/* What recvmsg delivered: the data, the descriptors and credentials. */
struct got {
  long n;
  int err;
  int flags;
  int nfds;
  int fds[8];
  int has_cred;
  struct ucred cred;
  size_t controllen;
};

static struct got recv_ctl(int fd, size_t ctl_room, int flags) {
  struct got g;
  memset(&g, 0, sizeof g);
  char ctl[512];
  memset(rbuf, 0, sizeof rbuf);
  struct iovec iov = {rbuf, sizeof rbuf - 1};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl_room ? ctl : NULL;
  m.msg_controllen = ctl_room;
  g.n = (long)recvmsg(fd, &m, flags);
  g.err = errno;
  if (g.n < 0) return g;
  g.flags = m.msg_flags;
  g.controllen = m.msg_controllen;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < n && g.nfds < 8; i++) memcpy(&g.fds[g.nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    } else if (c->cmsg_type == SCM_CREDENTIALS) {
      g.has_cred = 1;
      memcpy(&g.cred, CMSG_DATA(c), sizeof g.cred);
    }
  }
  return g;
}

static void close_got(struct got *g) {
  for (int i = 0; i < g->nfds; i++) close(g->fds[i]);
}

/* ======================================================================== */

static void test_create(void) {
  printf("# socket()\n");
  int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
  for (int i = 0; i < 3; i++) {
    int fd = socket(AF_UNIX, types[i], 0);
    check(fd >= 0 && getint(fd, SO_TYPE) == types[i] && getint(fd, SO_DOMAIN) == AF_UNIX &&
              getint(fd, SO_PROTOCOL) == 0,
          "socket(AF_UNIX, type %d): SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d", types[i], getint(fd, SO_TYPE),
          getint(fd, SO_DOMAIN), getint(fd, SO_PROTOCOL));
    close(fd);
  }
  int fd = socket(AF_UNIX, SOCK_RAW, 0);
  check(fd >= 0 && getint(fd, SO_TYPE) == SOCK_DGRAM, "SOCK_RAW is a datagram socket (SO_TYPE %d)", getint(fd, SO_TYPE));
  close(fd);
  fd = socket(PF_UNIX, SOCK_STREAM, PF_UNIX);
  check(fd >= 0, "protocol PF_UNIX is accepted (SO_PROTOCOL %d)", getint(fd, SO_PROTOCOL));
  close(fd);
  check_ret(socket(AF_UNIX, SOCK_STREAM, 2), -1, EPROTONOSUPPORT, "protocol 2: EPROTONOSUPPORT");
  check_ret(socket(AF_UNIX, SOCK_RDM, 0), -1, ESOCKTNOSUPPORT, "SOCK_RDM: ESOCKTNOSUPPORT");
  check_ret(socket(AF_UNIX, 7, 0), -1, ESOCKTNOSUPPORT, "type 7: ESOCKTNOSUPPORT");
  check_ret(socket(AF_UNIX, 11, 0), -1, EINVAL, "type 11 (beyond SOCK_MAX): EINVAL");
  check_ret(socket(AF_UNIX, SOCK_STREAM | 0x100, 0), -1, EINVAL, "unknown type flag: EINVAL");
  check_ret(socket(AF_UNIX, 7, 2), -1, EPROTONOSUPPORT, "protocol is checked before type");
  check_ret(socket(-1, SOCK_STREAM, 0), -1, EAFNOSUPPORT, "family -1: EAFNOSUPPORT");
  check_ret(socket(46, SOCK_STREAM, 0), -1, EAFNOSUPPORT, "family AF_MAX: EAFNOSUPPORT");
  check_ret(socket(1000, 11, 0), -1, EAFNOSUPPORT, "a bad family is reported before a bad type");
  check_ret(socket(1000, 99, 0), -1, EINVAL, "but unknown type flags before both");

  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  check(fcntl(fd, F_GETFD) == FD_CLOEXEC && fcntl(fd, F_GETFL) == (O_RDWR | O_NONBLOCK),
        "SOCK_CLOEXEC|SOCK_NONBLOCK: F_GETFD %d F_GETFL %#o", fcntl(fd, F_GETFD), fcntl(fd, F_GETFL));
  struct stat st;
  memset(&st, 0, sizeof st);
  int fr = fstat(fd, &st);
  check(fr == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0777 && st.st_nlink == 1 && st.st_size == 0,
        "fstat: mode %#o nlink %lu size %ld", st.st_mode, (unsigned long)st.st_nlink, (long)st.st_size);
  char link[64], want[64], path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
  check(strcmp(link, want) == 0, "/proc/self/fd link is socket:[st_ino]");
  check_ret(open(path, O_RDWR), -1, ENXIO, "reopening it through /proc: ENXIO");
  check_ret(lseek(fd, 0, SEEK_SET), -1, ESPIPE, "lseek: ESPIPE");
  check(!isatty(fd) && errno == ENOTTY, "isatty: no (ENOTTY)");
  check_ret(ioctl(fd, FIONREAD, &(int){0}), 0, 0, "FIONREAD on an unconnected stream socket");
  close(fd);
  fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  ioctl(fd, FIONBIO, &(int){1});
  ioctl(fd, FIOCLEX);
  check(fcntl(fd, F_GETFL) == (O_RDWR | O_NONBLOCK) && fcntl(fd, F_GETFD) == FD_CLOEXEC, "FIONBIO and FIOCLEX");
  check_ret(recv(fd, rbuf, 1, 0), -1, EAGAIN, "a non-blocking receive: EAGAIN");
  ioctl(fd, FIONBIO, &(int){0});
  ioctl(fd, FIONCLEX);
  check(fcntl(fd, F_GETFL) == O_RDWR && fcntl(fd, F_GETFD) == 0, "and back");
  close(fd);

  int p[2];
  if (pipe(p)) return;
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, "x");
  int v = 1;
  socklen_t vlen = sizeof v;
  char c = 0;
  struct msghdr m = {0};
  for (int pass = 0; pass < 2; pass++) {
    int f = pass ? 999 : p[0];
    int e = pass ? EBADF : ENOTSOCK;
    const char *what = pass ? "a closed fd: EBADF" : "a pipe: ENOTSOCK";
    check_ret(bind(f, (struct sockaddr *)&a, alen), -1, e, "bind on %s", what);
    check_ret(connect(f, (struct sockaddr *)&a, alen), -1, e, "connect on %s", what);
    check_ret(listen(f, 1), -1, e, "listen on %s", what);
    check_ret(accept(f, NULL, NULL), -1, e, "accept on %s", what);
    check_ret(accept4(f, NULL, NULL, SOCK_CLOEXEC), -1, e, "accept4 on %s", what);
    check_ret(getsockname(f, (struct sockaddr *)&a, &alen), -1, e, "getsockname on %s", what);
    check_ret(getpeername(f, (struct sockaddr *)&a, &alen), -1, e, "getpeername on %s", what);
    check_ret(shutdown(f, SHUT_RD), -1, e, "shutdown on %s", what);
    check_ret(setsockopt(f, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), -1, e, "setsockopt on %s", what);
    check_ret(getsockopt(f, SOL_SOCKET, SO_TYPE, &v, &vlen), -1, e, "getsockopt on %s", what);
    check_ret(send(f, &c, 1, 0), -1, e, "send on %s", what);
    check_ret(recv(f, &c, 1, MSG_DONTWAIT), -1, e, "recv on %s", what);
    check_ret(sendmsg(f, &m, 0), -1, e, "sendmsg on %s", what);
    check_ret(recvmsg(f, &m, MSG_DONTWAIT), -1, e, "recvmsg on %s", what);
  }
  check_ret(connect(p[0], BAD_PTR, 10), -1, EFAULT, "connect on a pipe with a bad address: EFAULT before ENOTSOCK");
  close(p[0]);
  close(p[1]);
  check_ret(socketpair(AF_UNIX, SOCK_STREAM, 0, BAD_PTR), -1, EFAULT, "socketpair into a bad pointer: EFAULT");
  check_ret(socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0, p), -1, EINVAL, "socketpair with an unknown flag: EINVAL");
  check_ret(socketpair(AF_UNIX, SOCK_RDM, 0, p), -1, ESOCKTNOSUPPORT, "socketpair SOCK_RDM: ESOCKTNOSUPPORT");
}

static void test_stream_pair(void) {
  printf("# stream socketpair\n");
  int sv[2];
  check_ret(pair(SOCK_STREAM, sv), 0, 0, "socketpair(SOCK_STREAM)");
  check(write(sv[0], "hello", 5) == 5 && read(sv[1], rbuf, 100) == 5 && memcmp(rbuf, "hello", 5) == 0,
        "write and read");
  send(sv[0], "abcdefghij", 10, 0);
  check(nread(sv[1]) == 10, "FIONREAD: %d", nread(sv[1]));
  check(rx(sv[1], 3, MSG_PEEK) == 3 && strcmp(rbuf, "abc") == 0, "MSG_PEEK 3: %s", rbuf);
  check(rx(sv[1], 4, 0) == 4 && strcmp(rbuf, "abcd") == 0, "recv 4 after the peek: %s", rbuf);
  check(rx(sv[1], 100, 0) == 6 && strcmp(rbuf, "efghij") == 0, "recv the rest: %s", rbuf);
  check_ret(rx(sv[1], 100, MSG_DONTWAIT), -1, EAGAIN, "MSG_DONTWAIT on an empty socket: EAGAIN");
  send(sv[0], "ab", 2, 0);
  send(sv[0], "cd", 2, 0);
  check(rx(sv[1], 100, 0) == 4 && strcmp(rbuf, "abcd") == 0, "two sends read as one stream: %s", rbuf);
  struct iovec wv[3] = {{"one", 3}, {"two", 3}, {"three", 5}};
  check_ret(writev(sv[0], wv, 3), 11, 0, "writev of 3 buffers");
  char b1[4] = {0}, b2[16] = {0};
  struct iovec rv[2] = {{b1, 3}, {b2, 15}};
  check(readv(sv[1], rv, 2) == 11 && strcmp(b1, "one") == 0 && strcmp(b2, "twothree") == 0, "readv: %s|%s", b1, b2);

  check(strcmp(sockname(sv[0], 0), "unnamed (len 2, family 1)") == 0, "getsockname: %s", sockname(sv[0], 0));
  check(strcmp(sockname(sv[0], 1), "unnamed (len 2, family 1)") == 0, "getpeername: %s", sockname(sv[0], 1));
  struct ucred cr;
  socklen_t crlen = sizeof cr;
  int gr = getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
  check(gr == 0 && crlen == sizeof cr && cr.pid == getpid() && cr.uid == getuid() && cr.gid == getgid(),
        "SO_PEERCRED: this process (uid %u gid %u)", cr.uid, cr.gid);
  check(getint(sv[0], SO_ACCEPTCONN) == 0 && getint(sv[0], SO_ERROR) == 0, "SO_ACCEPTCONN 0, SO_ERROR 0");

  unsigned all = POLLIN | POLLOUT | POLLRDHUP;
  check(poll_ev(sv[1], all) == (POLLOUT), "poll, nothing to read: %s", ev_text(poll_ev(sv[1], all)));
  send(sv[0], "x", 1, 0);
  check(poll_ev(sv[1], all) == (POLLIN | POLLOUT), "poll with data: %s", ev_text(poll_ev(sv[1], all)));
  rx(sv[1], 10, 0);

  /* shutdown */
  check_ret(shutdown(sv[0], 3), -1, EINVAL, "shutdown(3): EINVAL");
  send(sv[0], "last", 4, 0);
  check_ret(shutdown(sv[0], SHUT_WR), 0, 0, "shutdown(SHUT_WR)");
  check(poll_ev(sv[1], all) == (POLLIN | POLLOUT | POLLRDHUP), "the reader polls: %s", ev_text(poll_ev(sv[1], all)));
  check(rx(sv[1], 100, 0) == 4 && strcmp(rbuf, "last") == 0, "data written before the shutdown: %s", rbuf);
  check_ret(rx(sv[1], 100, 0), 0, 0, "then end of file");
  check_ret(rx(sv[1], 100, 0), 0, 0, "and again");
  set_handler(SIGPIPE, on_sigpipe, 0);
  sigpipes = 0;
  check_ret(send(sv[0], "z", 1, 0), -1, EPIPE, "send after SHUT_WR: EPIPE");
  check(sigpipes == 1, "with SIGPIPE (%d)", sigpipes);
  check_ret(send(sv[0], "z", 1, MSG_NOSIGNAL), -1, EPIPE, "send with MSG_NOSIGNAL: EPIPE");
  check(sigpipes == 1, "and no SIGPIPE (%d)", sigpipes);
  check_ret(write(sv[0], "z", 1), -1, EPIPE, "write after SHUT_WR: EPIPE");
  check(sigpipes == 2, "with SIGPIPE (%d)", sigpipes);
  check(poll_ev(sv[0], all) == (POLLOUT), "the writer polls: %s", ev_text(poll_ev(sv[0], all)));
  check_ret(shutdown(sv[1], SHUT_RD), 0, 0, "shutdown(SHUT_RD) on the other end");
  check(poll_ev(sv[1], all) == (POLLIN | POLLOUT | POLLRDHUP), "it polls: %s", ev_text(poll_ev(sv[1], all)));
  check_ret(send(sv[1], "q", 1, MSG_NOSIGNAL), 1, 0, "it can still send");
  check_ret(shutdown(sv[1], SHUT_WR), 0, 0, "and shut down both ways");
  check(poll_ev(sv[1], all) == (POLLIN | POLLOUT | POLLRDHUP | POLLHUP), "it polls: %s", ev_text(poll_ev(sv[1], all)));
  close2(sv);

  /* A peer that goes away. */
  pair(SOCK_STREAM, sv);
  send(sv[0], "unread", 6, 0);
  send(sv[1], "for 0", 5, 0);
  close(sv[1]);
  check(poll_ev(sv[0], all) == (POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLERR),
        "peer closed with unread data: %s", ev_text(poll_ev(sv[0], all)));
  check(rx(sv[0], 100, 0) == 5 && strcmp(rbuf, "for 0") == 0, "what it sent is still there: %s", rbuf);
  check_ret(rx(sv[0], 100, 0), -1, ECONNRESET, "then ECONNRESET");
  check_ret(rx(sv[0], 100, 0), 0, 0, "then end of file");
  check_ret(send(sv[0], "z", 1, MSG_NOSIGNAL), -1, EPIPE, "send: EPIPE");
  check(strcmp(sockname(sv[0], 1), "unnamed (len 2, family 1)") == 0, "getpeername still works: %s",
        sockname(sv[0], 1));
  close(sv[0]);
  pair(SOCK_STREAM, sv);
  close(sv[1]);
  check(getint(sv[0], SO_ERROR) == 0, "peer closed with nothing unread: SO_ERROR %d", getint(sv[0], SO_ERROR));
  check_ret(rx(sv[0], 100, 0), 0, 0, "end of file at once");
  close(sv[0]);

  /* 1 MiB from a child through blocking writes. */
  pair(SOCK_STREAM, sv);
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(sv[0]);
    static unsigned char buf[100000];
    size_t sent = 0;
    while (sent < (1 << 20)) {
      size_t n = sizeof buf < (1 << 20) - sent ? sizeof buf : (1 << 20) - sent;
      for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)((sent + i) * 7);
      if (write_all(sv[1], buf, n)) _exit(1);
      sent += n;
    }
    _exit(0);
  }
  close(sv[1]);
  size_t got = 0, bad = 0;
  static unsigned char big[65536];
  for (;;) {
    ssize_t r = read(sv[0], big, sizeof big);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; i++) bad += big[i] != (unsigned char)((got + (size_t)i) * 7);
    got += (size_t)r;
  }
  int status;
  wait_for(pid, &status, 0);
  check(got == (1 << 20) && bad == 0, "1 MiB from a child: %zu bytes, %zu wrong", got, bad);
  check_status(status, 0, 0, "the writer exited 0");
  close(sv[0]);

  /* A full buffer. */
  pair(SOCK_STREAM, sv);
  set_nonblock(sv[0], 1);
  size_t filled = 0;
  ssize_t w;
  while ((w = write(sv[0], big, 4096)) > 0) filled += (size_t)w;
  check(w == -1 && errno == EAGAIN && filled > 65536 && filled < (1 << 20),
        "non-blocking writes fill the buffer, then EAGAIN");
  check(!(poll_ev(sv[0], POLLOUT) & POLLOUT), "a full socket does not poll POLLOUT");
  check(nread(sv[1]) == (int)filled, "the reader sees all of it in FIONREAD");
  size_t drained = 0;
  while ((w = recv(sv[1], big, sizeof big, MSG_DONTWAIT)) > 0) drained += (size_t)w;
  check(drained == filled && (poll_ev(sv[0], POLLOUT) & POLLOUT), "drained: POLLOUT again");
  close2(sv);

  /* Buffer sizes. */
  pair(SOCK_STREAM, sv);
  check(getint(sv[0], SO_SNDBUF) > 0 && getint(sv[0], SO_RCVBUF) > 0, "default SO_SNDBUF and SO_RCVBUF");
  setint(sv[0], SO_SNDBUF, 8192);
  setint(sv[0], SO_RCVBUF, 8192);
  check(getint(sv[0], SO_SNDBUF) == 16384 && getint(sv[0], SO_RCVBUF) == 16384, "8192 asked: %d and %d",
        getint(sv[0], SO_SNDBUF), getint(sv[0], SO_RCVBUF));
  setint(sv[0], SO_SNDBUF, 1);
  setint(sv[0], SO_RCVBUF, 1);
  check(getint(sv[0], SO_SNDBUF) == 4608 && getint(sv[0], SO_RCVBUF) == 2304, "1 asked: the minimums %d and %d",
        getint(sv[0], SO_SNDBUF), getint(sv[0], SO_RCVBUF));
  close2(sv);

  /* Waiting, signals and timeouts. */
  pair(SOCK_STREAM, sv);
  pid = gt_fork();
  if (pid == 0) {
    sleep_ms(200);
    send(sv[1], "late", 4, 0);
    sleep_ms(50);
    send(sv[1], "more", 4, 0);
    _exit(0);
  }
  struct itimerval it = {{0, 0}, {0, 50000}};
  set_handler(SIGALRM, on_alarm, SA_RESTART);
  alarms = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  check(rx(sv[0], 100, 0) == 4 && alarms == 1 && strcmp(rbuf, "late") == 0,
        "an SA_RESTART handler during a blocking recv: restarted, got %s", rbuf);
  check(rx(sv[0], 4, MSG_WAITALL) == 4 && strcmp(rbuf, "more") == 0, "MSG_WAITALL: %s", rbuf);
  wait_for(pid, &status, 0);
  set_handler(SIGALRM, on_alarm, 0);
  setitimer(ITIMER_REAL, &it, NULL);
  check_ret(rx(sv[0], 100, 0), -1, EINTR, "without SA_RESTART: EINTR");
  struct timeval tv = {5, 0};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  set_handler(SIGALRM, on_alarm, SA_RESTART);
  setitimer(ITIMER_REAL, &it, NULL);
  check_ret(rx(sv[0], 100, 0), -1, EINTR, "with SO_RCVTIMEO set, even SA_RESTART gives EINTR");
  tv.tv_sec = 0;
  tv.tv_usec = 200000;
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int64_t t0 = mono_ns();
  check_ret(rx(sv[0], 100, 0), -1, EAGAIN, "SO_RCVTIMEO 0.2 s runs out: EAGAIN");
  check(mono_ns() - t0 >= 150000000, "after waiting for it");
  set_nonblock(sv[1], 1);
  while (write(sv[1], big, 4096) > 0) {
  }
  set_nonblock(sv[1], 0);
  tv.tv_usec = 100000;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  check_ret(write(sv[1], big, 4096), -1, EAGAIN, "SO_SNDTIMEO on a full socket: EAGAIN");
  close2(sv);
}

static void test_dgram_pair(void) {
  printf("# datagram socketpair\n");
  int sv[2];
  check_ret(pair(SOCK_DGRAM, sv), 0, 0, "socketpair(SOCK_DGRAM)");
  send(sv[0], "one", 3, 0);
  send(sv[0], "two", 3, 0);
  send(sv[0], "three", 5, 0);
  check(nread(sv[1]) == 3, "FIONREAD is the next datagram: %d", nread(sv[1]));
  check(rx(sv[1], 100, 0) == 3 && strcmp(rbuf, "one") == 0, "recv: %s", rbuf);
  check(rx(sv[1], 100, MSG_PEEK) == 3 && strcmp(rbuf, "two") == 0, "MSG_PEEK: %s", rbuf);
  check(rx(sv[1], 100, 0) == 3 && strcmp(rbuf, "two") == 0, "recv: %s", rbuf);
  send(sv[0], "truncated", 9, 0);
  send(sv[0], "truncated", 9, 0);
  check(rx(sv[1], 100, 0) == 5 && strcmp(rbuf, "three") == 0, "boundaries kept: %s", rbuf);
  {
    char small[4] = {0};
    struct iovec iov = {small, 3};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    long r = (long)recvmsg(sv[1], &m, 0);
    check(r == 3 && (m.msg_flags & MSG_TRUNC) && strcmp(small, "tru") == 0, "a short buffer: %ld bytes, MSG_TRUNC %s",
          r, (m.msg_flags & MSG_TRUNC) ? "set" : "clear");
    r = (long)recv(sv[1], small, 3, MSG_TRUNC);
    check(r == 9, "recv with MSG_TRUNC returns the datagram's length: %ld", r);
  }
  check_ret(rx(sv[1], 100, MSG_DONTWAIT), -1, EAGAIN, "the rest of a truncated datagram is gone");
  check_ret(send(sv[0], "", 0, 0), 0, 0, "an empty datagram");
  check(nread(sv[1]) == 0 && (poll_ev(sv[1], POLLIN) & POLLIN), "FIONREAD 0 but readable");
  check_ret(rx(sv[1], 100, 0), 0, 0, "recv gets it: 0");
  struct iovec wv[2] = {{"ab", 2}, {"cd", 2}};
  writev(sv[0], wv, 2);
  char b1[3] = {0}, b2[3] = {0};
  struct iovec rv[2] = {{b1, 2}, {b2, 2}};
  check(readv(sv[1], rv, 2) == 4 && strcmp(b1, "ab") == 0 && strcmp(b2, "cd") == 0,
        "writev is one datagram, readv spreads it: %s|%s", b1, b2);
  setint(sv[0], SO_SNDBUF, 8192);
  static char big[20000];
  check_ret(send(sv[0], big, 16352, 0), 16352, 0, "a datagram of SO_SNDBUF - 32 bytes");
  check_ret(send(sv[0], big, 16353, 0), -1, EMSGSIZE, "one byte more: EMSGSIZE");
  check(rx(sv[1], 100, MSG_TRUNC) == 16352, "received whole");
  set_nonblock(sv[0], 1);
  int sent = 0;
  while (send(sv[0], "fill", 4, 0) == 4) sent++;
  check(errno == EAGAIN && sent > 2, "a socketpair fills up to the send buffer, then EAGAIN");
  check(!(poll_ev(sv[0], POLLOUT) & POLLOUT), "and does not poll POLLOUT");
  while (rx(sv[1], 100, MSG_DONTWAIT) == 4) sent--;
  check(sent == 0 && (poll_ev(sv[0], POLLOUT) & POLLOUT), "read out: POLLOUT again");
  set_nonblock(sv[0], 0);

  check_ret(shutdown(sv[1], SHUT_RD), 0, 0, "shutdown(SHUT_RD)");
  check_ret(rx(sv[1], 100, MSG_DONTWAIT), -1, EAGAIN, "a non-blocking recv after it: EAGAIN");
  check_ret(rx(sv[1], 100, 0), 0, 0, "a blocking one: 0");
  sigpipes = 0;
  check_ret(send(sv[0], "x", 1, 0), -1, EPIPE, "sending to it: EPIPE");
  check(sigpipes == 0, "without SIGPIPE (%d)", sigpipes);
  unsigned all = POLLIN | POLLOUT | POLLRDHUP;
  check(poll_ev(sv[1], all) == (POLLIN | POLLOUT | POLLRDHUP), "it polls: %s", ev_text(poll_ev(sv[1], all)));
  check_ret(shutdown(sv[0], SHUT_WR), 0, 0, "shutdown(SHUT_WR) on the other");
  check_ret(send(sv[0], "x", 1, 0), -1, EPIPE, "it cannot send: EPIPE");
  check(sigpipes == 0, "without SIGPIPE (%d)", sigpipes);
  close2(sv);

  pair(SOCK_DGRAM, sv);
  send(sv[1], "left", 4, 0);
  close(sv[1]);
  check(poll_ev(sv[0], all) == (POLLIN | POLLOUT), "peer closed: %s", ev_text(poll_ev(sv[0], all)));
  check_ret(send(sv[0], "x", 1, 0), -1, ECONNREFUSED, "send to a closed peer: ECONNREFUSED");
  check_ret(send(sv[0], "x", 1, 0), -1, ENOTCONN, "then ENOTCONN");
  check_ret(rx(sv[0], 100, MSG_DONTWAIT), -1, EAGAIN, "what it had sent went with the association: EAGAIN");
  close(sv[0]);
}

static void test_seqpacket_pair(void) {
  printf("# seqpacket socketpair\n");
  int sv[2];
  check_ret(pair(SOCK_SEQPACKET, sv), 0, 0, "socketpair(SOCK_SEQPACKET)");
  send(sv[0], "abc", 3, 0);
  send(sv[0], "defgh", 5, 0);
  send(sv[0], "ijklmn", 6, 0);
  check(nread(sv[1]) == 14, "FIONREAD counts every record: %d", nread(sv[1]));
  check(rx(sv[1], 100, 0) == 3 && strcmp(rbuf, "abc") == 0, "record 1: %s", rbuf);
  struct got g = recv_ctl(sv[1], 0, 0);
  check(g.n == 5 && !(g.flags & MSG_TRUNC), "record 2 whole: %ld", g.n);
  char small[3] = {0};
  struct iovec iov = {small, 2};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  long r = (long)recvmsg(sv[1], &m, 0);
  check(r == 2 && (m.msg_flags & MSG_TRUNC), "record 3 into 2 bytes: %ld, MSG_TRUNC", r);
  check_ret(rx(sv[1], 100, MSG_DONTWAIT), -1, EAGAIN, "its rest is discarded");
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, "nowhere");
  check_ret(sendto(sv[0], "q", 1, 0, (struct sockaddr *)&a, alen), 1, 0, "sendto ignores the address");
  rx(sv[1], 100, 0);
  send(sv[0], "tail", 4, 0);
  close(sv[0]);
  unsigned all = POLLIN | POLLOUT | POLLRDHUP;
  check(poll_ev(sv[1], all) == (POLLIN | POLLOUT | POLLRDHUP | POLLHUP), "peer closed: %s", ev_text(poll_ev(sv[1], all)));
  check(rx(sv[1], 100, 0) == 4 && strcmp(rbuf, "tail") == 0, "its last record: %s", rbuf);
  check_ret(rx(sv[1], 100, 0), 0, 0, "then end of file");
  check_ret(rx(sv[1], 100, MSG_DONTWAIT), 0, 0, "also when non-blocking");
  sigpipes = 0;
  check_ret(send(sv[1], "x", 1, 0), -1, EPIPE, "send: EPIPE");
  check(sigpipes == 0, "without SIGPIPE (%d)", sigpipes);
  close(sv[1]);

  pair(SOCK_SEQPACKET, sv);
  send(sv[0], "unread", 6, 0);
  send(sv[1], "mine", 4, 0);
  close(sv[1]);
  check_ret(rx(sv[0], 100, 0), -1, ECONNRESET, "a peer closed with unread records: ECONNRESET first");
  check(rx(sv[0], 100, 0) == 4 && strcmp(rbuf, "mine") == 0, "then its records: %s", rbuf);
  check_ret(rx(sv[0], 100, 0), 0, 0, "then end of file");
  close(sv[0]);
  int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  check_ret(send(s, "x", 1, 0), -1, ENOTCONN, "send on an unconnected seqpacket socket: ENOTCONN");
  check_ret(rx(s, 10, 0), -1, ENOTCONN, "recv: ENOTCONN");
  close(s);
}

static void test_paths(void) {
  printf("# path names\n");
  umask(022);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(bind_path(s, "srv"), 0, 0, "bind srv");
  struct stat st;
  check(stat("srv", &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0755 && st.st_size == 0,
        "a socket node: mode %#o", st.st_mode);
  check_ret(open("srv", O_RDONLY), -1, ENXIO, "open: ENXIO");
  check(strcmp(sockname(s, 0), "srv (len 6)") == 0, "getsockname: %s", sockname(s, 0));
  check_ret(getpeername(s, (struct sockaddr *)&(struct sockaddr_un){0}, &(socklen_t){110}), -1, ENOTCONN,
            "getpeername: ENOTCONN");
  int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(bind_path(s2, "srv"), -1, EADDRINUSE, "binding a name in use: EADDRINUSE");
  check_ret(bind_path(s, "srv2"), -1, EINVAL, "binding a bound socket again: EINVAL");
  check_ret(access("srv2", F_OK), -1, ENOENT, "which leaves no node behind");
  check_ret(bind_path(s2, "nodir/x"), -1, ENOENT, "a missing directory: ENOENT");
  struct sockaddr_un a;
  path_addr(&a, "abc");
  check_ret(bind(s2, (struct sockaddr *)&a, 1), -1, EINVAL, "address length 1: EINVAL");
  check_ret(bind(s2, (struct sockaddr *)&a, sizeof a + 1), -1, EINVAL, "length 111: EINVAL");
  check_ret(bind(s2, (struct sockaddr *)&a, 200), -1, EINVAL, "length 200: EINVAL");
  check_ret(bind(s2, BAD_PTR, 10), -1, EFAULT, "a bad address: EFAULT");
  a.sun_family = AF_INET;
  check_ret(bind(s2, (struct sockaddr *)&a, 6), -1, EINVAL, "family AF_INET: EINVAL");
  a.sun_family = AF_UNIX;
  check_ret(bind(s2, (struct sockaddr *)&a, 5), 0, 0, "a name without its NUL (length 5)");
  check(strcmp(sockname(s2, 0), "abc (len 6)") == 0, "is stored with it: %s", sockname(s2, 0));
  unlink("abc");
  close(s2);

  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  check_ret(listen(d, 1), -1, EOPNOTSUPP, "listen on a datagram socket: EOPNOTSUPP");
  check_ret(accept(d, NULL, NULL), -1, EOPNOTSUPP, "accept on one: EOPNOTSUPP");
  bind_path(d, "dg");
  s2 = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(listen(s2, 1), -1, EINVAL, "listen on an unbound socket: EINVAL");
  check_ret(accept(s2, NULL, NULL), -1, EINVAL, "accept on a socket not listening: EINVAL");
  check_ret(connect_path(s2, "dg"), -1, EPROTOTYPE, "connecting a stream to a datagram socket: EPROTOTYPE");
  check_ret(connect_path(s2, "srv"), -1, ECONNREFUSED, "to a socket not listening: ECONNREFUSED");
  check_ret(connect_path(s2, "none"), -1, ENOENT, "to no file: ENOENT");
  close(open("plain", O_CREAT | O_WRONLY, 0644));
  check_ret(connect_path(s2, "plain"), -1, ECONNREFUSED, "to a regular file: ECONNREFUSED");
  check_ret(connect_path(s2, "."), -1, ECONNREFUSED, "to a directory: ECONNREFUSED");
  check_ret(send(s2, "x", 1, 0), -1, ENOTCONN, "send unconnected: ENOTCONN");
  check_ret(rx(s2, 10, 0), -1, EINVAL, "recv unconnected: EINVAL");
  check_ret(sendto_path(s2, "x", "srv"), -1, EOPNOTSUPP, "sendto on a stream socket: EOPNOTSUPP");
  close(s2);
  unlink("plain");

  check_ret(listen(s, 1), 0, 0, "listen(1)");
  check_ret(listen(s, 1), 0, 0, "listen again");
  check(getint(s, SO_ACCEPTCONN) == 1, "SO_ACCEPTCONN 1");
  check(poll_ev(s, POLLIN | POLLOUT) == 0, "an idle listener polls nothing");
  int c[3];
  for (int i = 0; i < 3; i++) c[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  check_ret(connect_path(c[0], "srv"), 0, 0, "connect 1");
  check(poll_ev(s, POLLIN | POLLOUT) == POLLIN, "the listener polls POLLIN");
  check_ret(connect_path(c[1], "srv"), 0, 0, "connect 2");
  check_ret(connect_path(c[2], "srv"), -1, EAGAIN, "connect 3 beyond backlog 1: EAGAIN");
  check_ret(connect_path(c[0], "srv"), -1, EAGAIN, "connect a connected socket to a full backlog: EAGAIN first");
  check_ret(nread(s), -100000 - EINVAL, 0, "FIONREAD on a listener: EINVAL");
  check_ret(send(c[0], "before accept", 13, 0), 13, 0, "send before the accept");
  check_ret(sendto_path(c[0], "x", "srv"), -1, EISCONN, "sendto with an address when connected: EISCONN");
  check(strcmp(sockname(c[0], 1), "srv (len 6)") == 0, "the client's peer: %s", sockname(c[0], 1));
  struct ucred cr;
  socklen_t crlen = sizeof cr;
  getsockopt(c[0], SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
  check(cr.pid == getpid(), "the client's SO_PEERCRED is the listener's process");
  /* The raw call: an older musl retries a refused accept4 as accept. */
  check_ret(syscall(SYS_accept4, s, NULL, NULL, 0x1234), -1, EINVAL, "accept4 with unknown flags: EINVAL");
  struct sockaddr_un pa;
  socklen_t palen = sizeof pa;
  int a0 = accept4(s, (struct sockaddr *)&pa, &palen, SOCK_CLOEXEC | SOCK_NONBLOCK);
  check(a0 >= 0 && fcntl(a0, F_GETFD) == FD_CLOEXEC && (fcntl(a0, F_GETFL) & O_NONBLOCK),
        "accept4(SOCK_CLOEXEC|SOCK_NONBLOCK)");
  check(strcmp(addr_text(&pa, palen), "unnamed (len 2, family 1)") == 0, "the address of an unbound client: %s",
        addr_text(&pa, palen));
  check(strcmp(sockname(a0, 0), "srv (len 6)") == 0, "the accepted socket's name: %s", sockname(a0, 0));
  check(rx(a0, 100, 0) == 13 && strcmp(rbuf, "before accept") == 0, "it has the early data: %s", rbuf);
  crlen = sizeof cr;
  getsockopt(a0, SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
  check(cr.pid == getpid() && cr.uid == 0, "its SO_PEERCRED is the client's process");
  int a1 = accept(s, NULL, NULL);
  check(a1 >= 0 && fcntl(a1, F_GETFD) == 0 && !(fcntl(a1, F_GETFL) & O_NONBLOCK), "accept: no flags");
  set_nonblock(s, 1);
  check_ret(accept(s, NULL, NULL), -1, EAGAIN, "accept on an empty non-blocking listener: EAGAIN");
  check_ret(connect_path(c[2], "srv"), 0, 0, "room again for connect 3");
  int a2 = accept(s, NULL, NULL);
  check(a2 >= 0, "and its accept");
  set_nonblock(s, 0);
  check_ret(connect_path(c[0], "srv"), -1, EISCONN, "connect a connected socket: EISCONN");
  check_ret(connect_path(s, "srv"), -1, EINVAL, "connect the listener itself: EINVAL");

  /* Who may connect. */
  chmod("srv", 0700);
  pid_t pid = gt_fork();
  if (pid == 0) {
    if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) _exit(99);
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    _exit(connect_path(t, "srv") == 0 ? 0 : errno);
  }
  int status;
  wait_for(pid, &status, 0);
  check_status(status, EACCES, 0, "an unprivileged process without write permission: EACCES");
  chmod("srv", 0755);

  /* The socket is bound to the inode: other names reach it, unlink removes the name. */
  check_ret(rename("srv", "srv-moved"), 0, 0, "rename the node");
  int c4 = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(connect_path(c4, "srv-moved"), 0, 0, "connect through the new name");
  close(accept(s, NULL, NULL));
  check_ret(link("srv-moved", "srv-link"), 0, 0, "a hard link");
  int c5 = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(connect_path(c5, "srv-link"), 0, 0, "through the link");
  close(accept(s, NULL, NULL));
  check_ret(unlink("srv-link"), 0, 0, "unlink the link");
  check_ret(unlink("srv-moved"), 0, 0, "unlink the name");
  int c6 = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(connect_path(c6, "srv-moved"), -1, ENOENT, "then connect: ENOENT");
  check(send(c[1], "still", 5, 0) == 5 && rx(a1, 100, 0) == 5 && strcmp(rbuf, "still") == 0,
        "connections made before keep working");
  for (int i = 0; i < 3; i++) close(c[i]);
  close(a0);
  close(a1);
  close(a2);
  close(c4);
  close(c5);
  close(c6);
  close(s);
  close(d);
  unlink("dg");

  /* A name whose socket is gone. */
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  bind_path(s, "stale");
  listen(s, 5);
  close(s);
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(connect_path(s, "stale"), -1, ECONNREFUSED, "a stale name: ECONNREFUSED");
  check_ret(bind_path(s, "stale"), -1, EADDRINUSE, "binding it: EADDRINUSE");
  unlink("stale");
  check_ret(bind_path(s, "stale"), 0, 0, "after unlink: bound");
  close(s);
  unlink("stale");

  /* A listener closed with a connection nobody accepted. */
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  bind_path(s, "pend");
  listen(s, 5);
  int cl = socket(AF_UNIX, SOCK_STREAM, 0);
  connect_path(cl, "pend");
  send(cl, "lost", 4, 0);
  close(s);
  unlink("pend");
  unsigned all = POLLIN | POLLOUT | POLLRDHUP;
  check(poll_ev(cl, all) == (POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLERR), "the client polls: %s",
        ev_text(poll_ev(cl, all)));
  check_ret(rx(cl, 100, 0), -1, ECONNRESET, "its recv: ECONNRESET");
  check_ret(rx(cl, 100, 0), 0, 0, "then end of file");
  check_ret(send(cl, "x", 1, MSG_NOSIGNAL), -1, EPIPE, "send: EPIPE");
  close(cl);
}

static void test_fork_server(void) {
  printf("# server and client processes\n");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  bind_path(s, "fsrv");
  listen(s, 5);
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(s);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect_path(c, "fsrv")) _exit(1);
    struct ucred cr;
    socklen_t len = sizeof cr;
    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len);
    if (cr.pid != getppid()) _exit(2);
    if (write(c, "ping from the child", 19) != 19) _exit(3);
    char buf[16] = {0};
    if (read(c, buf, sizeof buf) != 4 || strcmp(buf, "pong")) _exit(4);
    _exit(0);
  }
  int a = accept(s, NULL, NULL);
  check(rx(a, 100, 0) == 19 && strcmp(rbuf, "ping from the child") == 0, "the server gets: %s", rbuf);
  struct ucred cr;
  socklen_t len = sizeof cr;
  getsockopt(a, SOL_SOCKET, SO_PEERCRED, &cr, &len);
  check(cr.pid == pid, "SO_PEERCRED names the child");
  write(a, "pong", 4);
  int status;
  wait_for(pid, &status, 0);
  check_status(status, 0, 0, "the client saw the listener's process and the answer");
  close(a);
  close(s);
  unlink("fsrv");

  s = socket(AF_UNIX, SOCK_STREAM, 0);
  bind_path(s, "fsrv2");
  listen(s, 0);
  int c0 = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(connect_path(c0, "fsrv2"), 0, 0, "listen(0) queues one connection");
  pid = gt_fork();
  if (pid == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect_path(c, "fsrv2")) _exit(1); /* waits for room */
    _exit(write(c, "in", 2) == 2 ? 0 : 2);
  }
  sleep_ms(100);
  int r = waitpid(pid, &status, WNOHANG);
  check(r == 0, "a blocking connect to a full backlog waits");
  int a0 = accept(s, NULL, NULL);
  wait_for(pid, &status, 0);
  check_status(status, 0, 0, "an accept lets it in");
  int a1 = accept(s, NULL, NULL);
  check(rx(a1, 100, 0) == 2 && strcmp(rbuf, "in") == 0, "its data: %s", rbuf);
  close(a0);
  close(a1);
  close(c0);
  close(s);
  unlink("fsrv2");
}

static void test_dgram_names(void) {
  printf("# datagram names\n");
  int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
  check_ret(bind_path(srv, "dsrv"), 0, 0, "bind dsrv");
  int cl = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un from;
  socklen_t flen;
  check_ret(sendto_path(cl, "anon", "dsrv"), 4, 0, "sendto from an unbound socket");
  flen = sizeof from;
  memset(&from, 0x55, sizeof from);
  long got = (long)recvfrom(srv, rbuf, 100, 0, (struct sockaddr *)&from, &flen);
  check(got == 4 && flen == 0, "its source: length %u", (unsigned)flen);
  check(strcmp(sockname(cl, 0), "unnamed (len 2, family 1)") == 0, "still unbound: %s", sockname(cl, 0));
  bind_path(cl, "dcli");
  sendto_path(cl, "named", "dsrv");
  flen = sizeof from;
  got = (long)recvfrom(srv, rbuf, 100, 0, (struct sockaddr *)&from, &flen);
  check(got == 5 && strcmp(addr_text(&from, flen), "dcli (len 7)") == 0, "from a bound socket: %s",
        addr_text(&from, flen));
  check_ret(sendto_path(srv, "back", "dcli"), 4, 0, "and back");
  check(rx(cl, 100, 0) == 4 && strcmp(rbuf, "back") == 0, "received: %s", rbuf);
  check_ret(send(cl, "x", 1, 0), -1, ENOTCONN, "send without a destination: ENOTCONN");
  check_ret(connect_path(cl, "dsrv"), 0, 0, "connect to dsrv");
  check(strcmp(sockname(cl, 1), "dsrv (len 7)") == 0, "its peer: %s", sockname(cl, 1));
  check_ret(send(cl, "conn", 4, 0), 4, 0, "send to the peer");
  check(rx(srv, 100, 0) == 4 && strcmp(rbuf, "conn") == 0, "received: %s", rbuf);
  struct ucred cr;
  socklen_t crlen = sizeof cr;
  getsockopt(cl, SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
  check(cr.pid == 0 && cr.uid == (uid_t)-1 && cr.gid == (gid_t)-1, "a connected datagram socket has no SO_PEERCRED");
  check_ret(connect_path(srv, "dcli"), 0, 0, "dsrv connects to dcli");
  int third = socket(AF_UNIX, SOCK_DGRAM, 0);
  check_ret(sendto_path(third, "x", "dsrv"), -1, EPERM, "then a third socket sending to dsrv: EPERM");
  check_ret(connect_path(third, "dsrv"), -1, EPERM, "or connecting: EPERM");
  struct sockaddr unspec = {AF_UNSPEC, {0}};
  check_ret(connect(srv, &unspec, sizeof unspec), 0, 0, "connect(AF_UNSPEC) dissolves it");
  check_ret(sendto_path(third, "ok", "dsrv"), 2, 0, "the third may send now");
  check_ret(connect(cl, &unspec, sizeof unspec), 0, 0, "the client too");
  check_ret(send(cl, "x", 1, 0), -1, ENOTCONN, "send: ENOTCONN");
  check_ret(connect(cl, &unspec, 1), -1, EINVAL, "connect with length 1: EINVAL");
  while (rx(srv, 100, MSG_DONTWAIT) > 0) {
  }

  /* The receive queue limit. */
  int q = socket(AF_UNIX, SOCK_DGRAM, 0);
  bind_path(q, "dq");
  int snd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int queued = 0;
  while (sendto_path(snd, "m", "dq") == 1) queued++;
  check(errno == EAGAIN && queued == 11, "an unconnected receiver queues %d, then EAGAIN", queued);
  connect_path(snd, "dq");
  check(!(poll_ev(snd, POLLOUT) & POLLOUT), "a sender connected to it does not poll POLLOUT");
  rx(q, 100, 0);
  check(poll_ev(snd, POLLOUT) & POLLOUT, "one read: POLLOUT");
  check_ret(send(snd, "m", 1, 0), 1, 0, "and a send");
  set_nonblock(snd, 0);
  pid_t pid = gt_fork();
  if (pid == 0) {
    sleep_ms(100);
    while (rx(q, 100, MSG_DONTWAIT) > 0) {
    }
    _exit(0);
  }
  check_ret(send(snd, "wait", 4, 0), 4, 0, "a blocking send waits until the receiver reads");
  int status;
  wait_for(pid, &status, 0);
  while (rx(q, 100, MSG_DONTWAIT) > 0) {
  }
  close(snd);
  close(q);
  unlink("dq");

  /* Abstract names. */
  int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
  check_ret(bind_abstract(ab, "gk-test"), 0, 0, "bind @gk-test");
  check(strcmp(sockname(ab, 0), "@gk-test (len 10)") == 0, "its name: %s", sockname(ab, 0));
  check(access("gk-test", F_OK) == -1, "no file");
  int ab2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  check_ret(bind_abstract(ab2, "gk-test"), -1, EADDRINUSE, "a second datagram socket: EADDRINUSE");
  int abs_stream = socket(AF_UNIX, SOCK_STREAM, 0);
  check_ret(bind_abstract(abs_stream, "gk-test"), 0, 0, "a stream socket may have the same name");
  check_ret(connect_abstract(ab2, "gk-test"), 0, 0, "connect ab2 to it");
  send(ab2, "abs", 3, 0);
  check(rx(ab, 100, 0) == 3 && strcmp(rbuf, "abs") == 0, "received: %s", rbuf);
  check_ret(connect_abstract(ab2, "gk-none"), -1, ECONNREFUSED, "a name nobody has: ECONNREFUSED");
  close(ab);
  check_ret(send(ab2, "x", 1, 0), -1, ECONNREFUSED, "its socket closed: ECONNREFUSED");
  int st = socket(AF_UNIX, SOCK_STREAM, 0);
  listen(abs_stream, 1);
  check_ret(connect_abstract(st, "gk-test"), 0, 0, "the stream socket's name is still there");
  close(st);
  close(abs_stream);
  close(ab2);

  /* Autobind. */
  int au = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a = {AF_UNIX, {0}};
  check_ret(bind(au, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)), 0, 0, "bind with the family only");
  check(strcmp(sockname(au, 0), "@<5 hex digits> (len 8)") == 0, "an autobind name: %s", sockname(au, 0));
  char first[8];
  socklen_t len = sizeof a;
  getsockname(au, (struct sockaddr *)&a, &len);
  memcpy(first, a.sun_path, 6);
  a.sun_path[0] = 0;
  check_ret(bind(au, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)), 0, 0, "again: no change");
  len = sizeof a;
  getsockname(au, (struct sockaddr *)&a, &len);
  check(memcmp(first, a.sun_path, 6) == 0, "the same name");
  close(au);
  int pc = socket(AF_UNIX, SOCK_DGRAM, 0);
  setint(pc, SO_PASSCRED, 1);
  sendto_path(pc, "pc", "dsrv");
  check(strcmp(sockname(pc, 0), "@<5 hex digits> (len 8)") == 0, "SO_PASSCRED and sendto autobind: %s",
        sockname(pc, 0));
  flen = sizeof from;
  recvfrom(srv, rbuf, 100, 0, (struct sockaddr *)&from, &flen);
  check(strcmp(addr_text(&from, flen), "@<5 hex digits> (len 8)") == 0, "the receiver sees it: %s",
        addr_text(&from, flen));
  close(pc);

  int gone = socket(AF_UNIX, SOCK_DGRAM, 0);
  bind_path(gone, "dgone");
  close(gone);
  check_ret(sendto_path(cl, "x", "dgone"), -1, ECONNREFUSED, "sendto a closed socket's name: ECONNREFUSED");
  check_ret(sendto_path(cl, "x", "dnone"), -1, ENOENT, "sendto no file: ENOENT");
  check_ret(sendto_path(cl, "x", "dsrv"), 1, 0, "sendto dsrv");
  close(srv);
  check_ret(sendto_path(cl, "x", "dsrv"), -1, ECONNREFUSED, "after dsrv closed: ECONNREFUSED");
  unlink("dgone");
  unlink("dsrv");
  unlink("dcli");
  close(cl);
  close(third);
}

static void test_rights(const char *dir) {
  printf("# SCM_RIGHTS\n");
  (void)dir;
  int sv[2], ack[2];
  pair(SOCK_STREAM, sv);
  if (pipe(ack)) return;
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(sv[0]);
    int p[2];
    if (pipe(p)) _exit(10);
    if (write(p[1], "through a pipe", 14) != 14) _exit(11);
    close(p[1]);
    int f = open("rights-file", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (f < 0 || write(f, "file data", 9) != 9 || lseek(f, 0, SEEK_SET) != 0) _exit(12);
    int fds[2] = {p[0], f};
    if (send_fds(sv[1], "F", fds, 2) != 1) _exit(13);
    close(p[0]);
    char c;
    if (read(ack[0], &c, 1) != 1) _exit(14);
    _exit(lseek(f, 0, SEEK_CUR) == 4 ? 0 : 15); /* the parent's read moved our offset */
  }
  struct got g = recv_ctl(sv[0], 256, 0);
  check(g.n == 1 && g.nfds == 2 && !(g.flags & MSG_CTRUNC) && g.controllen == CMSG_SPACE(2 * sizeof(int)),
        "two descriptors from a child (controllen %zu)", g.controllen);
  char buf[32] = {0};
  check(g.nfds == 2 && read(g.fds[0], buf, sizeof buf) == 14 && strcmp(buf, "through a pipe") == 0, "the pipe: %s",
        buf);
  memset(buf, 0, sizeof buf);
  check(g.nfds == 2 && read(g.fds[1], buf, 4) == 4 && strcmp(buf, "file") == 0, "the file: %s", buf);
  check(g.nfds == 2 && fcntl(g.fds[0], F_GETFD) == 0, "without MSG_CMSG_CLOEXEC: no close-on-exec");
  write(ack[1], "k", 1);
  int status;
  wait_for(pid, &status, 0);
  check_status(status, 0, 0, "the child sees the offset the parent moved: one open file");
  close_got(&g);
  close(ack[0]);
  close(ack[1]);
  unlink("rights-file");

  int p[2];
  if (pipe(p)) return;
  int three[3] = {p[0], p[1], p[0]};
  send_fds(sv[1], "c", three, 1);
  g = recv_ctl(sv[0], 256, MSG_CMSG_CLOEXEC);
  check(g.nfds == 1 && fcntl(g.fds[0], F_GETFD) == FD_CLOEXEC && (g.flags & MSG_CMSG_CLOEXEC),
        "MSG_CMSG_CLOEXEC: close-on-exec (and in msg_flags)");
  close_got(&g);
  send_fds(sv[1], "t", three, 3);
  g = recv_ctl(sv[0], CMSG_LEN(sizeof(int)), 0);
  check(g.n == 1 && g.nfds == 1 && (g.flags & MSG_CTRUNC), "room for one of three: %d, MSG_CTRUNC", g.nfds);
  close_got(&g);
  send_fds(sv[1], "n", three, 2);
  g = recv_ctl(sv[0], 0, 0);
  check(g.n == 1 && g.nfds == 0 && (g.flags & MSG_CTRUNC), "no control buffer: MSG_CTRUNC");
  send_fds(sv[1], "r", three, 1);
  check(read(sv[0], buf, 10) == 1, "read() takes the data and drops the descriptor");
  int bad = 999;
  check_ret(send_fds(sv[1], "b", &bad, 1), -1, EBADF, "a closed descriptor: EBADF");
  {
    char ctl[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {"x", 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = 8;
    check_ret(sendmsg(sv[1], &m, 0), -1, EINVAL, "cmsg_len below the header: EINVAL");
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_type = 99;
    check_ret(sendmsg(sv[1], &m, 0), -1, EINVAL, "an unknown SOL_SOCKET type: EINVAL");
    c->cmsg_level = 6;
    check_ret(sendmsg(sv[1], &m, 0), 1, 0, "another level is ignored");
    c->cmsg_len = sizeof ctl + 8;
    c->cmsg_level = SOL_SOCKET;
    check_ret(sendmsg(sv[1], &m, 0), -1, EINVAL, "cmsg_len past the buffer: EINVAL");
    /* Raw calls: musl copies and limits the control buffer itself. */
    m.msg_control = BAD_PTR;
    check_ret(syscall(SYS_sendmsg, sv[1], &m, 0), -1, EFAULT, "a bad control pointer: EFAULT");
    m.msg_controllen = 200000;
    check_ret(syscall(SYS_sendmsg, sv[1], &m, 0), -1, ENOBUFS, "a huge control buffer: ENOBUFS");
    rx(sv[0], 100, 0);
  }

  /* Stream receives stop after a message that carried descriptors. */
  send(sv[1], "aaa", 3, 0);
  send_fds(sv[1], "bbb", three, 1);
  send(sv[1], "ccc", 3, 0);
  g = recv_ctl(sv[0], 256, MSG_PEEK);
  check(g.n == 6 && g.nfds == 1 && strncmp(rbuf, "aaabbb", 6) == 0, "MSG_PEEK: %ld bytes and a copy of the descriptor",
        g.n);
  close_got(&g);
  g = recv_ctl(sv[0], 256, 0);
  check(g.n == 6 && g.nfds == 1 && strcmp(rbuf, "aaabbb") == 0, "recv stops after it: %s", rbuf);
  close_got(&g);
  g = recv_ctl(sv[0], 256, 0);
  check(g.n == 3 && g.nfds == 0 && strcmp(rbuf, "ccc") == 0, "then the rest: %s", rbuf);
  close(p[0]);
  close(p[1]);

  /* A socket passed over a socket. */
  int inner[2];
  pair(SOCK_DGRAM, inner);
  send_fds(sv[1], "s", &inner[1], 1);
  close(inner[1]);
  g = recv_ctl(sv[0], 256, 0);
  check(g.nfds == 1 && send(g.fds[0], "via passed", 10, 0) == 10 && rx(inner[0], 100, 0) == 10,
        "a passed socket works: %s", rbuf);
  close_got(&g);
  close(inner[0]);
  close2(sv);

  /* Sockets that only their own messages keep open are collected when
   * another unix socket is released (Linux collects a little later: wait
   * for the names to come free). */
  int loop = socket(AF_UNIX, SOCK_DGRAM, 0);
  bind_abstract(loop, "gk-gc");
  connect_abstract(loop, "gk-gc");
  check_ret(send_fds(loop, "self", &loop, 1), 4, 0, "a socket sends itself to itself");
  pair(SOCK_STREAM, sv);
  bind_abstract(sv[0], "gk-gc2");
  send_fds(sv[0], "a", &sv[0], 1);
  send_fds(sv[1], "b", &sv[1], 1);
  close2(sv);
  close(loop);
  int again = socket(AF_UNIX, SOCK_DGRAM, 0), again2 = socket(AF_UNIX, SOCK_STREAM, 0);
  int free1 = 0, free2 = 0;
  for (int i = 0; i < 200 && !(free1 && free2); i++) {
    free1 = free1 || bind_abstract(again, "gk-gc") == 0;
    free2 = free2 || bind_abstract(again2, "gk-gc2") == 0;
    if (!(free1 && free2)) {
      close(socket(AF_UNIX, SOCK_DGRAM, 0));
      sleep_ms(10);
    }
  }
  check(free1 && free2, "once closed, it and a pair sent over each other are collected: their names are free");
  close(again);
  close(again2);
}

static void test_creds(void) {
  printf("# credentials\n");
  int sv[2];
  pair(SOCK_DGRAM, sv);
  check(getint(sv[1], SO_PASSCRED) == 0, "SO_PASSCRED is off by default");
  send(sv[0], "plain", 5, 0);
  struct got g = recv_ctl(sv[1], 256, 0);
  check(g.n == 5 && !g.has_cred && g.controllen == 0, "without it: no control message");
  setint(sv[1], SO_PASSCRED, 1);
  check(getint(sv[1], SO_PASSCRED) == 1, "SO_PASSCRED on");
  send(sv[0], "mine", 4, 0);
  g = recv_ctl(sv[1], 256, 0);
  check(g.has_cred && g.cred.pid == getpid() && g.cred.uid == 0 && g.cred.gid == 0,
        "SCM_CREDENTIALS: this process, uid %u gid %u", g.cred.uid, g.cred.gid);
  send(sv[0], "x", 1, 0);
  g = recv_ctl(sv[1], 0, 0);
  check(g.n == 1 && (g.flags & MSG_CTRUNC), "no control buffer: MSG_CTRUNC");

  int rep[2];
  if (pipe(rep)) return;
  pid_t pid = gt_fork();
  if (pid == 0) {
    char out[256];
    int n = 0;
    struct {
      struct cmsghdr h;
      struct ucred u;
    } c;
    struct iovec iov = {"e", 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = &c;
    m.msg_controllen = sizeof c;
    memset(&c, 0, sizeof c);
    c.h.cmsg_len = CMSG_LEN(sizeof(struct ucred));
    c.h.cmsg_level = SOL_SOCKET;
    c.h.cmsg_type = SCM_CREDENTIALS;
    c.u.pid = getppid();
    c.u.uid = 5;
    c.u.gid = 6;
    long r1 = (long)sendmsg(sv[0], &m, 0); /* root may claim anyone */
    c.u.pid = 999999;
    long r2 = (long)sendmsg(sv[0], &m, 0);
    int e2 = errno;
    c.u.pid = getpid();
    c.u.uid = (uid_t)-1;
    long r3 = (long)sendmsg(sv[0], &m, 0);
    int e3 = errno;
    c.u.uid = 0;
    c.h.cmsg_len = CMSG_LEN(8);
    long r4 = (long)sendmsg(sv[0], &m, 0);
    int e4 = errno;
    c.h.cmsg_len = CMSG_LEN(sizeof(struct ucred));
    if (setresgid(100, 200, 300) || setresuid(1000, 2000, 3000)) _exit(1);
    send(sv[0], "ids", 3, 0);
    c.u.pid = getppid();
    c.u.uid = 1000;
    c.u.gid = 100;
    long r5 = (long)sendmsg(sv[0], &m, 0);
    int e5 = errno;
    c.u.pid = getpid();
    c.u.uid = 3000;
    c.u.gid = 300;
    long r6 = (long)sendmsg(sv[0], &m, 0);
    c.u.uid = 4000;
    long r7 = (long)sendmsg(sv[0], &m, 0);
    int e7 = errno;
    n = snprintf(out, sizeof out, "root claims another pid and ids: %ld\nno such pid: %s\nuid -1: %s\nshort cmsg: %s\n"
                 "unprivileged, another pid: %s\nunprivileged, its saved ids: %ld\nunprivileged, other uid: %s\n",
                 r1, r2 < 0 ? errno_name(e2) : "sent", r3 < 0 ? errno_name(e3) : "sent",
                 r4 < 0 ? errno_name(e4) : "sent", r5 < 0 ? errno_name(e5) : "sent", r6,
                 r7 < 0 ? errno_name(e7) : "sent");
    write_all(rep[1], out, (size_t)n);
    _exit(0);
  }
  close(rep[1]);
  char report[512] = {0};
  read_full(rep[0], report, sizeof report - 1);
  close(rep[0]);
  int status;
  wait_for(pid, &status, 0);
  fputs(report, stdout);
  g = recv_ctl(sv[1], 256, 0);
  check(g.has_cred && g.cred.pid == getpid() && g.cred.uid == 5 && g.cred.gid == 6, "claimed: our pid, uid %u gid %u",
        g.cred.uid, g.cred.gid);
  g = recv_ctl(sv[1], 256, 0);
  check(g.has_cred && g.cred.pid == pid && g.cred.uid == 1000 && g.cred.gid == 100,
        "sent after setresuid: the child, real uid %u gid %u", g.cred.uid, g.cred.gid);
  g = recv_ctl(sv[1], 256, 0);
  check(g.has_cred && g.cred.pid == pid && g.cred.uid == 3000 && g.cred.gid == 300, "claimed saved ids: uid %u gid %u",
        g.cred.uid, g.cred.gid);
  check_ret(recv(sv[1], rbuf, 10, MSG_DONTWAIT), -1, EAGAIN, "nothing else arrived");
  close2(sv);

  /* Streams do not glue two writers' bytes when credentials are asked for. */
  pair(SOCK_STREAM, sv);
  setint(sv[1], SO_PASSCRED, 1);
  send(sv[0], "parent", 6, 0);
  pid = gt_fork();
  if (pid == 0) _exit(send(sv[0], "child", 5, 0) == 5 ? 0 : 1);
  wait_for(pid, &status, 0);
  send(sv[0], "parent", 6, 0);
  g = recv_ctl(sv[1], 256, 0);
  check(g.n == 6 && g.has_cred && g.cred.pid == getpid(), "stream: the parent's bytes alone: %s", rbuf);
  g = recv_ctl(sv[1], 256, 0);
  check(g.n == 5 && g.has_cred && g.cred.pid == pid, "then the child's: %s", rbuf);
  g = recv_ctl(sv[1], 256, 0);
  check(g.n == 6 && g.cred.pid == getpid(), "then the parent's again: %s", rbuf);
  close(sv[0]);
  g = recv_ctl(sv[1], 256, 0);
  check(g.n == 0 && g.has_cred && g.cred.pid == 0 && g.cred.uid == 0, "end of file: empty credentials");
  close(sv[1]);

  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  struct ucred cr;
  socklen_t crlen = sizeof cr;
  check(getsockopt(u, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0 && cr.pid == 0 && cr.uid == (uid_t)-1 &&
            cr.gid == (gid_t)-1,
        "SO_PEERCRED of an unconnected socket: pid 0 uid -1 gid -1");
  crlen = 4;
  int gr = getsockopt(u, SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
  check(gr == 0 && crlen == 4, "a short SO_PEERCRED: length %u", (unsigned)crlen);
  close(u);
  pair(SOCK_DGRAM, sv);
  crlen = sizeof cr;
  getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
  check(cr.pid == getpid(), "a datagram socketpair has SO_PEERCRED");
  close2(sv);
}

static void test_options(void) {
  printf("# socket options\n");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  check(getint(fd, SO_REUSEADDR) == 0 && setint(fd, SO_REUSEADDR, 5) == 0 && getint(fd, SO_REUSEADDR) == 1,
        "SO_REUSEADDR");
  check(setint(fd, SO_KEEPALIVE, 1) == 0 && getint(fd, SO_KEEPALIVE) == 1, "SO_KEEPALIVE");
  check_ret(setint(fd, SO_REUSEPORT, 1), -1, EOPNOTSUPP, "SO_REUSEPORT 1: EOPNOTSUPP");
  check_ret(setint(fd, SO_REUSEPORT, 0), 0, 0, "SO_REUSEPORT 0");
  check_ret(setint(fd, SO_TYPE, 1), -1, ENOPROTOOPT, "setting SO_TYPE: ENOPROTOOPT");
  check_ret(setint(fd, SO_ERROR, 1), -1, ENOPROTOOPT, "setting SO_ERROR: ENOPROTOOPT");
  check_ret(setint(fd, 9999, 1), -1, ENOPROTOOPT, "an unknown option: ENOPROTOOPT");
  check(getint(fd, 9999) == -100000 - ENOPROTOOPT, "getting it: ENOPROTOOPT");
  int v = 1;
  socklen_t len = sizeof v;
  check_ret(setsockopt(fd, 6, 1, &v, sizeof v), -1, EOPNOTSUPP, "another level: EOPNOTSUPP");
  check_ret(getsockopt(fd, 6, 1, &v, &len), -1, EOPNOTSUPP, "getting at another level: EOPNOTSUPP");
  check_ret(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, 2), -1, EINVAL, "optlen 2: EINVAL");
  check_ret(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, (socklen_t)-1), -1, EINVAL, "optlen -1: EINVAL");
  check_ret(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, BAD_PTR, 4), -1, EFAULT, "a bad value pointer: EFAULT");
  len = (socklen_t)-1;
  check_ret(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), -1, EINVAL, "getsockopt length -1: EINVAL");
  len = 4;
  check_ret(getsockopt(fd, SOL_SOCKET, SO_TYPE, BAD_PTR, &len), -1, EFAULT, "into a bad pointer: EFAULT");
  check_ret(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, BAD_PTR), -1, EFAULT, "a bad length pointer: EFAULT");
  unsigned char two[4] = {9, 9, 9, 9};
  len = 2;
  int gr = getsockopt(fd, SOL_SOCKET, SO_TYPE, two, &len);
  check(gr == 0 && len == 2 && two[0] == SOCK_STREAM && two[2] == 9, "SO_TYPE into 2 bytes: length %u", (unsigned)len);
  len = 8;
  long long wide = -1;
  gr = getsockopt(fd, SOL_SOCKET, SO_TYPE, &wide, &len);
  check(gr == 0 && len == 4, "into 8 bytes: length %u", (unsigned)len);
  struct linger l = {1, 5};
  check_ret(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0, 0, "SO_LINGER {1, 5}");
  check_ret(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, 4), -1, EINVAL, "a short linger: EINVAL");
  memset(&l, 0, sizeof l);
  len = sizeof l;
  gr = getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len);
  check(gr == 0 && l.l_onoff == 1 && l.l_linger == 5 && len == 8, "SO_LINGER reads {%d, %d}", l.l_onoff, l.l_linger);
  l.l_onoff = 0;
  l.l_linger = 9;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  len = sizeof l;
  getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len);
  check(l.l_onoff == 0 && l.l_linger == 5, "turned off: {%d, %d}", l.l_onoff, l.l_linger);
  struct timeval tv = {0, 0};
  len = sizeof tv;
  check(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0 && tv.tv_sec == 0 && tv.tv_usec == 0 &&
            len == sizeof tv,
        "SO_RCVTIMEO: none");
  tv.tv_sec = 1;
  tv.tv_usec = 500000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  memset(&tv, 0, sizeof tv);
  getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
  check(tv.tv_sec == 1 && tv.tv_usec == 500000, "SO_RCVTIMEO 1.5 s: %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
  tv.tv_sec = 0;
  tv.tv_usec = 200000;
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  memset(&tv, 0, sizeof tv);
  getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len);
  check(tv.tv_sec == 0 && tv.tv_usec == 200000, "SO_SNDTIMEO 0.2 s: %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
  tv.tv_usec = 1000000;
  check_ret(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), -1, EDOM, "usec 1000000: EDOM");
  check_ret(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, 8), -1, EINVAL, "a short timeval: EINVAL");
  check(getint(fd, SO_RCVLOWAT) == 1 && getint(fd, SO_SNDLOWAT) == 1, "SO_RCVLOWAT and SO_SNDLOWAT 1");
  check(getint(fd, SO_PASSCRED) == 0 && getint(fd, SO_ACCEPTCONN) == 0, "SO_PASSCRED and SO_ACCEPTCONN 0");
  struct sockaddr_un a;
  len = sizeof a;
  check_ret(getsockopt(fd, SOL_SOCKET, SO_PEERNAME, &a, &len), -1, ENOTCONN, "SO_PEERNAME unconnected: ENOTCONN");
  close(fd);
  int sv[2];
  pair(SOCK_STREAM, sv);
  len = sizeof a;
  check_ret(getsockopt(sv[0], SOL_SOCKET, SO_PEERNAME, &a, &len), -1, EINVAL,
            "SO_PEERNAME with more room than the name: EINVAL");
  len = 2;
  check_ret(getsockopt(sv[0], SOL_SOCKET, SO_PEERNAME, &a, &len), 0, 0, "with exactly its length");
  close2(sv);
}

static void test_waiting(void) {
  printf("# epoll, select, sendmmsg, recvmmsg\n");
  int sv[2];
  pair(SOCK_STREAM, sv);
  int ep = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN | EPOLLRDHUP | EPOLLET, {.u64 = 7}}, out[2];
  epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
  check_ret(epoll_wait(ep, out, 2, 0), 0, 0, "epoll: nothing yet");
  send(sv[0], "a", 1, 0);
  check(epoll_wait(ep, out, 2, 0) == 1 && out[0].data.u64 == 7 && out[0].events == EPOLLIN, "data: EPOLLIN");
  check_ret(epoll_wait(ep, out, 2, 0), 0, 0, "edge-triggered: once");
  send(sv[0], "b", 1, 0);
  check_ret(epoll_wait(ep, out, 2, 0), 1, 0, "more data: again");
  pid_t pid = gt_fork();
  if (pid == 0) {
    sleep_ms(50);
    close(sv[0]);
    _exit(0);
  }
  close(sv[0]);
  check(epoll_wait(ep, out, 2, 2000) == 1 && (out[0].events & (EPOLLHUP | EPOLLRDHUP)) == (EPOLLHUP | EPOLLRDHUP),
        "the last writer closes: EPOLLHUP|EPOLLRDHUP");
  int status;
  wait_for(pid, &status, 0);
  close(ep);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(sv[1], &rs);
  struct timeval tv = {0, 0};
  check(select(sv[1] + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(sv[1], &rs), "select: readable");
  close(sv[1]);

  pair(SOCK_DGRAM, sv);
  struct mmsghdr mm[4];
  struct iovec iov[4];
  char bufs[4][16];
  const char *msgs[3] = {"first", "second", "third!!"};
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 3; i++) {
    iov[i].iov_base = (void *)msgs[i];
    iov[i].iov_len = strlen(msgs[i]);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  check(sendmmsg(sv[0], mm, 3, 0) == 3 && mm[0].msg_len == 5 && mm[1].msg_len == 6 && mm[2].msg_len == 7,
        "sendmmsg: 3 datagrams");
  memset(mm, 0, sizeof mm);
  memset(bufs, 0, sizeof bufs);
  for (int i = 0; i < 4; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = sizeof bufs[i] - 1;
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(sv[1], mm, 4, MSG_DONTWAIT, NULL);
  check(n == 3 && mm[0].msg_len == 5 && mm[2].msg_len == 7 && strcmp(bufs[1], "second") == 0,
        "recvmmsg: %d datagrams", n);
  check_ret(recvmmsg(sv[1], mm, 4, MSG_DONTWAIT, NULL), -1, EAGAIN, "recvmmsg with nothing: EAGAIN");
  send(sv[0], "x", 1, 0);
  send(sv[0], "y", 1, 0);
  check_ret(recvmmsg(sv[1], mm, 4, MSG_WAITFORONE, NULL), 2, 0, "MSG_WAITFORONE: 2");
  check_ret(send(sv[0], BAD_PTR, 10, 0), -1, EFAULT, "send from a bad buffer: EFAULT");
  send(sv[0], "kept", 4, 0);
  check_ret(recv(sv[1], BAD_PTR, 10, 0), -1, EFAULT, "recv into a bad buffer: EFAULT");
  close2(sv);
  pair(SOCK_STREAM, sv);
  send(sv[0], "kept", 4, 0);
  check_ret(recv(sv[1], BAD_PTR, 10, 0), -1, EFAULT, "stream recv into a bad buffer: EFAULT");
  check(rx(sv[1], 10, 0) == 4 && strcmp(rbuf, "kept") == 0, "the data stays: %s", rbuf);
  check_ret(getsockname(sv[0], (struct sockaddr *)rbuf, BAD_PTR), -1, EFAULT, "getsockname with a bad length: EFAULT");
  check_ret(syscall(SYS_sendmsg, sv[0], BAD_PTR, 0), -1, EFAULT, "sendmsg of a bad msghdr: EFAULT");
  close2(sv);
}

/* Guest only: the families a kernel without networking refuses. */
static int families(void) {
  int fams[] = {AF_INET, AF_INET6, AF_NETLINK, AF_PACKET};
  const char *names[] = {"AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"};
  int sv[2];
  for (int i = 0; i < 4; i++) {
    int fd = socket(fams[i], SOCK_DGRAM, 0);
    printf("socket(%s): %s\n", names[i], fd < 0 ? errno_name(errno) : "created");
  }
  int r = socketpair(AF_INET, SOCK_STREAM, 0, sv);
  printf("socketpair(AF_INET): %s\n", r < 0 ? errno_name(errno) : "created");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 2 && strcmp(argv[1], "families") == 0) return families();
  if (argc != 2 || chdir(argv[1])) {
    fprintf(stderr, "usage: unixsock DIR | families\n");
    return 2;
  }
  test_create();
  test_stream_pair();
  test_dgram_pair();
  test_seqpacket_pair();
  test_paths();
  test_fork_server();
  test_dgram_names();
  test_rights(argv[1]);
  test_creds();
  test_options();
  test_waiting();
  return finish("unixsock");
}
