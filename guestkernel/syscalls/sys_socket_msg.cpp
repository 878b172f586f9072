// sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg: msghdr and the
// control messages (SCM_RIGHTS, SCM_CREDENTIALS) decoded into the kernel's
// form and back, with Linux's checks in its order (net/socket.c, scm.c).
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/socket_args.h"

namespace gk {

namespace {

constexpr size_t kMaxIov = 1024;       // UIO_MAXIOV
constexpr size_t kOptmemMax = 131072;  // net.core.optmem_max: the largest control buffer
constexpr size_t kMaxScmFds = 253;     // SCM_MAX_FD
constexpr size_t kCmsgHdr = sizeof(cmsghdr);
constexpr int kMsgCmsgCompat = int(0x80000000); // MSG_CMSG_COMPAT: the kernel's own, refused from user space

constexpr size_t cmsg_align(size_t n) { return (n + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1); }

// struct user_msghdr on x86-64.
struct UserMsghdr {
  uint64_t name;
  int32_t namelen, pad0;
  uint64_t iov, iovlen, control, controllen;
  uint32_t flags, pad1;
};
static_assert(sizeof(UserMsghdr) == 56);
constexpr uint64_t kNamelenAt = 8, kControllenAt = 40, kFlagsAt = 48;

int64_t import_iov(SyscallCtx& c, uint64_t uiov, uint64_t cnt, std::vector<iovec>& out) {
  if (cnt > kMaxIov) return -EMSGSIZE;
  out.resize(cnt);
  if (cnt && c.mm().copy_from_user(out.data(), uiov, cnt * sizeof(iovec))) return -EFAULT;
  for (auto& v : out) {
    if (int64_t(v.iov_len) < 0) return -EINVAL;
    if (!user_range_ok(uint64_t(reinterpret_cast<uintptr_t>(v.iov_base)), v.iov_len)) return -EFAULT;
  }
  return 0;
}

// copy_msghdr_from_user: the header, the destination (sends) and the iovecs.
int64_t read_msghdr(SyscallCtx& c, uint64_t umsg, UserMsghdr& m, std::vector<iovec>& iov, std::string* to) {
  if (c.mm().copy_from_user(&m, umsg, sizeof m)) return -EFAULT;
  if (!m.name) m.namelen = 0;
  if (m.namelen < 0) return -EINVAL;
  m.namelen = std::min(m.namelen, int32_t(sizeof(sockaddr_storage)));
  if (to && m.namelen)
    if (int64_t r = addr_from_user(c, m.name, uint64_t(m.namelen), *to)) return r;
  return import_iov(c, m.iov, m.iovlen, iov);
}

// SCM_CREDENTIALS: who may claim what (scm_check_creds).
int64_t check_creds(SyscallCtx& c, const net::Ucred& u) {
  if (u.uid == UINT32_MAX || u.gid == UINT32_MAX) return -EINVAL;
  const Creds& cr = c.proc().creds;
  bool root = cr.euid == 0; // CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID
  bool pid_ok = u.pid == c.proc().pid || root;
  bool uid_ok = u.uid == cr.uid || u.uid == cr.euid || u.uid == cr.suid || root;
  bool gid_ok = u.gid == cr.gid || u.gid == cr.egid || u.gid == cr.sgid || root;
  if (!pid_ok || !uid_ok || !gid_ok) return -EPERM;
  return c.kernel.find_process(u.pid) ? 0 : -ESRCH;
}

// scm_send: the control messages of a send.
int64_t parse_control(SyscallCtx& c, const std::vector<uint8_t>& ctl, net::Control& out) {
  for (size_t off = 0; ctl.size() >= kCmsgHdr && off + kCmsgHdr <= ctl.size();) {
    cmsghdr h;
    memcpy(&h, ctl.data() + off, kCmsgHdr);
    if (h.cmsg_len < kCmsgHdr || h.cmsg_len > ctl.size() - off) return -EINVAL;
    const uint8_t* data = ctl.data() + off + kCmsgHdr;
    size_t dlen = h.cmsg_len - kCmsgHdr;
    if (h.cmsg_level == SOL_SOCKET) {
      switch (h.cmsg_type) {
      case SCM_RIGHTS: {
        size_t n = dlen / sizeof(int);
        if (n > kMaxScmFds || out.files.size() + n > kMaxScmFds) return -EINVAL;
        for (size_t i = 0; i < n; ++i) {
          int fd;
          memcpy(&fd, data + i * sizeof fd, sizeof fd);
          auto f = c.proc().fds->get(fd);
          if (!f) return -EBADF;
          out.files.push_back(std::move(f));
        }
        break;
      }
      case SCM_CREDENTIALS: {
        if (dlen != sizeof(net::Ucred)) return -EINVAL;
        net::Ucred u;
        memcpy(&u, data, sizeof u);
        if (int64_t r = check_creds(c, u)) return r;
        out.creds = u;
        break;
      }
      default: return -EINVAL;
      }
    }
    off += cmsg_align(h.cmsg_len);
  }
  return 0;
}

// Writes received control messages into the caller's buffer as Linux's
// put_cmsg and scm_detach_fds do, setting MSG_CTRUNC for what does not fit.
class CmsgWriter {
public:
  CmsgWriter(SyscallCtx& c, uint64_t buf, uint64_t len, int& msg_flags)
      : c_(c), start_(buf), at_(buf), left_(len), flags_(msg_flags) {}
  uint64_t used() const { return at_ - start_; }

