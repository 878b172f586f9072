// Process lifetime and per-thread state: exit, ids, TLS, robust lists, limits.
#include <asm/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

int64_t sys_exit_group(SyscallCtx& c, const SyscallArgs& a) {
  c.proc.exited = true;
  c.proc.exit_code = int(a.a[0] & 0xff);
  return 0;
}

int64_t sys_getpid(SyscallCtx& c, const SyscallArgs&) { return c.proc.pid; }
int64_t sys_getppid(SyscallCtx& c, const SyscallArgs&) { return c.proc.ppid; }
int64_t sys_gettid(SyscallCtx& c, const SyscallArgs&) { return c.proc.tid; }

int64_t sys_set_tid_address(SyscallCtx& c, const SyscallArgs& a) {
  c.proc.clear_child_tid = a.a[0];
  return c.proc.tid;
}

int64_t sys_set_robust_list(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[1] != 24) return -EINVAL; // sizeof(struct robust_list_head)
  c.proc.robust_list = a.a[0];
  return 0;
}

int64_t sys_get_robust_list(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[0] != 0 && int64_t(a.a[0]) != c.proc.tid) return -ESRCH;
  uint64_t len = 24;
  if (c.mm().copy_to_user(a.a[1], &c.proc.robust_list, 8) || c.mm().copy_to_user(a.a[2], &len, 8))
    return -EFAULT;
  return 0;
}

int64_t sys_arch_prctl(SyscallCtx& c, const SyscallArgs& a) {
  switch (a.a[0]) {
  case ARCH_SET_FS:
  case ARCH_SET_GS:
    if (a.a[1] >= mm::kUserTop) return -EPERM;
    (a.a[0] == ARCH_SET_FS ? c.regs().mut().fs_base : c.regs().mut().gs_base) = a.a[1];
    return 0;
  case ARCH_GET_FS:
  case ARCH_GET_GS: {
    uint64_t v = a.a[0] == ARCH_GET_FS ? c.regs().get().fs_base : c.regs().get().gs_base;
    return c.mm().copy_to_user(a.a[1], &v, sizeof v) ? -EFAULT : 0;
  }
  default:
    return -EINVAL;
  }
}

int64_t sys_prlimit64(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[0] != 0 && int64_t(a.a[0]) != c.proc.pid) return -ESRCH;
  if (a.a[1] >= RLIM_NLIMITS) return -EINVAL;
  rlimit& lim = c.proc.rlimits[a.a[1]];
  rlimit old = lim;
  if (a.a[2]) {
    rlimit n;
    if (c.mm().copy_from_user(&n, a.a[2], sizeof n)) return -EFAULT;
    if (n.rlim_cur > n.rlim_max) return -EINVAL;
    if (n.rlim_max > old.rlim_max && c.proc.creds.euid != 0) return -EPERM;
    if (a.a[1] == RLIMIT_NOFILE && n.rlim_max > uint64_t(FdTable::kMaxFds)) return -EPERM;
    lim = n;
  }
  if (a.a[3] && c.mm().copy_to_user(a.a[3], &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_getrlimit(SyscallCtx& c, const SyscallArgs& a) {
  SyscallArgs b{SYS_prlimit64, {0, a.a[0], 0, a.a[1], 0, 0}};
  return sys_prlimit64(c, b);
}

int64_t sys_setrlimit(SyscallCtx& c, const SyscallArgs& a) {
  SyscallArgs b{SYS_prlimit64, {0, a.a[0], a.a[1], 0, 0, 0}};
  return sys_prlimit64(c, b);
}

// Restartable sequences are optional; libcs fall back when ENOSYS.
int64_t sys_rseq(SyscallCtx&, const SyscallArgs&) { return -ENOSYS; }

} // namespace

void register_process_syscalls(SyscallTable& t) {
  t.add(SYS_exit, sys_exit_group, "d"); // single-threaded: exit ends the process
  t.add(SYS_exit_group, sys_exit_group, "d");
  t.add(SYS_getpid, sys_getpid, "");
  t.add(SYS_getppid, sys_getppid, "");
  t.add(SYS_gettid, sys_gettid, "");
  t.add(SYS_set_tid_address, sys_set_tid_address, "x");
  t.add(SYS_set_robust_list, sys_set_robust_list, "xu");
  t.add(SYS_get_robust_list, sys_get_robust_list, "dxx");
  t.add(SYS_arch_prctl, sys_arch_prctl, "xx");
  t.add(SYS_prlimit64, sys_prlimit64, "ddxx");
  t.add(SYS_getrlimit, sys_getrlimit, "dx");
  t.add(SYS_setrlimit, sys_setrlimit, "dx");
  t.add(SYS_rseq, sys_rseq, "xudx");
}

} // namespace gk
