// A socket as an open file (Linux's struct socket on sockfs): read and
// write are a receive and a send without flags, fstat shows S_IFSOCK, and
// /proc/PID/fd shows socket:[INODE]. The file owns its protocol object
// (Sock); closing the last reference releases it.
#pragma once
#include <memory>

#include "guestkernel/net/sock.h"
#include "guestkernel/vfs/file.h"

namespace gk {
struct Creds;
}

namespace gk::net {

class Socket : public File {
public:
  Socket(std::shared_ptr<Sock> sk, const Creds& owner);
  ~Socket() override;
  Sock& sock() const { return *sk_; }
  bool nonblock() const { return flags & O_NONBLOCK; }

  int64_t read(IoCtx& io, void* buf, size_t n) override;
  int64_t write(IoCtx& io, const void* buf, size_t n) override;
  int64_t ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) override;
  int64_t stat(struct stat& st) override;
  unsigned poll_events() override { return sk_->poll(); }
  void poll_queues(std::vector<WaitQueue*>& q) override { q.push_back(&sk_->wait); }
  uint64_t poll_generation() override { return sk_->generation; }
  std::string describe() const override { return "socket:[" + std::to_string(ino_) + "]"; }

private:
  std::shared_ptr<Sock> sk_;
  uint64_t ino_;
  uint32_t uid_, gid_;
  timespec created_;
};

// socket(2)'s core: a new protocol object, or Linux's errno for the family,
// type and protocol. Only AF_UNIX exists: the guest has no network stack,
// so every other family is EAFNOSUPPORT, as in a kernel built without it.
int64_t create_sock(int family, int type, int protocol, std::shared_ptr<Sock>& out);

// The socket open on `f`, or null (ENOTSOCK for the socket calls).
inline Socket* as_socket(File& f) { return dynamic_cast<Socket*>(&f); }

} // namespace gk::net
