// socket, socketpair, bind, connect, listen, accept/accept4, getsockname,
// getpeername, shutdown: the checks Linux's net/socket.c makes before the
// protocol's own, in its order.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "guestkernel/kernel.h"
#include "guestkernel/net/unix_sock.h"
#include "guestkernel/syscalls/socket_args.h"

namespace gk {

namespace {

constexpr int kTypeMask = 0xf; // SOCK_TYPE_MASK: the rest of `type` is flags

int64_t type_flags(int& type) {
  int flags = type & ~kTypeMask;
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
  type &= kTypeMask;
  return flags;
}

std::shared_ptr<net::Socket> new_file(SyscallCtx& c, std::shared_ptr<net::Sock> sk, int flags) {
  auto f = std::make_shared<net::Socket>(std::move(sk), c.proc().creds);
  if (flags & SOCK_NONBLOCK) f->flags |= O_NONBLOCK;
  return f;
}

int64_t sys_socket(SyscallCtx& c, const SyscallArgs& a) {
  int type = int(a.a[1]);
  int64_t flags = type_flags(type);
  if (flags < 0) return flags;
  std::shared_ptr<net::Sock> sk;
  if (int64_t r = net::create_sock(int(a.a[0]), type, int(a.a[2]), sk)) return r;
  return c.proc().fds->install(new_file(c, std::move(sk), int(flags)), 0, flags & SOCK_CLOEXEC);
}

// The lowest free descriptor at or after `from` (socketpair's reservation).
int free_fd(const FdTable& fds, int from) {
  for (int fd = from; fd < FdTable::kMaxFds; ++fd)
    if (!fds.get(fd)) return fd;
  return -EMFILE;
}

int64_t sys_socketpair(SyscallCtx& c, const SyscallArgs& a) {
  int type = int(a.a[1]);
  int64_t flags = type_flags(type);
  if (flags < 0) return flags;
  FdTable& fds = *c.proc().fds;
  int fd0 = free_fd(fds, 0);
  if (fd0 < 0) return fd0;
  int fd1 = free_fd(fds, fd0 + 1);
  if (fd1 < 0) return fd1;
  // As Linux: the descriptors are stored before the sockets exist.
  int32_t sv[2] = {fd0, fd1};
  if (c.mm().copy_to_user(a.a[3], sv, sizeof sv)) return -EFAULT;
  std::shared_ptr<net::Sock> s0, s1;
  if (int64_t r = net::create_sock(int(a.a[0]), type, int(a.a[2]), s0)) return r;
  if (int64_t r = net::create_sock(int(a.a[0]), type, int(a.a[2]), s1)) return r;
  net::UnixSock::pair(static_cast<net::UnixSock&>(*s0), static_cast<net::UnixSock&>(*s1),
                      net::peer_cred(IoCtx{c.kernel, c.task}));
  fds.install_at(fd0, new_file(c, std::move(s0), int(flags)), flags & SOCK_CLOEXEC);
  fds.install_at(fd1, new_file(c, std::move(s1), int(flags)), flags & SOCK_CLOEXEC);
  return 0;
}

int64_t sys_bind(SyscallCtx& c, const SyscallArgs& a) {
  std::shared_ptr<File> f;
  net::Socket* s;
  std::string addr;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  if (int64_t r = addr_from_user(c, a.a[1], a.a[2], addr)) return r;
  IoCtx io{c.kernel, c.task};
  return s->sock().bind(io, addr);
}

int64_t sys_connect(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  std::string addr;
  if (int64_t r = addr_from_user(c, a.a[1], a.a[2], addr)) return r; // before ENOTSOCK, as Linux
  net::Socket* s = net::as_socket(*f);
  if (!s) return -ENOTSOCK;
  IoCtx io{c.kernel, c.task};
  return s->sock().connect(io, addr, s->nonblock());
}

int64_t sys_listen(SyscallCtx& c, const SyscallArgs& a) {
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  constexpr unsigned kSomaxconn = 4096; // net.core.somaxconn
  int backlog = int(a.a[1]);
  if (unsigned(backlog) > kSomaxconn) backlog = int(kSomaxconn);
  IoCtx io{c.kernel, c.task};
  return s->sock().listen(io, backlog);
}

int64_t do_accept(SyscallCtx& c, uint64_t fd, uint64_t uaddr, uint64_t ulen, int flags) {
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, fd, f, s)) return r;
  FdTable& fds = *c.proc().fds;
  if (int r = free_fd(fds, 0); r < 0) return r;
  IoCtx io{c.kernel, c.task};
  std::shared_ptr<net::Sock> sk;
  if (int64_t r = s->sock().accept(io, s->nonblock(), sk)) return r;
  auto file = new_file(c, std::move(sk), flags);
  if (uaddr) {
    std::string peer;
    if (file->sock().getname(true, peer) < 0) return -ECONNABORTED;
    if (int64_t r = addr_to_user(c, peer, uaddr, ulen)) return r; // the connection is lost, as on Linux
  }
  return fds.install(std::move(file), 0, flags & SOCK_CLOEXEC);
}

int64_t sys_accept(SyscallCtx& c, const SyscallArgs& a) { return do_accept(c, a.a[0], a.a[1], a.a[2], 0); }
int64_t sys_accept4(SyscallCtx& c, const SyscallArgs& a) { return do_accept(c, a.a[0], a.a[1], a.a[2], int(a.a[3])); }

int64_t do_getname(SyscallCtx& c, const SyscallArgs& a, bool peer) {
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  std::string addr;
  if (int64_t r = s->sock().getname(peer, addr)) return r;
  return addr_to_user(c, addr, a.a[1], a.a[2]);
}

int64_t sys_getsockname(SyscallCtx& c, const SyscallArgs& a) { return do_getname(c, a, false); }
int64_t sys_getpeername(SyscallCtx& c, const SyscallArgs& a) { return do_getname(c, a, true); }

int64_t sys_shutdown(SyscallCtx& c, const SyscallArgs& a) {
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  return s->sock().shutdown(int(a.a[1]));
}

} // namespace

void register_socket_syscalls(SyscallTable& t) {
  t.add(SYS_socket, sys_socket, "ddd");
  t.add(SYS_socketpair, sys_socketpair, "dddx");
  t.add(SYS_bind, sys_bind, "dxd");
  t.add(SYS_connect, sys_connect, "dxd");
  t.add(SYS_listen, sys_listen, "dd");
  t.add(SYS_accept, sys_accept, "dxx");
  t.add(SYS_accept4, sys_accept4, "dxxx");
  t.add(SYS_getsockname, sys_getsockname, "dxx");
  t.add(SYS_getpeername, sys_getpeername, "dxx");
  t.add(SYS_shutdown, sys_shutdown, "dd");
}

} // namespace gk
