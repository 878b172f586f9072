#include "guestkernel/kernel.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "arch-um/tsc.h"
#include "drivers/console.h"
#include "guestkernel/exec/elf_loader.h"

namespace gk {

namespace {

std::string signame(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : fmt::format("signal {}", sig);
}

std::string segv_code(int code) {
  switch (code) {
  case SEGV_MAPERR: return "SEGV_MAPERR";
  case SEGV_ACCERR: return "SEGV_ACCERR";
  case SI_KERNEL: return "SI_KERNEL";
  default: return fmt::format("code {}", code);
  }
}

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

Kernel::Kernel(const Options& o) : opts_(o), physmem_(o.mem_bytes), table_(make_syscall_table()) {
  trace_.syscall = o.trace_syscall;
  trace_.fault = o.trace_fault;
  trace_.mmu = o.trace_mmu;
  trace_.open(o.trace_file);
  arch::tsc_clock(); // start the calibration window
}

void Kernel::trace_syscall(Process& p, const SyscallArgs& a, int64_t ret) {
  const char* sig = a.nr < SyscallTable::kSize ? table_.sig[a.nr] : nullptr;
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
      int64_t n = p.mm->strncpy_from_user(buf, v, sizeof buf - 1);
      args += n >= 0 ? escape(reinterpret_cast<uint8_t*>(buf), size_t(n), 64) : fmt::format("{:#x}", v);
      break;
    }
    case 'b':
    case 'r': {
      int64_t n = sig[i] == 'b' ? int64_t(a.a[i + 1]) : ret;
      uint8_t buf[32];
      size_t take = n > 0 ? std::min<size_t>(size_t(n), sizeof buf) : 0;
      if (take && p.mm->copy_from_user(buf, v, take) == 0) args += escape(buf, size_t(n), take);
      else args += fmt::format("{:#x}", v);
      break;
    }
    default: args += fmt::format("{:#x}", v); break;
    }
  }
  if (!sig) args = fmt::format("{:#x}, {:#x}, {:#x}, ...", a.a[0], a.a[1], a.a[2]);
  std::string result = ret < 0 && ret > -4096 ? fmt::format("-1 {} ({})", strerrorname_np(int(-ret)) ?: "?",
                                                             strerror(int(-ret)))
                                              : (ret > 4096 || ret < 0 ? fmt::format("{:#x}", ret)
                                                                       : fmt::format("{}", ret));
  trace_.line(p.pid, "{}({}) = {}", syscall_name(a.nr), args, result);
}

void Kernel::handle_syscall(Process& p) {
  const user_regs_struct& r = p.child->regs().get();
  SyscallArgs a{r.orig_rax, {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9}};
  SyscallCtx ctx{*this, p};
  int64_t ret;
  if (a.nr < SyscallTable::kSize && table_.fn[a.nr]) {
    ++stats_.syscalls[a.nr];
    ret = table_.fn[a.nr](ctx, a);
  } else {
    ++stats_.unknown_syscalls;
    if (a.nr < SyscallTable::kSize) ++stats_.syscalls[a.nr];
    if (unknown_logged_.insert(a.nr).second)
      fmt::print(stderr, "guestkernel: pid {} ({}) called unimplemented syscall {} ({}); returning ENOSYS\n",
                 p.pid, p.comm, syscall_name(a.nr), a.nr);
    ret = -ENOSYS;
  }
  if (trace_.syscall) trace_syscall(p, a, ret);
  if (!p.exited) p.child->regs().mut().rax = uint64_t(ret);
}

void Kernel::kill_guest(Process& p, int sig, const std::string& why) {
  p.exited = true;
  p.term_signal = sig;
  fmt::print(stderr, "guestkernel: pid {} ({}) killed by {}{}{}\n", p.pid, p.comm, signame(sig),
             why.empty() ? "" : ": ", why);
}

void Kernel::handle_signal_stop(Process& p, const arch::Stop& s) {
  const user_regs_struct& r = p.child->regs().get();
  switch (s.signo) {
  case SIGSEGV:
  case SIGBUS: {
    ++stats_.fault_stops;
    uint64_t addr = uint64_t(s.info.si_addr);
    if (s.info.si_code == SI_KERNEL) { // general protection: no address to fault in
      ++stats_.guest_signals;
      kill_guest(p, SIGSEGV, fmt::format("general protection fault at rip {:#x}", r.rip));
      return;
    }
    mm::Access acc = addr == r.rip ? mm::Access::Exec : mm::Access::Unknown;
    mm::FaultResult res = p.mm->fault(addr, acc, true);
    if (trace_.fault)
      trace_.line(p.pid, "fault {:#x} rip={:#x}{} host={}/{} -> {}", addr, r.rip,
                  acc == mm::Access::Exec ? " exec" : "", signame(s.signo), s.info.si_code,
                  mm::fault_result_name(res));
    if (res == mm::FaultResult::Mapped) {
      // A fault that keeps coming back means the mirror is not doing its job.
      if (addr == last_fault_addr_ && r.rip == last_fault_rip_) {
        if (++same_fault_count_ > 8)
          throw std::runtime_error(fmt::format("fault loop at {:#x} (rip {:#x}) under --mmu={}", addr, r.rip,
                                               mm::backend_name(opts_.backend)));
      } else {
        last_fault_addr_ = addr;
        last_fault_rip_ = r.rip;
        same_fault_count_ = 0;
      }
      return;
    }
    if (res == mm::FaultResult::Oom) {
      kill_guest(p, SIGKILL, fmt::format("out of guest memory (--mem={} MiB) at {:#x}",
                                         opts_.mem_bytes >> 20, addr));
      return;
    }
    ++stats_.guest_signals;
    ++stats_.faults.segv;
    int code = res == mm::FaultResult::MapErr ? SEGV_MAPERR : SEGV_ACCERR;
    kill_guest(p, SIGSEGV, fmt::format("{} at {:#x} (rip {:#x})", segv_code(code), addr, r.rip));
    return;
  }
  case SIGTRAP:
  case SIGILL:
  case SIGFPE:
    ++stats_.guest_signals;
    kill_guest(p, s.signo, fmt::format("at rip {:#x}", r.rip));
    return;
  default:
    // Host signals sent to the child from outside (stop, continue, ...) are
    // not the guest's business: the child is resumed as if nothing happened.
    return;
  }
}

