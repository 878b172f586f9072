// Decoding the socket syscalls' arguments: the socket behind an fd, socket
// addresses in and out of user memory (Linux's move_addr_to_kernel /
// move_addr_to_user), and the socket side of read/write/readv/writev.
#pragma once
#include <sys/uio.h>

#include <memory>
#include <string>
#include <vector>

#include "guestkernel/net/socket.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

// The socket open on `fd`: -EBADF, -ENOTSOCK or 0 (`file` keeps it open).
int64_t socket_of(SyscallCtx& c, uint64_t fd, std::shared_ptr<File>& file, net::Socket*& sock);

// An address from the caller: at most sizeof(sockaddr_storage) bytes, none for len 0.
int64_t addr_from_user(SyscallCtx& c, uint64_t uaddr, uint64_t len, std::string& out);
// Copies `addr` to (uaddr, *ulen), truncated to *ulen, and stores its full length.
int64_t addr_to_user(SyscallCtx& c, const std::string& addr, uint64_t uaddr, uint64_t ulen);

// read/write/readv/writev on a socket: one receive or send of the whole vector.
int64_t socket_rw(SyscallCtx& c, net::Socket& s, std::vector<iovec> iov, bool write);

// User buffers a socket call may use: below the top of user space.
bool user_range_ok(uint64_t addr, uint64_t len);

} // namespace gk
