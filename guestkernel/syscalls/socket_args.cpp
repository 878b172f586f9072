#include "guestkernel/syscalls/socket_args.h"

#include <sys/socket.h>

#include <algorithm>

#include "guestkernel/kernel.h"

namespace gk {

int64_t socket_of(SyscallCtx& c, uint64_t fd, std::shared_ptr<File>& file, net::Socket*& sock) {
  file = c.proc().fds->get(int(fd));
  if (!file) return -EBADF;
  sock = net::as_socket(*file);
  return sock ? 0 : -ENOTSOCK;
}

int64_t addr_from_user(SyscallCtx& c, uint64_t uaddr, uint64_t len, std::string& out) {
  int ilen = int(len);
  if (ilen < 0 || size_t(ilen) > sizeof(sockaddr_storage)) return -EINVAL;
  out.assign(size_t(ilen), '\0');
  if (ilen && c.mm().copy_from_user(out.data(), uaddr, size_t(ilen))) return -EFAULT;
  return 0;
}

int64_t addr_to_user(SyscallCtx& c, const std::string& addr, uint64_t uaddr, uint64_t ulen) {
  int len;
  if (c.mm().copy_from_user(&len, ulen, sizeof len)) return -EFAULT;
  if (len > int(addr.size())) len = int(addr.size());
  if (len < 0) return -EINVAL;
  if (len && c.mm().copy_to_user(uaddr, addr.data(), size_t(len))) return -EFAULT;
  int full = int(addr.size()); // the length before truncation, as POSIX wants
  return c.mm().copy_to_user(ulen, &full, sizeof full) ? -EFAULT : 0;
}

bool user_range_ok(uint64_t addr, uint64_t len) {
  constexpr uint64_t kTaskSize = 0x7ffffffff000; // the top of x86-64 user space (access_ok)
  return len <= kTaskSize && addr <= kTaskSize - len;
}

int64_t socket_rw(SyscallCtx& c, net::Socket& s, std::vector<iovec> iov, bool write) {
  IoCtx io{c.kernel, c.task};
  net::MsgIter data(c.mm(), std::move(iov));
  int flags = s.nonblock() ? MSG_DONTWAIT : 0;
  if (write) {
    net::SendArgs a{data, flags};
    return s.sock().sendmsg(io, a);
  }
  net::RecvArgs a{data, flags};
  return s.sock().recvmsg(io, a);
}

} // namespace gk