void Kernel::sample_host_figures(Process& p) {
  if (!p.child || !p.child->alive()) return;
  uint64_t vmas = p.child->host_vmas_in_guest_space();
  stats_.peak_host_vmas = std::max(stats_.peak_host_vmas, vmas);
  stats_.exit_host_vmas = vmas;
  stats_.host_minor_faults = p.child->host_minor_faults();
}

int Kernel::run() {
  stats_.start_ns = arch::monotonic_ns();
  auto p = std::make_unique<Process>();
  p->exe = opts_.program;
  std::string base = opts_.program.substr(opts_.program.rfind('/') + 1);
  p->comm = base.substr(0, 15);
  p->child = arch::HostChild::spawn(physmem_.fd());
  mm::MmConfig cfg;
  cfg.fault_around = opts_.fault_around;
  cfg.stack_limit = p->rlimits[RLIMIT_STACK].rlim_cur;
  p->mm = std::make_unique<mm::AddressSpace>(physmem_, opts_.backend, stats_.mmu, stats_.faults, cfg);
  if (trace_.mmu) p->mm->mmu().trace = [this, pid = p->pid](std::string_view s) { trace_.raw(pid, s); };
  p->fds.install_at(0, std::make_shared<drivers::Console>(STDIN_FILENO, true));
  p->fds.install_at(1, std::make_shared<drivers::Console>(STDOUT_FILENO, false));
  p->fds.install_at(2, std::make_shared<drivers::Console>(STDERR_FILENO, false));

  std::vector<std::string> argv = {opts_.program};
  argv.insert(argv.end(), opts_.args.begin(), opts_.args.end());
  AuxCreds creds{p->creds.uid, p->creds.euid, p->creds.gid, p->creds.egid};
  auto loaded = load_elf(*p->mm, opts_.program, argv, opts_.env, creds);
  if (auto* e = std::get_if<ExecError>(&loaded)) {
    fmt::print(stderr, "guestkernel: cannot start {}: {}\n", opts_.program, e->message);
    return e->err == ENOENT ? 127 : 126;
  }
  const ExecImage& img = std::get<ExecImage>(loaded);
  {
    user_regs_struct& r = p->child->regs().mut();
    user_regs_struct fresh{};
    fresh.cs = r.cs;
    fresh.ss = r.ss;
    fresh.ds = r.ds;
    fresh.es = r.es;
    fresh.fs = r.fs;
    fresh.gs = r.gs;
    fresh.rip = img.entry;
    fresh.rsp = img.sp;
    fresh.eflags = 0x202;
    fresh.orig_rax = ~0ULL;
    r = fresh;
  }

  ChildChannel channel(*p->child);
  try {
    while (!p->exited) {
      p->mm->flush_host(channel);
      // Reading /proc/PID/maps costs ~0.3 us per host VMA: sample by time.
      if (stats_.mmu.batches != last_sample_batch_ && arch::monotonic_ns() >= next_sample_ns_) {
        sample_host_figures(*p);
        last_sample_batch_ = stats_.mmu.batches;
        next_sample_ns_ = arch::monotonic_ns() + kSampleIntervalNs;
      }
      p->child->resume();
      arch::Stop s = p->child->wait();
      switch (s.kind) {
      case arch::Stop::Kind::Syscall: handle_syscall(*p); break;
      case arch::Stop::Kind::Signal: handle_signal_stop(*p, s); break;
      case arch::Stop::Kind::Event: break;
      case arch::Stop::Kind::Exited:
      case arch::Stop::Kind::Killed:
        kill_guest(*p, s.kind == arch::Stop::Kind::Killed ? s.signo : SIGKILL,
                   fmt::format("its host child {} died unexpectedly", p->child->pid()));
        break;
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "guestkernel: internal error while running pid {} ({}): {}\n", p->pid, p->comm, e.what());
    p->exited = true;
    p->term_signal = SIGKILL;
  }
  sample_host_figures(*p);
  stats_.stops = p->child->counters();
  stats_.regs_fetches = p->child->regs().fetches();
  stats_.regs_stores = p->child->regs().stores();
  p->child->kill();
  stats_.end_ns = arch::monotonic_ns();
  if (opts_.stats) print_stats(stderr, *this, stats_);
  if (!opts_.stats_json.empty()) write_stats_json(opts_.stats_json, *this, stats_);
  return p->shell_status();
}

} // namespace gk
