// Signal syscalls: dispositions, masks, sending, waiting, alternate stacks.
#include <signal.h>
#include <sys/syscall.h>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

constexpr uint64_t kUnblockable = sigbit(SIGKILL) | sigbit(SIGSTOP);

int64_t sys_rt_sigaction(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t sig = a.a[0];
  if (a.a[3] != 8) return -EINVAL;
  if (sig < 1 || sig > 64) return -EINVAL;
  KSigaction& slot = c.proc().sighand->action[sig];
  KSigaction old = slot;
  if (a.a[1]) {
    if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
    KSigaction n;
    if (c.mm().copy_from_user(&n, a.a[1], sizeof n)) return -EFAULT;
    n.mask &= ~kUnblockable;
    slot = n;
    c.kernel.sigaction_changed(c.proc(), int(sig));
  }
  if (a.a[2] && c.mm().copy_to_user(a.a[2], &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigprocmask(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[3] != 8) return -EINVAL;
  uint64_t old = c.task.sigmask;
  if (a.a[1]) {
    uint64_t set;
    if (c.mm().copy_from_user(&set, a.a[1], sizeof set)) return -EFAULT;
    switch (a.a[0]) {
    case SIG_BLOCK: c.task.sigmask |= set; break;
    case SIG_UNBLOCK: c.task.sigmask &= ~set; break;
    case SIG_SETMASK: c.task.sigmask = set; break;
    default: return -EINVAL;
    }
    c.task.sigmask &= ~kUnblockable;
  }
  if (a.a[2] && c.mm().copy_to_user(a.a[2], &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigpending(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[1] != 8) return -EINVAL;
  uint64_t set = (c.task.pending.pending | c.proc().shared_pending.pending) & c.task.sigmask;
  return c.mm().copy_to_user(a.a[0], &set, 8) ? -EFAULT : 0;
}

int64_t sys_rt_sigsuspend(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[1] != 8) return -EINVAL;
  uint64_t mask;
  if (c.mm().copy_from_user(&mask, a.a[0], 8)) return -EFAULT;
  c.task.saved_sigmask = c.task.sigmask;
  c.task.restore_sigmask = true;
  c.task.sigmask = mask & ~kUnblockable;
  while (c.kernel.block(c.task, nullptr, -1, true) != WakeReason::Signal) {}
  return kErestartNoHand;
}

int64_t sys_pause(SyscallCtx& c, const SyscallArgs&) {
  while (c.kernel.block(c.task, nullptr, -1, true) != WakeReason::Signal) {}
  return kErestartNoHand;
}

int64_t sys_rt_sigtimedwait(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[3] != 8) return -EINVAL;
  uint64_t set;
  if (c.mm().copy_from_user(&set, a.a[0], 8)) return -EFAULT;
  set &= ~kUnblockable;
  int64_t deadline = -1;
  if (a.a[2]) {
    timespec ts;
    if (c.mm().copy_from_user(&ts, a.a[2], sizeof ts)) return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return -EINVAL;
    deadline = int64_t(Kernel::now_ns()) + ts.tv_sec * 1000000000LL + ts.tv_nsec;
  }
  Task& t = c.task;
  uint64_t saved = t.sigmask;
  siginfo_t info;
  for (;;) {
    if (c.kernel.dequeue_signal(t, set, info)) break;
    t.sigmask = saved & ~set; // the set's signals wake us while we wait
    WakeReason why = c.kernel.block(t, nullptr, deadline, true);
    t.sigmask = saved;
    if (why == WakeReason::Timeout) return -EAGAIN;
    if (why == WakeReason::Signal) {
      if (c.kernel.dequeue_signal(t, set, info)) break;
      return -EINTR;
    }
  }
  if (a.a[1] && c.mm().copy_to_user(a.a[1], &info, sizeof info)) return -EFAULT;
  return info.si_signo;
}

siginfo_t user_info(SyscallCtx& c, int sig, int code) {
  siginfo_t info{};
  info.si_signo = sig;
  info.si_code = code;
  info.si_pid = c.proc().pid;
  info.si_uid = c.proc().creds.uid;
  return info;
}

// Linux's kill_ok_by_cred: root, or a real or effective uid that is the
// target's real or saved one; SIGCONT also within the caller's session.
bool may_signal(const Process& from, const Process& to, int sig) {
  const Creds& a = from.creds;
  const Creds& b = to.creds;
  if (a.euid == 0 || a.euid == b.suid || a.euid == b.uid || a.uid == b.suid || a.uid == b.uid) return true;
  return sig == SIGCONT && from.sid == to.sid;
}

int64_t sys_kill(SyscallCtx& c, const SyscallArgs& a) {
  int pid = int(a.a[0]);
  int sig = int(a.a[1]);
  if (sig < 0 || sig > 64) return -EINVAL;
  siginfo_t info = user_info(c, sig, SI_USER);
  std::vector<Process*> targets;
  for (auto& [id, p] : c.kernel.processes()) {
    // A zombie is still there to be named (kill(pid, 0) succeeds), not to be signalled.
    if (p->zombie && pid <= 0) continue;
    if ((pid > 0 && p->pid == pid) || (pid == 0 && p->pgid == c.proc().pgid) || (pid < -1 && p->pgid == -pid) ||
        (pid == -1 && p->pid != 1 && p.get() != &c.proc()))
      targets.push_back(p.get());
  }
  if (targets.empty()) return -ESRCH;
  // As Linux: success if any target could be signalled, else EPERM.
  bool any = false;
  for (Process* p : targets) {
    if (!may_signal(c.proc(), *p, sig)) continue;
    any = true;
    if (sig) c.kernel.send_signal(*p, info);
  }
  return any ? 0 : -EPERM;
}

int64_t send_to_thread(SyscallCtx& c, int tgid, int tid, int sig, const siginfo_t& info) {
  if (sig < 0 || sig > 64 || tid <= 0) return -EINVAL;
  Task* t = c.kernel.find_task(tid);
  if (!t || (tgid > 0 && t->proc->pid != tgid) || t->proc->zombie) return -ESRCH;
  if (!may_signal(c.proc(), *t->proc, sig)) return -EPERM;
  if (sig) c.kernel.send_signal(*t, info);
  return 0;
}

int64_t sys_tgkill(SyscallCtx& c, const SyscallArgs& a) {
  if (int(a.a[0]) <= 0) return -EINVAL;
  return send_to_thread(c, int(a.a[0]), int(a.a[1]), int(a.a[2]), user_info(c, int(a.a[2]), SI_TKILL));
}

int64_t sys_tkill(SyscallCtx& c, const SyscallArgs& a) {
  return send_to_thread(c, 0, int(a.a[0]), int(a.a[1]), user_info(c, int(a.a[1]), SI_TKILL));
}

int64_t queued_info(SyscallCtx& c, int target_pid, int sig, uint64_t uinfo, siginfo_t& info) {
  if (c.mm().copy_from_user(&info, uinfo, sizeof info)) return -EFAULT;
  // Only the kernel may claim to be the kernel (or tkill) for someone else.
  if ((info.si_code >= 0 || info.si_code == SI_TKILL) && target_pid != c.proc().pid) return -EPERM;
  info.si_signo = sig;
  return 0;
}

int64_t sys_rt_sigqueueinfo(SyscallCtx& c, const SyscallArgs& a) {
  int pid = int(a.a[0]), sig = int(a.a[1]);
  if (sig < 0 || sig > 64) return -EINVAL;
  siginfo_t info;
  if (int64_t r = queued_info(c, pid, sig, a.a[2], info)) return r;
  Process* p = c.kernel.find_process(pid);
  if (!p || p->zombie) return -ESRCH;
  if (sig) c.kernel.send_signal(*p, info);
  return 0;
}

int64_t sys_rt_tgsigqueueinfo(SyscallCtx& c, const SyscallArgs& a) {
  siginfo_t info;
  if (int64_t r = queued_info(c, int(a.a[0]), int(a.a[2]), a.a[3], info)) return r;
  return send_to_thread(c, int(a.a[0]), int(a.a[1]), int(a.a[2]), info);
}

int64_t sys_sigaltstack(SyscallCtx& c, const SyscallArgs& a) {
  Task& t = c.task;
  uint64_t sp = t.regs.rsp;
  bool on = !(t.altstack.ss_flags & SS_DISABLE) && sp - uint64_t(t.altstack.ss_sp) < t.altstack.ss_size;
  stack_t old = t.altstack;
  old.ss_flags = on ? SS_ONSTACK : (t.altstack.ss_flags & SS_DISABLE);
  if (a.a[0]) {
    stack_t n;
    if (c.mm().copy_from_user(&n, a.a[0], sizeof n)) return -EFAULT;
    if (on) return -EPERM;
    int mode = n.ss_flags & ~(1 << 31); // SS_AUTODISARM
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK) return -EINVAL;
    if (mode == SS_DISABLE) {
      t.altstack = {nullptr, SS_DISABLE, 0};
    } else {
      if (n.ss_size < size_t(MINSIGSTKSZ)) return -ENOMEM;
      t.altstack = {n.ss_sp, 0, n.ss_size};
    }
  }
  if (a.a[1] && c.mm().copy_to_user(a.a[1], &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigreturn(SyscallCtx& c, const SyscallArgs&) { return c.kernel.sigreturn(c.task); }

} // namespace

void register_signal_syscalls(SyscallTable& t) {
  t.add(SYS_rt_sigaction, sys_rt_sigaction, "dxxu");
  t.add(SYS_rt_sigprocmask, sys_rt_sigprocmask, "dxxu");
  t.add(SYS_rt_sigpending, sys_rt_sigpending, "xu");
  t.add(SYS_rt_sigsuspend, sys_rt_sigsuspend, "xu");
  t.add(SYS_pause, sys_pause, "");
  t.add(SYS_rt_sigtimedwait, sys_rt_sigtimedwait, "xxxu");
  t.add(SYS_kill, sys_kill, "dd");
  t.add(SYS_tgkill, sys_tgkill, "ddd");
  t.add(SYS_tkill, sys_tkill, "dd");
  t.add(SYS_rt_sigqueueinfo, sys_rt_sigqueueinfo, "ddx");
  t.add(SYS_rt_tgsigqueueinfo, sys_rt_tgsigqueueinfo, "dddx");
  t.add(SYS_sigaltstack, sys_sigaltstack, "xx");
  t.add(SYS_rt_sigreturn, sys_rt_sigreturn, "");
}

} // namespace gk
