// A socket's protocol object (Linux's struct sock): the state every family
// shares - buffer sizes, timeouts, the pending error, shutdown bits, the
// peer's credentials and the wait queue that blocked callers and pollers
// sleep on - and the operations a family implements. The open file a
// process holds is a Socket (socket.h), which owns one Sock; a family may
// make Socks without a file (a connection waiting in a listener's queue).
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "guestkernel/net/msg.h"
#include "guestkernel/sched/wait_queue.h"
#include "guestkernel/vfs/file.h"

namespace gk::net {

inline constexpr unsigned kRcvShutdown = 1, kSendShutdown = 2, kShutdownMask = 3;

// How long a blocking call may wait (SO_RCVTIMEO / SO_SNDTIMEO, or none at
// all for a non-blocking call), as Linux's `timeo`.
struct Timeout {
  int64_t deadline_ns = -1; // -1: forever
  bool expired = false;     // non-blocking, or the time is up
};

class Sock : public std::enable_shared_from_this<Sock> {
public:
  Sock(int family, int type) : family(family), type(type) {}
  virtual ~Sock() = default;

  // ---- the family's operations; 0 / a count, or -errno ----
  virtual int64_t bind(IoCtx&, const std::string& addr) = 0;
  virtual int64_t connect(IoCtx&, const std::string& addr, bool nonblock) = 0;
  virtual int64_t listen(IoCtx&, int backlog) = 0;
  virtual int64_t accept(IoCtx&, bool nonblock, std::shared_ptr<Sock>& out) = 0;
  // The local (or peer) address as sockaddr bytes.
  virtual int64_t getname(bool peer, std::string& out) = 0;
  virtual int64_t sendmsg(IoCtx&, SendArgs&) = 0;
  virtual int64_t recvmsg(IoCtx&, RecvArgs&) = 0;
  virtual int64_t shutdown(int how) = 0;
  virtual unsigned poll() = 0;
  // SIOCINQ / SIOCOUTQ: the value to store, or -errno / -ENOTTY.
  virtual int64_t ioctl_value(unsigned long cmd) = 0;
  virtual bool listening() const = 0;
  // The last file holding this socket is closed.
  virtual void release() = 0;

  // ---- state shared by every family (sock_setsockopt's fields) ----
  const int family;
  int type;
  int protocol = 0;
  int sndbuf = kDefaultBuf, rcvbuf = kDefaultBuf;
  int64_t rcvtimeo_ms = -1, sndtimeo_ms = -1; // -1: wait forever; 0: never wait
  bool passcred = false;
  bool reuseaddr = false, keepalive = false, broadcast = false, oobinline = false, dontroute = false, debug = false;
  int rcvlowat = 1; // bytes a stream receive waits for
  bool linger = false;
  int linger_secs = 0;
  int err = 0;            // sk_err: reported once, by the next call that looks
  unsigned shutdown_bits = 0;
  std::optional<Ucred> peercred;
  bool has_file = false;  // an open file holds it (a queued connection has none yet)

  static constexpr int kDefaultBuf = 212992; // net.core.[rw]mem_default

  // Wakes every waiter and poller; `generation` moves for EPOLLET.
  void changed() {
    ++generation;
    wait.wake_all();
  }
  int take_error() {
    int e = err;
    err = 0;
    return e;
  }
  Timeout rcv_timeout(bool nonblock) const { return timeout(nonblock ? 0 : rcvtimeo_ms); }
  Timeout snd_timeout(bool nonblock) const { return timeout(nonblock ? 0 : sndtimeo_ms); }
  // Sleeps on `wait` until woken: 0, -EAGAIN once the time is up, or the
  // errno of an interruption (a restart unless a timeout was set).
  int64_t sleep(IoCtx& io, Timeout& t);
  // The errno of a signal interrupting a wait with timeout `t`.
  static int64_t intr_errno(const Timeout& t);

  WaitQueue wait;
  uint64_t generation = 0;

private:
  static Timeout timeout(int64_t ms);
};

// The caller's credentials as a message carries them (real ids) and as a
// connection records its peer (effective ids).
Ucred sender_cred(const IoCtx& io);
Ucred peer_cred(const IoCtx& io);

} // namespace gk::net
