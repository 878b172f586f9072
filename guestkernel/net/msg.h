// What one send or receive carries: the caller's bytes (MsgIter), the
// addresses, and the control data (passed files, credentials), in kernel
// form. The syscall layer decodes msghdr/cmsg into these and back.
#pragma once
#include <fcntl.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "guestkernel/vfs/file.h"

namespace gk::mm {
class AddressSpace;
}

namespace gk::net {

// The caller's buffers, walked in order: user iovecs (a socket syscall) or
// one kernel buffer (read/write through the File interface).
class MsgIter {
public:
  MsgIter(mm::AddressSpace& as, std::vector<iovec> iov);
  MsgIter(void* buf, size_t n);
  size_t left() const { return left_; }
  // Copies the next n bytes (n <= left()) out of the buffers into `dst`, or
  // from `src` into them: 0, or -EFAULT with the position unmoved.
  int take(void* dst, size_t n);
  int put(const void* src, size_t n);

private:
  int copy(void* kbuf, size_t n, bool to_caller);
  mm::AddressSpace* as_ = nullptr;
  std::vector<iovec> iov_;
  size_t idx_ = 0, off_ = 0, left_ = 0;
};

// struct ucred: who sent a message, or who the peer was when it connected.
struct Ucred {
  int32_t pid = 0;
  uint32_t uid = UINT32_MAX, gid = UINT32_MAX;
};

// SCM_RIGHTS and SCM_CREDENTIALS in kernel form.
struct Control {
  std::vector<std::shared_ptr<File>> files;
  std::optional<Ucred> creds;
};

struct SendArgs {
  SendArgs(MsgIter& d, int f, std::string dest = {}) : data(d), flags(f), to(std::move(dest)) {}
  MsgIter& data;
  int flags = 0;  // MSG_*; MSG_DONTWAIT also for an O_NONBLOCK file
  std::string to; // sockaddr bytes; empty: the connected peer
  Control control;
};

struct RecvArgs {
  RecvArgs(MsgIter& d, int f) : data(d), flags(f) {}
  MsgIter& data;
  int flags = 0;
  // Filled in by the receive:
  std::string from;  // the sender's sockaddr bytes; empty: unnamed
  int msg_flags = 0; // MSG_TRUNC
  Control control;   // files passed, and credentials when the socket asks for them
};

} // namespace gk::net
