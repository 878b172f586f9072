#include "guestkernel/net/socket.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "guestkernel/net/unix_sock.h"
#include "guestkernel/task.h"
#include "guestkernel/vfs/vfs.h"
#include "mm/address_space.h"

namespace gk::net {

namespace {

// sockfs: one anonymous device, inode numbers handed out in order.
dev_t sockfs_dev() {
  static dev_t dev = vfs::next_anon_dev();
  return dev;
}

uint64_t next_ino() {
  static uint64_t ino = 1000;
  return ino++;
}

} // namespace

Socket::Socket(std::shared_ptr<Sock> sk, const Creds& owner)
    : sk_(std::move(sk)), ino_(next_ino()), uid_(owner.fsuid), gid_(owner.fsgid) {
  flags = O_RDWR;
  sk_->has_file = true;
  clock_gettime(CLOCK_REALTIME, &created_);
}

Socket::~Socket() {
  sk_->has_file = false;
  sk_->release();
}

int64_t Socket::read(IoCtx& io, void* buf, size_t n) {
  MsgIter data(buf, n);
  RecvArgs r{data, nonblock() ? MSG_DONTWAIT : 0};
  return sk_->recvmsg(io, r);
}

int64_t Socket::write(IoCtx& io, const void* buf, size_t n) {
  MsgIter data(const_cast<void*>(buf), n);
  SendArgs s{data, nonblock() ? MSG_DONTWAIT : 0};
  return sk_->sendmsg(io, s);
}

int64_t Socket::ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) {
  int64_t v = sk_->ioctl_value(cmd);
  if (v < 0) return v;
  int out = int(v);
  return as.copy_to_user(arg, &out, sizeof out) ? -EFAULT : 0;
}

int64_t Socket::stat(struct stat& st) {
  st = {};
  st.st_dev = sockfs_dev();
  st.st_ino = ino_;
  st.st_mode = S_IFSOCK | 0777;
  st.st_nlink = 1;
  st.st_uid = uid_;
  st.st_gid = gid_;
  st.st_blksize = 4096;
  st.st_atim = st.st_mtim = st.st_ctim = created_;
  return 0;
}

int64_t create_sock(int family, int type, int protocol, std::shared_ptr<Sock>& out) {
  constexpr int kFamilies = 46; // AF_MAX
  constexpr int kTypes = 11;    // SOCK_MAX
  if (family < 0 || family >= kFamilies) return -EAFNOSUPPORT;
  if (type < 0 || type >= kTypes) return -EINVAL;
  if (family != AF_UNIX) return -EAFNOSUPPORT;
  return UnixSock::create(type, protocol, out);
}

} // namespace gk::net
