// prctl(2): the per-process switches programs set on themselves.
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cstring>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

constexpr uint64_t kCapLastCap = 40; // CAP_CHECKPOINT_RESTORE, as /proc/sys/kernel/cap_last_cap says

int64_t put_int(SyscallCtx& c, uint64_t uaddr, int v) { return c.mm().copy_to_user(uaddr, &v, sizeof v) ? -EFAULT : 0; }

int64_t sys_prctl(SyscallCtx& c, const SyscallArgs& a) {
  Process& p = c.proc();
  Task& t = c.task;
  uint64_t arg2 = a.a[1];
  bool rest_zero = !a.a[2] && !a.a[3] && !a.a[4];
  switch (int(a.a[0])) {
  case PR_SET_NAME: { // the calling thread's name; the leader's is the process's
    char name[16] = {};
    int64_t n = c.mm().strncpy_from_user(name, arg2, sizeof name - 1);
    if (n == -EFAULT) return -EFAULT;
    if (t.tid == p.pid) p.comm = name;
    else t.comm = name;
    return 0;
  }
  case PR_GET_NAME: {
    char name[16] = {};
    const std::string& comm = t.comm.empty() ? p.comm : t.comm;
    memcpy(name, comm.data(), std::min(comm.size(), sizeof name - 1));
    return c.mm().copy_to_user(arg2, name, sizeof name) ? -EFAULT : 0;
  }
  case PR_SET_PDEATHSIG:
    if (arg2 > 64) return -EINVAL;
    p.pdeath_signal = int(arg2);
    return 0;
  case PR_GET_PDEATHSIG: return put_int(c, arg2, p.pdeath_signal);
  case PR_GET_DUMPABLE: return p.dumpable ? 1 : 0;
  case PR_SET_DUMPABLE:
    if (arg2 > 1) return -EINVAL;
    p.dumpable = arg2 == 1;
    return 0;
  case PR_SET_NO_NEW_PRIVS:
    if (arg2 != 1 || !rest_zero) return -EINVAL;
    p.no_new_privs = true;
    return 0;
  case PR_GET_NO_NEW_PRIVS:
    if (arg2 || !rest_zero) return -EINVAL;
    return p.no_new_privs ? 1 : 0;
  case PR_SET_CHILD_SUBREAPER:
    p.child_subreaper = arg2 != 0;
    return 0;
  case PR_GET_CHILD_SUBREAPER: return put_int(c, arg2, p.child_subreaper ? 1 : 0);
  case PR_CAPBSET_READ: return arg2 <= kCapLastCap ? 1 : -EINVAL; // the full bounding set
  case PR_GET_SECCOMP: return 0;
  default: return -EINVAL;
  }
}

} // namespace

void register_prctl_syscalls(SyscallTable& t) { t.add(SYS_prctl, sys_prctl, "dxxxx"); }

} // namespace gk
