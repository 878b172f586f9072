// Signals: queueing, default actions, handler frames and sigreturn, as the
// x86-64 Linux ABI has them (arch/x86/kernel/signal.c is the model).
#include <signal.h>

#include <cstring>

#include "guestkernel/kernel.h"
#include "guestkernel/signal_names.h"

namespace gk {

namespace {

constexpr uint64_t kUnblockable = sigbit(SIGKILL) | sigbit(SIGSTOP);
constexpr uint64_t kStopSignals = sigbit(SIGSTOP) | sigbit(SIGTSTP) | sigbit(SIGTTIN) | sigbit(SIGTTOU);
constexpr uint32_t kFpXstateMagic2 = 0x46505845;
constexpr uint64_t kUcFpXstate = 1, kUcSigcontextSs = 2, kUcStrictRestoreSs = 4;

enum class Default { Term, Core, Ignore, Stop, Cont };

Default default_action(int sig) {
  switch (sig) {
  case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
  case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
    return Default::Core;
  case SIGCHLD: case SIGURG: case SIGWINCH:
    return Default::Ignore;
  case SIGCONT:
    return Default::Cont;
  case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
    return Default::Stop;
  default:
    return Default::Term;
  }
}

// The kernel's struct ucontext (not glibc's, which is larger).
struct KUcontext {
  uint64_t uc_flags;
  uint64_t uc_link;
  stack_t uc_stack;
  struct sigcontext uc_mcontext;
  uint64_t uc_sigmask;
};

struct RtSigframe {
  uint64_t pretcode; // sa_restorer: where the handler returns to
  KUcontext uc;
  siginfo_t info;
};

// The disposition drops the signal at once (SIG_IGN, or a default of
// ignore/continue: SIGCONT's continuing happens when it is sent).
bool ignores(const KSigaction& a, int sig) {
  return a.handler == uint64_t(SIG_IGN) ||
         (a.handler == uint64_t(SIG_DFL) &&
          (default_action(sig) == Default::Ignore || default_action(sig) == Default::Cont));
}

bool on_altstack(const Task& t, uint64_t sp) {
  return !(t.altstack.ss_flags & SS_DISABLE) && sp - uint64_t(t.altstack.ss_sp) < t.altstack.ss_size;
}

void enqueue(SignalQueue& q, const siginfo_t& info) {
  int sig = info.si_signo;
  if (sig < SIGRTMIN && (q.pending & sigbit(sig))) return; // standard signals coalesce
  q.pending |= sigbit(sig);
  q.infos.push_back(info);
}

void discard(SignalQueue& q, uint64_t mask) {
  q.pending &= ~mask;
  std::erase_if(q.infos, [&](const siginfo_t& i) { return mask & sigbit(i.si_signo); });
}

bool take(SignalQueue& q, int sig, siginfo_t& out) {
  bool found = false, more = false;
  for (auto it = q.infos.begin(); it != q.infos.end();) {
    if (it->si_signo != sig) {
      ++it;
      continue;
    }
    if (found) {
      more = true;
      break;
    }
    out = *it;
    found = true;
    it = q.infos.erase(it);
  }
  if (!found) {
    out = {};
    out.si_signo = sig;
  }
  if (!more) q.pending &= ~sigbit(sig);
  return true;
}

} // namespace

bool Kernel::signal_pending(const Task& t) const {
  if (t.exiting) return true;
  return ((t.pending.pending | t.proc->shared_pending.pending) & ~t.sigmask) != 0;
}

void Kernel::sigaction_changed(Process& p, int sig) {
  if (!ignores(p.sighand->action[size_t(sig)], sig)) return;
  discard(p.shared_pending, sigbit(sig));
  for (Task* t : p.threads) discard(t->pending, sigbit(sig));
}

std::vector<uint8_t>& Kernel::task_xstate(Task& t) {
  if (t.mm && t.mm->xstate_loaded == &t) t.mm->child->get_xstate(t.xstate);
  return t.xstate;
}

// A signal was queued: signalfd readers and pollers of the process look again.
static void signal_queued(Process& p) {
  ++p.signals_queued;
  p.signal_queued.wake_all();
}

// Wake a task so it notices a new signal: out of an interruptible sleep, or
// out of guest code.
static void kick(Kernel& k, Task& t) {
  if (t.state == TaskState::Blocked && t.interruptible) k.wake(t, WakeReason::Signal);
  else if (t.state == TaskState::InGuest && t.mm && t.mm->child) t.mm->child->interrupt();
}

void Kernel::send_signal(Process& p, const siginfo_t& info) {
  if (p.zombie || p.threads.empty()) return;
  int sig = info.si_signo;
  if (sig < 1 || sig > 64) return;
  if (sig == SIGKILL) {
    if (p.stopped) {
      p.stopped = false;
      p.stop_wait.wake_all();
    }
    exit_group(*p.threads.front(), SIGKILL);
    return;
  }
  if (sig == SIGCONT) {
    discard(p.shared_pending, kStopSignals);
    for (Task* t : p.threads) discard(t->pending, kStopSignals);
    if (p.stopped) {
      p.stopped = false;
      p.report_stop = false;
      p.report_continue = true;
      p.stop_wait.wake_all();
      notify_parent(p, CLD_CONTINUED, SIGCONT);
    }
  } else if (kStopSignals & sigbit(sig)) {
    discard(p.shared_pending, sigbit(SIGCONT));
  }
  const KSigaction& a = p.sighand->action[size_t(sig)];
  bool blocked_everywhere = true;
  for (Task* t : p.threads)
    if (!(t->sigmask & sigbit(sig))) blocked_everywhere = false;
  if (ignores(a, sig) && !blocked_everywhere) return;
  enqueue(p.shared_pending, info);
  signal_queued(p);
  for (Task* t : p.threads)
    if (!(t->sigmask & sigbit(sig))) {
      kick(*this, *t);
      break;
    }
}

void Kernel::send_sigpipe(Task& t) {
  siginfo_t info{};
  info.si_signo = SIGPIPE;
  info.si_code = SI_USER;
  send_signal(t, info);
}

void Kernel::send_signal(Task& t, const siginfo_t& info) {
  Process& p = *t.proc;
  int sig = info.si_signo;
  if (p.zombie || t.state == TaskState::Dead || sig < 1 || sig > 64) return;
  if (sig == SIGKILL || sig == SIGCONT || (kStopSignals & sigbit(sig))) {
    send_signal(p, info); // these act on the whole group
    return;
  }
  const KSigaction& a = p.sighand->action[size_t(sig)];
  if (ignores(a, sig) && !(t.sigmask & sigbit(sig))) return;
  enqueue(t.pending, info);
  signal_queued(p);
  if (!(t.sigmask & sigbit(sig))) kick(*this, t);
}

void Kernel::force_signal(Task& t, const siginfo_t& info) {
  int sig = info.si_signo;
  KSigaction& a = t.proc->sighand->action[size_t(sig)];
  if (a.handler == uint64_t(SIG_IGN) || (t.sigmask & sigbit(sig))) {
    a = KSigaction{};
    t.sigmask &= ~sigbit(sig);
  }
  enqueue(t.pending, info);
}

bool Kernel::dequeue_signal(Task& t, siginfo_t& info) { return dequeue_signal(t, ~t.sigmask, info); }

bool Kernel::dequeue_signal(Task& t, uint64_t allowed, siginfo_t& info) {
  for (SignalQueue* q : {&t.pending, &t.proc->shared_pending}) {
    uint64_t ready = q->pending & allowed;
    if (!ready) continue;
    // Synchronous faults first, then the lowest number (as Linux does).
    uint64_t sync = ready & (sigbit(SIGSEGV) | sigbit(SIGBUS) | sigbit(SIGILL) | sigbit(SIGTRAP) | sigbit(SIGFPE));
    int sig = __builtin_ctzll(sync ? sync : ready) + 1;
    return take(*q, sig, info);
  }
  return false;
}

void Kernel::restart_syscall_if_needed(Task& t, const KSigaction* act) {
  if (t.syscall_nr < 0) return;
  int64_t rax = int64_t(t.regs.rax);
  bool restart;
  switch (rax) {
  case kErestartSys: restart = !act || (act->flags & SA_RESTART); break;
  case kErestartNoIntr: restart = true; break;
  case kErestartNoHand:
  case kErestartRestartBlock: restart = !act; break;
  default: t.syscall_nr = -1; return;
  }
  if (restart) {
    t.regs.rax = uint64_t(t.syscall_nr);
    t.regs.rip -= 2; // back onto the syscall instruction
  } else {
    t.regs.rax = uint64_t(-EINTR);
  }
  t.regs_dirty = true;
  t.syscall_nr = -1;
}

bool Kernel::setup_frame(Task& t, int sig, const KSigaction& act, const siginfo_t& info) {
  mm::AddressSpace& as = *t.mm->as;
  user_regs_struct& r = t.regs;
  uint64_t sp = r.rsp - 128; // the red zone
  if ((act.flags & SA_ONSTACK) && !(t.altstack.ss_flags & SS_DISABLE) && !on_altstack(t, r.rsp))
    sp = uint64_t(t.altstack.ss_sp) + t.altstack.ss_size;
  std::vector<uint8_t>& fp = task_xstate(t);
  uint64_t fpstate = 0;
  if (!fp.empty()) {
    sp -= fp.size() + sizeof(uint32_t);
    sp &= ~63ULL;
    fpstate = sp;
  }
  sp -= sizeof(RtSigframe);
  sp = (sp & ~15ULL) - 8;

  RtSigframe f{};
  f.pretcode = act.restorer;
  f.info = info;
  f.uc.uc_flags = kUcSigcontextSs | kUcStrictRestoreSs | (fpstate ? kUcFpXstate : 0);
  f.uc.uc_stack.ss_sp = t.altstack.ss_sp;
  f.uc.uc_stack.ss_size = t.altstack.ss_size;
  f.uc.uc_stack.ss_flags = (t.altstack.ss_flags & SS_DISABLE) ? SS_DISABLE : (on_altstack(t, r.rsp) ? SS_ONSTACK : 0);
  struct sigcontext& sc = f.uc.uc_mcontext;
  sc.r8 = r.r8; sc.r9 = r.r9; sc.r10 = r.r10; sc.r11 = r.r11;
  sc.r12 = r.r12; sc.r13 = r.r13; sc.r14 = r.r14; sc.r15 = r.r15;
  sc.rdi = r.rdi; sc.rsi = r.rsi; sc.rbp = r.rbp; sc.rbx = r.rbx;
  sc.rdx = r.rdx; sc.rax = r.rax; sc.rcx = r.rcx; sc.rsp = r.rsp;
  sc.rip = r.rip; sc.eflags = r.eflags;
  sc.cs = uint16_t(r.cs); sc.gs = uint16_t(r.gs); sc.fs = uint16_t(r.fs); sc.__pad0 = uint16_t(r.ss);
  if (info.si_signo == SIGSEGV || info.si_signo == SIGBUS) sc.cr2 = uint64_t(info.si_addr);
  sc.oldmask = t.restore_sigmask ? t.saved_sigmask : t.sigmask;
  sc.fpstate = reinterpret_cast<struct _fpstate*>(fpstate);
  f.uc.uc_sigmask = sc.oldmask;
  if (fpstate) {
    uint32_t magic2 = kFpXstateMagic2;
    if (as.copy_to_user(fpstate, fp.data(), fp.size()) || as.copy_to_user(fpstate + fp.size(), &magic2, 4))
      return false;
  }
  if (as.copy_to_user(sp, &f, sizeof f)) return false;

  r.rdi = uint64_t(sig);
  r.rsi = sp + offsetof(RtSigframe, info);
  r.rdx = sp + offsetof(RtSigframe, uc);
  r.rax = 0;
  r.rsp = sp;
  r.rip = act.handler;
  r.eflags &= ~(0x100ULL | 0x400ULL | 0x10000ULL); // TF, DF, RF
  t.regs_dirty = true;
  t.restore_sigmask = false;
  return true;
}

int64_t Kernel::sigreturn(Task& t) {
  mm::AddressSpace& as = *t.mm->as;
  user_regs_struct& r = t.regs;
  RtSigframe f;
  uint64_t frame = r.rsp - 8; // the handler's ret popped pretcode
  if (as.copy_from_user(&f, frame, sizeof f)) {
    siginfo_t segv{};
    segv.si_signo = SIGSEGV;
    segv.si_code = SI_KERNEL;
    force_signal(t, segv);
    return kSyscallNoReturn;
  }
  const struct sigcontext& sc = f.uc.uc_mcontext;
  r.r8 = sc.r8; r.r9 = sc.r9; r.r10 = sc.r10; r.r11 = sc.r11;
  r.r12 = sc.r12; r.r13 = sc.r13; r.r14 = sc.r14; r.r15 = sc.r15;
  r.rdi = sc.rdi; r.rsi = sc.rsi; r.rbp = sc.rbp; r.rbx = sc.rbx;
  r.rdx = sc.rdx; r.rax = sc.rax; r.rcx = sc.rcx; r.rsp = sc.rsp;
  r.rip = sc.rip;
  constexpr uint64_t kUserFlags = 0x40DD5 | 0x100000; // CF PF AF ZF SF TF DF OF AC ID... (FIX_EFLAGS)
  r.eflags = (r.eflags & ~kUserFlags) | (sc.eflags & kUserFlags);
  t.sigmask = f.uc.uc_sigmask & ~kUnblockable;
  // The alternate stack as the handler left it (Linux's restore_altstack).
  if (!(f.uc.uc_stack.ss_flags & SS_ONSTACK) && !on_altstack(t, r.rsp)) {
    if (f.uc.uc_stack.ss_flags & SS_DISABLE) t.altstack = {nullptr, SS_DISABLE, 0};
    else if (f.uc.uc_stack.ss_size >= size_t(MINSIGSTKSZ)) t.altstack = {f.uc.uc_stack.ss_sp, 0, f.uc.uc_stack.ss_size};
  }
  if (sc.fpstate && !t.xstate.empty()) {
    std::vector<uint8_t> x(t.xstate.size());
    if (as.copy_from_user(x.data(), uint64_t(sc.fpstate), x.size()) == 0) {
      t.xstate = std::move(x);
      if (t.mm->xstate_loaded == &t) t.mm->xstate_loaded = nullptr;
    }
  }
  t.regs_dirty = true;
  t.syscall_nr = -1;
  return kSyscallNoReturn;
}

void Kernel::do_group_stop(Task& t, int sig) {
  Process& p = *t.proc;
  p.stopped = true;
  p.stop_signal = sig;
  p.report_stop = true;
  p.report_continue = false;
  for (Task* o : p.threads)
    if (o != &t) kick(*this, *o);
  notify_parent(p, CLD_STOPPED, sig);
}

void Kernel::deliver_signals(Task& t) {
  Process& p = *t.proc;
  while (p.stopped && !t.exiting) block(t, &p.stop_wait, -1, false);
  if (t.exiting) return;
  siginfo_t info;
  while (dequeue_signal(t, info)) {
    int sig = info.si_signo;
    KSigaction act = p.sighand->action[size_t(sig)];
    if (act.handler == uint64_t(SIG_IGN)) continue;
    if (act.handler == uint64_t(SIG_DFL)) {
      switch (default_action(sig)) {
      case Default::Ignore:
      case Default::Cont:
        continue;
      case Default::Stop:
        // Nobody could continue a stopped init: the terminal's stop keys
        // (and SIGTTIN/SIGTTOU) leave it running, as on Linux.
        if (p.pid == 1 && sig != SIGSTOP) continue;
        do_group_stop(t, sig);
        while (p.stopped && !t.exiting) block(t, &p.stop_wait, -1, false);
        if (t.exiting) return;
        continue;
      case Default::Term:
      case Default::Core:
        if (p.pid == 1 && info.si_code <= 0 && sig != SIGKILL) continue; // init ignores signals it has no handler for
        if (info.si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP)) {
          // Like Linux's "segfault at ..." line for an unhandled fault.
          p.death_note = fmt::format("{} at {:#x} (rip {:#x})", fault_code_name(sig, info.si_code),
                                     uint64_t(info.si_addr), t.regs.rip);
          if (p.pid != 1)
            say(LOG_INFO, fmt::format("pid {} ({}) killed by {}: {}", p.pid, p.comm, signal_name(sig), p.death_note));
        }
        exit_group(t, sig | (default_action(sig) == Default::Core ? 0x80 : 0));
        return;
      }
    }
    restart_syscall_if_needed(t, &act);
    uint64_t old_mask = t.sigmask;
    if (!setup_frame(t, sig, act, info)) {
      exit_group(t, SIGSEGV | 0x80); // no room for the frame: Linux's force_sigsegv
      return;
    }
    if (act.flags & SA_RESETHAND) p.sighand->action[size_t(sig)] = KSigaction{};
    t.sigmask = old_mask | act.mask;
    if (!(act.flags & SA_NODEFER)) t.sigmask |= sigbit(sig);
    t.sigmask &= ~kUnblockable;
    ++stats_.guest_signals;
    return; // one frame per return to user mode
  }
  restart_syscall_if_needed(t, nullptr);
  if (t.restore_sigmask) {
    t.sigmask = t.saved_sigmask;
    t.restore_sigmask = false;
  }
}

} // namespace gk
