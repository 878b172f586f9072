// Process lifetime and per-thread state: clone/fork/vfork, execve, exit,
// wait, ids, process groups and sessions, TLS, robust lists, limits.
#include <asm/prctl.h>
#include <linux/sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

int64_t sys_exit(SyscallCtx& c, const SyscallArgs& a) {
  c.task.exiting = true;
  c.task.exit_code = int(a.a[0] & 0xff);
  return kSyscallNoReturn;
}

int64_t sys_exit_group(SyscallCtx& c, const SyscallArgs& a) {
  c.kernel.exit_group(c.task, int(a.a[0] & 0xff) << 8);
  return kSyscallNoReturn;
}

int64_t sys_getpid(SyscallCtx& c, const SyscallArgs&) { return c.proc().pid; }
int64_t sys_getppid(SyscallCtx& c, const SyscallArgs&) { return c.proc().parent ? c.proc().parent->pid : 0; }
int64_t sys_gettid(SyscallCtx& c, const SyscallArgs&) { return c.task.tid; }

int64_t sys_clone(SyscallCtx& c, const SyscallArgs& a) {
  // x86-64 order: flags, stack, parent_tid, child_tid, tls.
  return c.kernel.clone_task(c.task, a.a[0], a.a[1], a.a[2], a.a[3], a.a[4]);
}

int64_t sys_fork(SyscallCtx& c, const SyscallArgs&) { return c.kernel.clone_task(c.task, SIGCHLD, 0, 0, 0, 0); }

int64_t sys_vfork(SyscallCtx& c, const SyscallArgs&) {
  return c.kernel.clone_task(c.task, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}

// Reads a NULL-terminated array of strings from user memory.
int64_t read_strv(SyscallCtx& c, uint64_t ptr, std::vector<std::string>& out) {
  if (!ptr) return 0;
  for (size_t i = 0;; ++i) {
    if (i > 65536) return -E2BIG;
    uint64_t p;
    if (c.mm().copy_from_user(&p, ptr + i * 8, 8)) return -EFAULT;
    if (!p) return 0;
    std::string s(131072, '\0');
    int64_t n = c.mm().strncpy_from_user(s.data(), p, s.size() - 1);
    if (n == -ENAMETOOLONG) return -E2BIG;
    if (n < 0) return n;
    s.resize(size_t(n));
    out.push_back(std::move(s));
  }
}

int64_t sys_execve(SyscallCtx& c, const SyscallArgs& a) {
  char path[4096];
  int64_t n = c.mm().strncpy_from_user(path, a.a[0], sizeof path - 1);
  if (n < 0) return n;
  if (n == 0) return -ENOENT;
  std::vector<std::string> argv, envp;
  if (int64_t r = read_strv(c, a.a[1], argv)) return r;
  if (int64_t r = read_strv(c, a.a[2], envp)) return r;
  int64_t r = c.kernel.exec(c.task, path, std::move(argv), std::move(envp));
  return r < 0 ? r : kSyscallNoReturn;
}

int64_t sys_wait4(SyscallCtx& c, const SyscallArgs& a) {
  int options = int(a.a[2]);
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL)) return -EINVAL;
  int status = 0;
  rusage ru{};
  int64_t r = c.kernel.wait_child(c.task, int64_t(int32_t(a.a[0])), options | WEXITED, &status, nullptr, &ru);
  if (r > 0) {
    if (a.a[1] && c.mm().copy_to_user(a.a[1], &status, sizeof status)) return -EFAULT;
    if (a.a[3] && c.mm().copy_to_user(a.a[3], &ru, sizeof ru)) return -EFAULT;
  }
  return r;
}

int64_t sys_waitid(SyscallCtx& c, const SyscallArgs& a) {
  int options = int(a.a[3]);
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | WEXITED | WNOWAIT | __WNOTHREAD | __WCLONE | __WALL))
    return -EINVAL;
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return -EINVAL;
  int64_t pid;
  switch (a.a[0]) {
  case P_ALL: pid = -1; break;
  case P_PID: pid = int64_t(int32_t(a.a[1])); if (pid <= 0) return -EINVAL; break;
  case P_PGID: pid = a.a[1] ? -int64_t(int32_t(a.a[1])) : 0; break;
  default: return -EINVAL;
  }
  siginfo_t info{};
  int64_t r = c.kernel.wait_child(c.task, pid, options, nullptr, &info, nullptr);
  if (r < 0) return r;
  if (a.a[2] && c.mm().copy_to_user(a.a[2], &info, sizeof info)) return -EFAULT; // zeroed when nothing (WNOHANG)
  return 0;
}

int64_t sys_set_tid_address(SyscallCtx& c, const SyscallArgs& a) {
  c.task.clear_child_tid = a.a[0];
  return c.task.tid;
}

int64_t sys_set_robust_list(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[1] != 24) return -EINVAL; // sizeof(struct robust_list_head)
  c.task.robust_list = a.a[0];
  return 0;
}

int64_t sys_get_robust_list(SyscallCtx& c, const SyscallArgs& a) {
  Task* t = a.a[0] ? c.kernel.find_task(int(a.a[0])) : &c.task;
  if (!t) return -ESRCH;
  uint64_t len = 24;
  if (c.mm().copy_to_user(a.a[1], &t->robust_list, 8) || c.mm().copy_to_user(a.a[2], &len, 8)) return -EFAULT;
  return 0;
}