  void put(int type, const void* data, size_t dlen) {
    if (!at_ || left_ < kCmsgHdr) {
      flags_ |= MSG_CTRUNC;
      return;
    }
    size_t len = kCmsgHdr + dlen;
    if (left_ < len) {
      flags_ |= MSG_CTRUNC;
      len = left_;
    }
    if (!header(len, type) || c_.mm().copy_to_user(at_ + kCmsgHdr, data, len - kCmsgHdr)) return;
    advance(cmsg_align(kCmsgHdr + dlen));
  }

  // Each file that fits becomes a new descriptor of the receiver.
  void put_files(const std::vector<std::shared_ptr<File>>& files, bool cloexec) {
    size_t room = left_ <= kCmsgHdr ? 0 : (left_ - kCmsgHdr) / sizeof(int);
    size_t max = std::min(room, files.size()), i = 0;
    FdTable& fds = *c_.proc().fds;
    for (; i < max; ++i) {
      int fd = fds.install(files[i], 0, cloexec);
      if (fd < 0) break;
      if (c_.mm().copy_to_user(at_ + kCmsgHdr + i * sizeof fd, &fd, sizeof fd)) {
        fds.close(fd);
        break;
      }
    }
    if (i > 0 && header(kCmsgHdr + i * sizeof(int), SCM_RIGHTS)) advance(cmsg_align(kCmsgHdr + i * sizeof(int)));
    if (i < files.size()) flags_ |= MSG_CTRUNC;
  }

private:
  bool header(size_t len, int type) {
    cmsghdr h{};
    h.cmsg_len = len;
    h.cmsg_level = SOL_SOCKET;
    h.cmsg_type = type;
    return c_.mm().copy_to_user(at_, &h, kCmsgHdr) == 0;
  }
  void advance(size_t space) {
    size_t n = std::min<uint64_t>(space, left_);
    at_ += n;
    left_ -= n;
  }
  SyscallCtx& c_;
  uint64_t start_, at_, left_;
  int& flags_;
};

// ---- sends ----

// One sendmsg: the count sent, or -errno; `len` gets the message's length.
int64_t do_sendmsg(SyscallCtx& c, net::Socket& s, uint64_t umsg, int flags, size_t& len) {
  UserMsghdr m;
  std::vector<iovec> iov;
  std::string to;
  if (int64_t r = read_msghdr(c, umsg, m, iov, &to)) return r;
  if (m.controllen > INT32_MAX || m.controllen > kOptmemMax) return -ENOBUFS;
  std::vector<uint8_t> ctl(m.controllen);
  if (!ctl.empty() && c.mm().copy_from_user(ctl.data(), m.control, ctl.size())) return -EFAULT;
  net::MsgIter data(c.mm(), std::move(iov));
  len = data.left();
  net::SendArgs a{data, flags | (s.nonblock() ? MSG_DONTWAIT : 0), std::move(to)};
  if (int64_t r = parse_control(c, ctl, a.control)) return r;
  IoCtx io{c.kernel, c.task};
  return s.sock().sendmsg(io, a);
}

int64_t sys_sendto(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t len = std::min<uint64_t>(a.a[2], 0x7ffff000);
  if (!user_range_ok(a.a[1], len)) return -EFAULT;
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  std::string to;
  if (a.a[4])
    if (int64_t r = addr_from_user(c, a.a[4], a.a[5], to)) return r;
  net::MsgIter data(c.mm(), {iovec{reinterpret_cast<void*>(a.a[1]), len}});
  net::SendArgs args{data, int(a.a[3]) | (s->nonblock() ? MSG_DONTWAIT : 0), std::move(to)};
  IoCtx io{c.kernel, c.task};
  return s->sock().sendmsg(io, args);
}

int64_t sys_sendmsg(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[2]);
  if (flags & kMsgCmsgCompat) return -EINVAL;
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  size_t len;
  return do_sendmsg(c, *s, a.a[1], flags, len);
}

int64_t sys_sendmmsg(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[3]);
  if (flags & kMsgCmsgCompat) return -EINVAL;
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  uint64_t vlen = std::min<uint64_t>(uint32_t(a.a[2]), kMaxIov);
  int64_t err = 0;
  uint64_t sent = 0;
  for (; sent < vlen; ++sent) {
    uint64_t entry = a.a[1] + sent * sizeof(mmsghdr);
    size_t len = 0;
    err = do_sendmsg(c, *s, entry, flags, len);
    if (err < 0) break;
    uint32_t n = uint32_t(err);
    if (c.mm().copy_to_user(entry + offsetof(mmsghdr, msg_len), &n, sizeof n)) {
      err = -EFAULT;
      break;
    }
    if (n < len) { // a partial send ends the batch
      ++sent;
      break;
    }
  }
  return sent ? int64_t(sent) : err; // an error counts only when nothing went
}

