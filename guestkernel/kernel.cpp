#include "guestkernel/kernel.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "arch-um/tsc.h"
#include "drivers/console.h"
#include "drivers/devfs.h"
#include "drivers/hostfs.h"
#include "guestkernel/fs/tmpfs.h"
#include "guestkernel/exec/elf_loader.h"
#include "guestkernel/export/export.h"
#include "guestkernel/fs/overlayfs.h"
#include "guestkernel/procfs/procfs.h"
#include "guestkernel/signal_names.h"

namespace gk {

namespace {

std::string escape(const uint8_t* p, size_t n, size_t shown) {
  std::string s = "\"";
  for (size_t i = 0; i < std::min(n, shown); ++i) {
    uint8_t ch = p[i];
    if (ch == '\n') s += "\\n";
    else if (ch == '\t') s += "\\t";
    else if (ch == '"' || ch == '\\') s += fmt::format("\\{}", char(ch));
    else if (ch >= 32 && ch < 127) s += char(ch);
    else s += fmt::format("\\x{:02x}", ch);
  }
  s += "\"";
  if (n > shown) s += "...";
  return s;
}

} // namespace

Kernel::Kernel(const Options& o)
    : opts_(o), hostname_(o.hostname), physmem_(o.mem_bytes), table_(make_syscall_table()) {
  trace_.syscall = o.trace_syscall;
  trace_.fault = o.trace_fault;
  trace_.pte = o.trace_pte;
  trace_.mmu = o.trace_mmu;
  trace_.open(o.trace_file);
  arch::tsc_clock(); // start the calibration window
  fs::register_overlayfs(o.rootfs.empty() ? "/" : o.rootfs);
  fs::register_tmpfs(physmem_);
  drivers::HostFs::set_cache_memory(&physmem_);
  register_procfs(*this);
  drivers::register_devfs(*this);
}

Kernel::~Kernel() { shutdown_all(); }

std::string Kernel::trace_args(Task& t, const SyscallArgs& a, int64_t ret) {
  const char* sig = a.nr < SyscallTable::kSize ? table_.sig[a.nr] : nullptr;
  mm::AddressSpace& as = *t.mm->as;
  std::string args;
  for (int i = 0; sig && sig[i] && i < 6; ++i) {
    if (i) args += ", ";
    uint64_t v = a.a[i];
    switch (sig[i]) {
    case 'd': args += fmt::format("{}", int32_t(v)); break;
    case 'l': args += fmt::format("{}", int64_t(v)); break;
    case 'u': args += fmt::format("{}", v); break;
    case 'o': args += fmt::format("{:#o}", v); break;
    case 's': {
      char buf[256];
      int64_t n = as.strncpy_from_user(buf, v, sizeof buf - 1);
      args += n >= 0 ? escape(reinterpret_cast<uint8_t*>(buf), size_t(n), 64) : fmt::format("{:#x}", v);
      break;
    }
    case 'b':
    case 'r': {
      int64_t n = sig[i] == 'b' ? int64_t(a.a[i + 1]) : ret;
      uint8_t buf[32];
      size_t take = n > 0 ? std::min<size_t>(size_t(n), sizeof buf) : 0;
      if (take && as.copy_from_user(buf, v, take) == 0) args += escape(buf, size_t(n), take);
      else args += fmt::format("{:#x}", v);
      break;
    }
    default: args += fmt::format("{:#x}", v); break;
    }
  }
  if (!sig) args = fmt::format("{:#x}, {:#x}, {:#x}, ...", a.a[0], a.a[1], a.a[2]);
  return args;
}

void Kernel::trace_syscall(Task& t, const SyscallArgs& a, const std::string& args, int64_t ret) {
  std::string result = "?"; // no return value: execve, rt_sigreturn (as strace shows exit)
  if (ret == kSyscallNoReturn) {
  } else if (ret < 0 && ret > -4096) {
    const char* name = strerrorname_np(int(-ret));
    result = name ? fmt::format("-1 {} ({})", name, strerror(int(-ret))) : fmt::format("{} (restart)", ret);
  } else {
    result = ret > 4096 || ret < 0 ? fmt::format("{:#x}", ret) : fmt::format("{}", ret);
  }
  trace_.line(t.tid, "{}({}) = {}", syscall_name(a.nr), args, result);
}

void Kernel::handle_syscall(Task& t) {
  const user_regs_struct& r = t.regs;
  SyscallArgs a{r.orig_rax, {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9}};
  SyscallCtx ctx{*this, t};
  t.syscall_nr = int64_t(a.nr);
  ++t.proc->syscall_counts[a.nr];
  int64_t ret;
  // execve and rt_sigreturn replace what their arguments point at: read them first.
  std::string before = trace_.syscall ? trace_args(t, a, 0) : std::string();
  if (a.nr < SyscallTable::kSize && table_.fn[a.nr]) {
    ++stats_.syscalls[a.nr];
    ret = table_.fn[a.nr](ctx, a);
  } else {
    ++stats_.unknown_syscalls;
    if (a.nr < SyscallTable::kSize) ++stats_.syscalls[a.nr];
    if (unknown_logged_.insert(a.nr).second)
      say(LOG_WARNING, fmt::format("pid {} ({}) called unimplemented syscall {} ({}); returning ENOSYS", t.proc->pid,
                                   t.proc->comm, syscall_name(a.nr), a.nr));
    ret = -ENOSYS;
  }
  if (trace_.syscall) trace_syscall(t, a, ret == kSyscallNoReturn ? before : trace_args(t, a, ret), ret);
  if (ret == kSyscallNoReturn) return; // execve, sigreturn: registers already set
  t.regs.rax = uint64_t(ret);
  t.regs_dirty = true;
}

void Kernel::handle_fault(Task& t, const arch::Stop& s) {
  const user_regs_struct& r = t.regs;
  Process& p = *t.proc;
  if (s.signo != SIGSEGV && s.signo != SIGBUS) {
    // Traps and faults the host classified for us: the guest gets the same.
    siginfo_t info = s.info;
    if (s.signo == SIGTRAP && info.si_code <= 0) { // int3 arrives as SI_KERNEL on x86-64
      info = {};
      info.si_signo = SIGTRAP;
      info.si_code = SI_KERNEL;
    }
    force_signal(t, info);
    return;
  }
  ++stats_.fault_stops;
  uint64_t addr = uint64_t(s.info.si_addr);
  siginfo_t info{};
  info.si_signo = SIGSEGV;
  if (s.info.si_code == SI_KERNEL) { // general protection: no address to fault in
    info.si_code = SI_KERNEL;
    force_signal(t, info);
    return;
  }
  mm::Access acc = addr == r.rip ? mm::Access::Exec : mm::Access::Unknown;
  uint64_t seq = stats_.fault_stops;
  if (trace_.fault)
    trace_.line(t.tid, "fault {:#x} #{}: host {} si_code={} ({}) si_addr={:#x} rip={:#x}{}", addr, seq,
                signal_name(s.signo), s.info.si_code, fault_code_name(s.signo, s.info.si_code), addr, r.rip,
                acc == mm::Access::Exec ? " (instruction fetch)" : "");
  mm::FaultResult res = t.mm->as->fault(addr, acc, true);
  if (trace_.fault) trace_.line(t.tid, "fault {:#x} #{} -> {}", addr, seq, mm::fault_result_name(res));
  if (res == mm::FaultResult::Mapped) return;
  if (res == mm::FaultResult::Oom) {
    say(LOG_ERR, fmt::format("out of guest memory (--mem={} MiB): killing pid {} ({}) at {:#x}", opts_.mem_bytes >> 20,
                             p.pid, p.comm, addr));
    siginfo_t kill{};
    kill.si_signo = SIGKILL;
    send_signal(p, kill);
    return;
  }
  if (res == mm::FaultResult::SigBus) { // a file page past the end of the file
    info.si_signo = SIGBUS;
    info.si_code = BUS_ADRERR;
    info.si_addr = reinterpret_cast<void*>(addr);
    force_signal(t, info);
    return;
  }
  ++stats_.faults.segv;
  info.si_code = res == mm::FaultResult::MapErr ? SEGV_MAPERR : SEGV_ACCERR;
  info.si_addr = reinterpret_cast<void*>(addr);
  force_signal(t, info);
}

// Runs the task's guest code until its next stop, then handles the stop.
void Kernel::run_in_guest(Task& t) {
  MmContext& m = *t.mm;
  if (m.owner && m.owner != &t) {
    // Another thread runs in our child: wait our turn, then go back through
    // signal delivery, which may have something for us by now.
    block(t, &m.child_free, -1, false);
    return;
  }
  uint64_t now = now_ns();
  if (m.slice_tid != t.tid) {
    m.slice_tid = t.tid;
    m.slice_start_ns = now;
  } else if (!m.child_free.empty() && now - m.slice_start_ns >= kTimeSliceNs) {
    // Our slice is up and others wait: their turn. The one woken is ahead
    // of us in the run queue; if it no longer wants the child we take it
    // back next time round.
    m.child_free.wake(1);
    m.slice_tid = 0;
    yield(t);
    return;
  }
  m.owner = &t;
  if (m.as->mmu().pending()) {
    flush_host(t, m);
    if (now_ns() >= next_sample_ns_) sample_host_figures(m);
  }
  if (m.regs_loaded != &t || t.regs_dirty) {
    user_regs_struct r = t.regs;
    r.orig_rax = ~0ULL; // the host must never restart anything itself
    m.child->set_regs(r);
    m.regs_loaded = &t;
    t.regs_dirty = false;
  }
  if (m.xstate_loaded != &t) {
    if (m.xstate_loaded) m.child->get_xstate(m.xstate_loaded->xstate);
    if (!t.xstate.empty()) m.child->set_xstate(t.xstate);
    m.xstate_loaded = &t;
  }
  m.interrupt_sent = false;
  t.state = TaskState::InGuest;
  m.child->resume();
  park(t);
  // The loop handed us a stop of our child.
  arch::Stop s = t.stop;
  if (s.kind == arch::Stop::Kind::Exited || s.kind == arch::Stop::Kind::Killed) {
    m.owner = nullptr;
    say(LOG_ERR, fmt::format("host child {} of pid {} ({}) died unexpectedly; killing the process", m.child->pid(),
                             t.proc->pid, t.proc->comm));
    exit_group(t, SIGKILL);
    return;
  }
  m.child->get_regs(t.regs);
  m.regs_loaded = &t;
  m.owner = nullptr;
  m.child_free.wake(1);
  t.syscall_nr = -1;
  t.last_event = s.kind == arch::Stop::Kind::Syscall ? int64_t(t.regs.orig_rax)
                 : s.kind == arch::Stop::Kind::Signal ? Task::kEventFault
                                                      : Task::kEventOther;
  switch (s.kind) {
  case arch::Stop::Kind::Syscall: handle_syscall(t); break;
  case arch::Stop::Kind::Signal:
    if (s.signo == SIGSEGV || s.signo == SIGBUS || s.signo == SIGTRAP || s.signo == SIGILL || s.signo == SIGFPE)
      handle_fault(t, s);
    // Other host signals sent to the child from outside are not the guest's business.
    break;
  case arch::Stop::Kind::Event: // preempted (PTRACE_INTERRUPT) or a host group-stop
    yield(t);
    break;
  default: break;
  }
}

void Kernel::task_main(Task& t) {
  try {
    while (!t.exiting) {
      deliver_signals(t);
      if (t.exiting) break;
      run_in_guest(t);
    }
  } catch (const std::exception& e) {
    say(LOG_CRIT, fmt::format("internal error in pid {} ({}): {}; killing it", t.proc->pid, t.proc->comm, e.what()));
    if (t.mm && t.mm->owner == &t) t.mm->owner = nullptr;
    if (!t.proc->group_exit) exit_group(t, SIGKILL);
  }
  exit_thread(t, t.exit_code);
}

void Kernel::flush_host(Task& t, MmContext& m) {
  uint64_t before = stats_.mmu.batches;
  ChildChannel ch(*m.child);
  m.as->flush_host(ch);
  m.regs_loaded = nullptr; // the stub ran on the child's registers
  uint64_t runs = stats_.mmu.batches - before;
  if (t.last_event >= 0 && uint64_t(t.last_event) < SyscallTable::kSize)
    stats_.stub_runs_after_syscall[size_t(t.last_event)] += runs;
  else if (t.last_event == Task::kEventFault)
    stats_.stub_runs_after_fault += runs;
  else
    stats_.stub_runs_after_other += runs;
}

uint64_t Kernel::sample_host_figures(MmContext& m) {
  if (!m.child || !m.child->alive()) return 0;
  uint64_t vmas = m.child->host_vmas_in_guest_space();
  m.peak_host_vmas = std::max(m.peak_host_vmas, vmas);
  stats_.peak_host_vmas = std::max(stats_.peak_host_vmas, vmas);
  stats_.exit_host_vmas = vmas;
  next_sample_ns_ = now_ns() + 250'000'000; // reading maps costs ~0.3 us per host VMA
  return vmas;
}

int Kernel::run() {
  stats_.start_ns = now_ns();
  // The log's first lines, as Linux's begin.
  say(LOG_NOTICE, version_banner(), false);
  say(LOG_INFO, "Command line: " + opts_.command_line(), false);
  say(LOG_INFO, fmt::format("Memory: {}K/{}K available ({} host MMU backend, trap mode {})",
                            physmem_.buddy().free_frames() * 4, opts_.mem_bytes >> 10, mm::backend_name(opts_.backend),
                            opts_.trap), false);
  Process* p = new_process(nullptr);
  p->pgid = p->sid = p->pid;
  if (boot_fs(*p)) return 2;
  if (!opts_.export_dir.empty()) {
    try {
      exportfs::start(*this, opts_.export_dir);
    } catch (const std::exception& e) {
      say(LOG_ERR, e.what());
      return 2;
    }
  }
  p->fds = std::make_shared<FdTable>();
  drivers::attach_console(*this, *p, !opts_.boot_mode());
  Task* t = new_task(p, new_mm_context());
  current_ = t; // the first exec runs outside any fiber
  int64_t r = start_init(*t);
  current_ = nullptr;
  if (r < 0) return r == -ENOENT ? 127 : 126; // start_init said why
  spawn_fiber(*t);
  loop();
  exportfs::stop();
  stats_.end_ns = now_ns();
  shutdown_all();
  vfs_.sync_all(); // every child is gone: all dirty file pages can go home
  drivers::detach_console();
  if (opts_.stats) print_stats(stderr, *this, stats_);
  if (!opts_.stats_json.empty()) write_stats_json(opts_.stats_json, *this, stats_);
  if (host_signal_) return 128 + host_signal_;
  if (power_ != PowerAction::None) return 0;
  return init_status_;
}

} // namespace gk
