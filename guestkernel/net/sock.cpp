#include "guestkernel/net/sock.h"

#include "guestkernel/kernel.h"

namespace gk::net {

Timeout Sock::timeout(int64_t ms) {
  constexpr int64_t kCentury = 100LL * 365 * 86400 * 1000; // longer waits are forever (no overflow)
  Timeout t;
  if (ms == 0)
    t.expired = true;
  else if (ms > 0 && ms < kCentury)
    t.deadline_ns = int64_t(Kernel::now_ns()) + ms * 1'000'000;
  return t;
}

int64_t Sock::intr_errno(const Timeout& t) { return t.deadline_ns < 0 ? kErestartSys : -EINTR; }

int64_t Sock::sleep(IoCtx& io, Timeout& t) {
  if (t.expired) return -EAGAIN;
  auto self = shared_from_this(); // `wait` must outlive the sleep
  switch (io.kernel.block(io.task, &wait, t.deadline_ns, true)) {
  case WakeReason::Signal: return intr_errno(t);
  case WakeReason::Timeout: t.expired = true; return -EAGAIN;
  default: return 0;
  }
}

Ucred sender_cred(const IoCtx& io) {
  const Process& p = *io.task.proc;
  return Ucred{p.pid, p.creds.uid, p.creds.gid};
}

Ucred peer_cred(const IoCtx& io) {
  const Process& p = *io.task.proc;
  return Ucred{p.pid, p.creds.euid, p.creds.egid};
}

} // namespace gk::net