// ---- receives ----

// One recvmsg: the count received, or -errno; `msg_flags` gets what it reports.
int64_t do_recvmsg(SyscallCtx& c, net::Socket& s, uint64_t umsg, int flags, int& msg_flags) {
  UserMsghdr m;
  std::vector<iovec> iov;
  if (int64_t r = read_msghdr(c, umsg, m, iov, nullptr)) return r;
  net::MsgIter data(c.mm(), std::move(iov));
  net::RecvArgs args{data, flags | (s.nonblock() ? MSG_DONTWAIT : 0)};
  IoCtx io{c.kernel, c.task};
  int64_t n = s.sock().recvmsg(io, args);
  if (n < 0) return n;
  msg_flags = (flags & MSG_CMSG_CLOEXEC) | args.msg_flags;
  CmsgWriter out(c, m.control, m.controllen, msg_flags);
  if (!m.control) {
    if (args.control.creds || !args.control.files.empty()) msg_flags |= MSG_CTRUNC;
  } else {
    if (args.control.creds) out.put(SCM_CREDENTIALS, &*args.control.creds, sizeof(net::Ucred));
    if (!args.control.files.empty()) out.put_files(args.control.files, flags & MSG_CMSG_CLOEXEC);
  }
  if (m.name)
    if (int64_t r = addr_to_user(c, args.from, m.name, umsg + kNamelenAt)) return r;
  uint32_t uflags = uint32_t(msg_flags);
  uint64_t used = out.used();
  if (c.mm().copy_to_user(umsg + kFlagsAt, &uflags, sizeof uflags)) return -EFAULT;
  if (c.mm().copy_to_user(umsg + kControllenAt, &used, sizeof used)) return -EFAULT;
  return n;
}

int64_t sys_recvfrom(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t len = std::min<uint64_t>(a.a[2], 0x7ffff000);
  if (!user_range_ok(a.a[1], len)) return -EFAULT;
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  net::MsgIter data(c.mm(), {iovec{reinterpret_cast<void*>(a.a[1]), len}});
  net::RecvArgs args{data, int(a.a[3]) | (s->nonblock() ? MSG_DONTWAIT : 0)};
  IoCtx io{c.kernel, c.task};
  int64_t n = s->sock().recvmsg(io, args);
  if (n >= 0 && a.a[4])
    if (int64_t r = addr_to_user(c, args.from, a.a[4], a.a[5])) return r;
  return n;
}

int64_t sys_recvmsg(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[2]);
  if (flags & kMsgCmsgCompat) return -EINVAL;
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  int msg_flags = 0;
  return do_recvmsg(c, *s, a.a[1], flags, msg_flags);
}

int64_t sys_recvmmsg(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[3]);
  if (flags & kMsgCmsgCompat) return -EINVAL;
  int64_t deadline = -1;
  if (a.a[4]) {
    timespec ts;
    if (c.mm().copy_from_user(&ts, a.a[4], sizeof ts)) return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return -EINVAL;
    deadline = int64_t(Kernel::now_ns()) + ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  if (!(flags & MSG_ERRQUEUE))
    if (int e = s->sock().take_error()) return -e;
  uint64_t vlen = uint32_t(a.a[2]), got = 0;
  int64_t err = 0;
  timespec left{};
  while (got < vlen) {
    uint64_t entry = a.a[1] + got * sizeof(mmsghdr);
    int msg_flags = 0;
    err = do_recvmsg(c, *s, entry, flags & ~MSG_WAITFORONE, msg_flags);
    if (err < 0) break;
    uint32_t n = uint32_t(err);
    err = c.mm().copy_to_user(entry + offsetof(mmsghdr, msg_len), &n, sizeof n) ? -EFAULT : 0;
    if (err) break;
    ++got;
    if (flags & MSG_WAITFORONE) flags |= MSG_DONTWAIT; // one is enough to wait for
    if (deadline >= 0) { // the timeout is looked at between messages only, as on Linux
      int64_t ns = std::max<int64_t>(deadline - int64_t(Kernel::now_ns()), 0);
      left = {ns / 1000000000, ns % 1000000000};
      if (!ns) break;
    }
  }
  if (err && got == 0) return err;
  if (err && err != -EAGAIN) s->sock().err = int(-err); // reported by the next call
  if (a.a[4] && got && c.mm().copy_to_user(a.a[4], &left, sizeof left)) return -EFAULT;
  return int64_t(got);
}

} // namespace

void register_socket_msg_syscalls(SyscallTable& t) {
  t.add(SYS_sendto, sys_sendto, "dbuxxd");
  t.add(SYS_recvfrom, sys_recvfrom, "dxuxxx");
  t.add(SYS_sendmsg, sys_sendmsg, "dxx");
  t.add(SYS_recvmsg, sys_recvmsg, "dxx");
  t.add(SYS_sendmmsg, sys_sendmmsg, "dxux");
  t.add(SYS_recvmmsg, sys_recvmmsg, "dxuxx");
}

} // namespace gk
