// Signal dispositions and masks. Recorded for now; delivery comes with the
// process work (a fault the guest cannot survive still kills it).
#include <signal.h>
#include <sys/syscall.h>

#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

constexpr uint64_t kUnblockable = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));

int64_t sys_rt_sigaction(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t sig = a.a[0];
  if (a.a[3] != 8) return -EINVAL;
  if (sig < 1 || sig > 64) return -EINVAL;
  KSigaction old = c.proc.sigactions[sig];
  if (a.a[1]) {
    if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
    KSigaction n;
    if (c.mm().copy_from_user(&n, a.a[1], sizeof n)) return -EFAULT;
    n.mask &= ~kUnblockable;
    c.proc.sigactions[sig] = n;
  }
  if (a.a[2] && c.mm().copy_to_user(a.a[2], &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigprocmask(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[3] != 8) return -EINVAL;
  uint64_t old = c.proc.sigmask;
  if (a.a[1]) {
    uint64_t set;
    if (c.mm().copy_from_user(&set, a.a[1], sizeof set)) return -EFAULT;
    switch (a.a[0]) {
    case SIG_BLOCK: c.proc.sigmask |= set; break;
    case SIG_UNBLOCK: c.proc.sigmask &= ~set; break;
    case SIG_SETMASK: c.proc.sigmask = set; break;
    default: return -EINVAL;
    }
    c.proc.sigmask &= ~kUnblockable;
  }
  if (a.a[2] && c.mm().copy_to_user(a.a[2], &old, sizeof old)) return -EFAULT;
  return 0;
}

} // namespace

void register_signal_syscalls(SyscallTable& t) {
  t.add(SYS_rt_sigaction, sys_rt_sigaction, "dxxu");
  t.add(SYS_rt_sigprocmask, sys_rt_sigprocmask, "dxxu");
}

} // namespace gk
