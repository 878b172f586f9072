// setsockopt/getsockopt: the SOL_SOCKET options (Linux's sk_setsockopt /
// sk_getsockopt) over the state every socket has. AF_UNIX has no options
// at other levels (EOPNOTSUPP); an unknown option is ENOPROTOOPT.
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <climits>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/socket_args.h"

namespace gk {

namespace {

constexpr int kWmemMax = 4194304, kRmemMax = 4194304; // net.core.[wr]mem_max
constexpr int kMinSndbuf = 4608, kMinRcvbuf = 2304;   // SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF

struct SockTimeval { // struct __kernel_old_timeval = __kernel_sock_timeval on x86-64
  int64_t sec, usec;
};

// SO_RCVTIMEO/SO_SNDTIMEO to milliseconds (Linux's jiffies at HZ=1000).
int64_t set_timeout(SyscallCtx& c, uint64_t uval, int optlen, int64_t& ms) {
  SockTimeval tv;
  if (optlen < int(sizeof tv)) return -EINVAL;
  if (c.mm().copy_from_user(&tv, uval, sizeof tv)) return -EFAULT;
  if (tv.usec < 0 || tv.usec >= 1000000) return -EDOM;
  if (tv.sec < 0) { // never wait
    ms = 0;
    return 0;
  }
  ms = -1;
  if ((tv.sec || tv.usec) && tv.sec < LONG_MAX / 1000 - 1) ms = tv.sec * 1000 + (tv.usec + 999) / 1000;
  return 0;
}

bool* flag_option(net::Sock& sk, int name) {
  switch (name) {
  case SO_REUSEADDR: return &sk.reuseaddr;
  case SO_KEEPALIVE: return &sk.keepalive;
  case SO_BROADCAST: return &sk.broadcast;
  case SO_OOBINLINE: return &sk.oobinline;
  case SO_DONTROUTE: return &sk.dontroute;
  case SO_PASSCRED: return &sk.passcred;
  case SO_DEBUG: return &sk.debug;
  default: return nullptr;
  }
}

int64_t sock_setsockopt(SyscallCtx& c, net::Sock& sk, int name, uint64_t uval, int optlen) {
  int val;
  if (optlen < int(sizeof val)) return -EINVAL;
  if (c.mm().copy_from_user(&val, uval, sizeof val)) return -EFAULT;
  if (name == SO_DEBUG && val && c.proc().creds.euid != 0) return -EACCES; // CAP_NET_ADMIN
  if (bool* flag = flag_option(sk, name)) {
    *flag = val != 0;
    return 0;
  }
  switch (name) {
  case SO_TYPE:
  case SO_PROTOCOL:
  case SO_DOMAIN:
  case SO_ERROR: return -ENOPROTOOPT; // read-only
  case SO_REUSEPORT: return val ? -EOPNOTSUPP : 0; // for IP sockets only
  case SO_SNDBUFFORCE:
  case SO_RCVBUFFORCE:
    if (c.proc().creds.euid != 0) return -EPERM;
    val = std::max(val, 0);
    [[fallthrough]];
  case SO_SNDBUF:
  case SO_RCVBUF: {
    bool snd = name == SO_SNDBUF || name == SO_SNDBUFFORCE;
    bool force = name == SO_SNDBUFFORCE || name == SO_RCVBUFFORCE;
    unsigned v = unsigned(val);
    if (!force) v = std::min(v, unsigned(snd ? kWmemMax : kRmemMax));
    v = std::min(v, unsigned(INT_MAX / 2)) * 2;
    (snd ? sk.sndbuf : sk.rcvbuf) = std::max(int(v), snd ? kMinSndbuf : kMinRcvbuf);
    sk.changed(); // writers may go on
    return 0;
  }
  case SO_LINGER: {
    struct linger l;
    if (optlen < int(sizeof l)) return -EINVAL;
    if (c.mm().copy_from_user(&l, uval, sizeof l)) return -EFAULT;
    sk.linger = l.l_onoff != 0;
    if (sk.linger) sk.linger_secs = l.l_linger;
    return 0;
  }
  case SO_RCVLOWAT: sk.rcvlowat = val < 0 ? INT_MAX : std::max(val, 1); return 0;
  case SO_RCVTIMEO_OLD:
  case SO_RCVTIMEO_NEW: return set_timeout(c, uval, optlen, sk.rcvtimeo_ms);
  case SO_SNDTIMEO_OLD:
  case SO_SNDTIMEO_NEW: return set_timeout(c, uval, optlen, sk.sndtimeo_ms);
  default: return -ENOPROTOOPT;
  }
}

// The option's value as getsockopt reports it (before truncation to optlen).
int64_t sock_getsockopt(net::Sock& sk, int name, std::string& v) {
  auto put = [&v](const auto& x) { v.assign(reinterpret_cast<const char*>(&x), sizeof x); };
  if (bool* flag = flag_option(sk, name)) {
    put(int(*flag));
    return 0;
  }
  switch (name) {
  case SO_TYPE: put(sk.type); return 0;
  case SO_PROTOCOL: put(sk.protocol); return 0;
  case SO_DOMAIN: put(sk.family); return 0;
  case SO_ERROR: put(sk.take_error()); return 0;
  case SO_ACCEPTCONN: put(int(sk.listening())); return 0;
  case SO_SNDBUF: put(sk.sndbuf); return 0;
  case SO_RCVBUF: put(sk.rcvbuf); return 0;
  case SO_REUSEPORT:
  case SO_PRIORITY: put(0); return 0;
  case SO_RCVLOWAT: put(sk.rcvlowat); return 0;
  case SO_SNDLOWAT: put(1); return 0;
  case SO_LINGER: put(linger{sk.linger, sk.linger_secs}); return 0;
  case SO_RCVTIMEO_OLD:
  case SO_RCVTIMEO_NEW:
  case SO_SNDTIMEO_OLD:
  case SO_SNDTIMEO_NEW: {
    int64_t ms = (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW) ? sk.rcvtimeo_ms : sk.sndtimeo_ms;
    put(ms < 0 ? SockTimeval{0, 0} : SockTimeval{ms / 1000, ms % 1000 * 1000});
    return 0;
  }
  case SO_PEERCRED: {
    net::Ucred u = sk.peercred.value_or(net::Ucred{});
    put(u);
    return 0;
  }
  case SO_PEERNAME: return sk.getname(true, v) < 0 ? -ENOTCONN : 0;
  default: return -ENOPROTOOPT;
  }
}

int64_t sys_setsockopt(SyscallCtx& c, const SyscallArgs& a) {
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  int optlen = int(a.a[4]);
  if (optlen < 0) return -EINVAL;
  if (int(a.a[1]) != SOL_SOCKET) return -EOPNOTSUPP;
  return sock_setsockopt(c, s->sock(), int(a.a[2]), a.a[3], optlen);
}

int64_t sys_getsockopt(SyscallCtx& c, const SyscallArgs& a) {
  std::shared_ptr<File> f;
  net::Socket* s;
  if (int64_t r = socket_of(c, a.a[0], f, s)) return r;
  if (int(a.a[1]) != SOL_SOCKET) return -EOPNOTSUPP;
  int len;
  if (c.mm().copy_from_user(&len, a.a[4], sizeof len)) return -EFAULT;
  if (len < 0) return -EINVAL;
  int name = int(a.a[2]);
  std::string v;
  if (int64_t r = sock_getsockopt(s->sock(), name, v)) return r;
  if (name == SO_PEERNAME && int(v.size()) < len) return -EINVAL;
  len = std::min(len, int(v.size()));
  if (len && c.mm().copy_to_user(a.a[3], v.data(), size_t(len))) return -EFAULT;
  return c.mm().copy_to_user(a.a[4], &len, sizeof len) ? -EFAULT : 0;
}

} // namespace

void register_sockopt_syscalls(SyscallTable& t) {
  t.add(SYS_setsockopt, sys_setsockopt, "dddxd");
  t.add(SYS_getsockopt, sys_getsockopt, "dddxx");
}

} // namespace gk