int64_t sys_arch_prctl(SyscallCtx& c, const SyscallArgs& a) {
  switch (a.a[0]) {
  case ARCH_SET_FS:
  case ARCH_SET_GS:
    if (a.a[1] >= mm::kUserTop) return -EPERM;
    (a.a[0] == ARCH_SET_FS ? c.regs().fs_base : c.regs().gs_base) = a.a[1];
    return 0;
  case ARCH_GET_FS:
  case ARCH_GET_GS: {
    uint64_t v = a.a[0] == ARCH_GET_FS ? c.regs().fs_base : c.regs().gs_base;
    return c.mm().copy_to_user(a.a[1], &v, sizeof v) ? -EFAULT : 0;
  }
  default:
    return -EINVAL;
  }
}

int64_t sys_prlimit64(SyscallCtx& c, const SyscallArgs& a) {
  Process* p = a.a[0] ? c.kernel.find_process(int(a.a[0])) : &c.proc();
  if (!p) return -ESRCH;
  if (a.a[1] >= RLIM_NLIMITS) return -EINVAL;
  rlimit& lim = p->rlimits[a.a[1]];
  rlimit old = lim;
  if (a.a[2]) {
    rlimit n;
    if (c.mm().copy_from_user(&n, a.a[2], sizeof n)) return -EFAULT;
    if (n.rlim_cur > n.rlim_max) return -EINVAL;
    if (n.rlim_max > old.rlim_max && c.proc().creds.euid != 0) return -EPERM;
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
// clone3 is optional too: libcs fall back to clone.
int64_t sys_clone3(SyscallCtx&, const SyscallArgs&) { return -ENOSYS; }

int64_t sys_setpgid(SyscallCtx& c, const SyscallArgs& a) {
  int pid = int(a.a[0]) ? int(a.a[0]) : c.proc().pid;
  int pgid = int(a.a[1]) ? int(a.a[1]) : pid;
  if (pgid < 0) return -EINVAL;
  Process* p = c.kernel.find_process(pid);
  if (!p || p->zombie || (p != &c.proc() && p->parent != &c.proc())) return -ESRCH;
  if (p->sid != c.proc().sid) return -EPERM;
  if (p->pid == p->sid) return -EPERM; // a session leader
  if (pgid != p->pid) {
    bool exists = false;
    for (auto& [id, q] : c.kernel.processes())
      if (q->pgid == pgid && q->sid == c.proc().sid && !q->zombie) exists = true;
    if (!exists) return -EPERM;
  }
  p->pgid = pgid;
  return 0;
}

int64_t sys_getpgid(SyscallCtx& c, const SyscallArgs& a) {
  Process* p = a.a[0] ? c.kernel.find_process(int(a.a[0])) : &c.proc();
  return p ? p->pgid : -ESRCH;
}

int64_t sys_getpgrp(SyscallCtx& c, const SyscallArgs&) { return c.proc().pgid; }

int64_t sys_setsid(SyscallCtx& c, const SyscallArgs&) {
  Process& p = c.proc();
  for (auto& [id, q] : c.kernel.processes())
    if (q->pgid == p.pid && !q->zombie) return -EPERM; // already a group leader
  p.sid = p.pgid = p.pid;
  p.ctty.reset(); // a new session starts without a controlling terminal
  return p.sid;
}

int64_t sys_getsid(SyscallCtx& c, const SyscallArgs& a) {
  Process* p = a.a[0] ? c.kernel.find_process(int(a.a[0])) : &c.proc();
  return p ? p->sid : -ESRCH;
}

} // namespace

void register_process_syscalls(SyscallTable& t) {
  t.add(SYS_exit, sys_exit, "d");
  t.add(SYS_exit_group, sys_exit_group, "d");
  t.add(SYS_getpid, sys_getpid, "");
  t.add(SYS_getppid, sys_getppid, "");
  t.add(SYS_gettid, sys_gettid, "");
  t.add(SYS_clone, sys_clone, "xxxxx");
  t.add(SYS_clone3, sys_clone3, "xu");
  t.add(SYS_fork, sys_fork, "");
  t.add(SYS_vfork, sys_vfork, "");
  t.add(SYS_execve, sys_execve, "sxx");
  t.add(SYS_wait4, sys_wait4, "dxxx");
  t.add(SYS_waitid, sys_waitid, "ddxxx");
  t.add(SYS_set_tid_address, sys_set_tid_address, "x");
  t.add(SYS_set_robust_list, sys_set_robust_list, "xu");
  t.add(SYS_get_robust_list, sys_get_robust_list, "dxx");
  t.add(SYS_arch_prctl, sys_arch_prctl, "xx");
  t.add(SYS_prlimit64, sys_prlimit64, "ddxx");
  t.add(SYS_getrlimit, sys_getrlimit, "dx");
  t.add(SYS_setrlimit, sys_setrlimit, "dx");
  t.add(SYS_rseq, sys_rseq, "xudx");
  t.add(SYS_setpgid, sys_setpgid, "dd");
  t.add(SYS_getpgid, sys_getpgid, "d");
  t.add(SYS_getpgrp, sys_getpgrp, "");
  t.add(SYS_setsid, sys_setsid, "");
  t.add(SYS_getsid, sys_getsid, "d");
}

} // namespace gk
