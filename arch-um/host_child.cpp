#include "arch-um/host_child.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/elf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "arch-um/stub/stub_image.h"

namespace gk::arch {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(fmt::format("host child: {}: {}", what, strerror(errno)));
}

// Runs in the forked child: only async-signal-safe calls from here on.
[[noreturn]] void child_main(pid_t parent, int sync_fd, int channel_fd, int physfd, int stub_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);
  setsid(); // keep terminal signals (Ctrl-C) away from the child
  personality(ADDR_NO_RANDOMIZE);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);

  char go;
  if (read(sync_fd, &go, 1) != 1) _exit(126); // wait until seized
  int ch = fcntl(channel_fd, F_DUPFD, 16);
  int ph = fcntl(physfd, F_DUPFD, 16);
  int st = fcntl(stub_fd, F_DUPFD_CLOEXEC, 16);
  if (ch < 0 || ph < 0 || st < 0) _exit(126);
  if (dup2(ch, stub::kChannelFd) < 0 || dup2(ph, stub::kPhysFd) < 0) _exit(126);
  syscall(SYS_close_range, 0, 2, 0);
  syscall(SYS_close_range, stub::kPhysFd + 1, st - 1, 0);
  syscall(SYS_close_range, st + 1, ~0U, 0);
  char* const argv[] = {const_cast<char*>("gk-stub"), nullptr};
  char* const envp[] = {nullptr};
  syscall(SYS_execveat, st, "", argv, envp, AT_EMPTY_PATH);
  _exit(127);
}

} // namespace

std::unique_ptr<HostChild> HostChild::spawn(int physfd) {
  std::unique_ptr<HostChild> c(new HostChild());
  c->channel_fd_ = memfd_create("gk-channel", MFD_CLOEXEC);
  if (c->channel_fd_ < 0) fail("memfd_create");
  if (ftruncate(c->channel_fd_, stub::kOpsSize + stub::kResultSize) != 0) fail("ftruncate");
  void* p = mmap(nullptr, stub::kOpsSize + stub::kResultSize, PROT_READ | PROT_WRITE, MAP_SHARED,
                 c->channel_fd_, 0);
  if (p == MAP_FAILED) fail("mmap channel");
  c->ops_ = static_cast<stub::OpsPage*>(p);
  c->results_ = reinterpret_cast<stub::ResultPage*>(static_cast<char*>(p) + stub::kOpsSize);

  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) fail("pipe");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(sync[0]);
    close(sync[1]);
    fail("fork");
  }
  if (pid == 0) child_main(parent, sync[0], c->channel_fd_, physfd, stub::image_fd());
  close(sync[0]);
  c->pid_ = pid;
  c->alive_ = true;
  long opts = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC;
  if (ptrace(PTRACE_SEIZE, pid, nullptr, opts) != 0) {
    close(sync[1]);
    fail("PTRACE_SEIZE");
  }
  char go = 1;
  ssize_t w = write(sync[1], &go, 1);
  close(sync[1]);
  if (w != 1) fail("sync pipe");
  c->handshake();
  c->check_host_maps();
  return c;
}

void HostChild::handshake() {
  // 1. the exec event, 2. the stub's int3 after mapping the channel.
  Stop s = wait();
  if (s.kind != Stop::Kind::Event || s.status != PTRACE_EVENT_EXEC)
    throw std::runtime_error(fmt::format("host child: stub did not exec (stop kind {}, status {})",
                                         int(s.kind), s.status));
  ptrace(PTRACE_CONT, pid_, nullptr, nullptr);
  s = wait();
  if (s.kind != Stop::Kind::Signal || s.signo != SIGTRAP)
    throw std::runtime_error(fmt::format("host child: stub hand-shake failed (stop kind {}, "
                                         "signal {}, status {})",
                                         int(s.kind), s.signo, s.status));
  if (!get_regs(initial_regs_)) throw std::runtime_error("host child: cannot read the stub's registers");
  batch_entry_ = initial_regs_.rax;
  batch_stack_ = ((initial_regs_.rsp - 512) & ~0xfULL) - 8; // as if just called
  counters_ = {};
}

void HostChild::check_host_maps() const {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid_));
  if (!maps) throw std::runtime_error("host child: cannot read its /proc maps");
  std::string line;
  while (std::getline(maps, line)) {
    uint64_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    if (start < stub::kUserTop)
      throw std::runtime_error(fmt::format(
          "host child: host mapping inside guest user space (below {:#x}): {}", stub::kUserTop, line));
  }
}

HostChild::~HostChild() {
  kill();
  if (ops_) munmap(ops_, stub::kOpsSize + stub::kResultSize);
  if (channel_fd_ >= 0) close(channel_fd_);
}

void HostChild::kill() {
  if (!alive_) return;
  ::kill(pid_, SIGKILL);
  int st;
  while (waitpid(pid_, &st, __WALL) < 0 && errno == EINTR) {}
  alive_ = false;
}

bool HostChild::get_regs(user_regs_struct& r) {
  ++counters_.getregs;
  return ptrace(PTRACE_GETREGS, pid_, nullptr, &r) == 0;
}

bool HostChild::set_regs(const user_regs_struct& r) {
  ++counters_.setregs;
  return ptrace(PTRACE_SETREGS, pid_, nullptr, &r) == 0;
}

bool HostChild::get_xstate(std::vector<uint8_t>& x) {
  x.resize(16384);
  iovec iov{x.data(), x.size()};
  if (ptrace(PTRACE_GETREGSET, pid_, NT_X86_XSTATE, &iov) != 0) return false;
  x.resize(iov.iov_len);
  ++counters_.xstate_swaps;
  return true;
}

bool HostChild::set_xstate(const std::vector<uint8_t>& x) {
  iovec iov{const_cast<uint8_t*>(x.data()), x.size()};
  return ptrace(PTRACE_SETREGSET, pid_, NT_X86_XSTATE, &iov) == 0;
}

void HostChild::resume() { ptrace(PTRACE_SYSEMU, pid_, nullptr, nullptr); }

void HostChild::interrupt() { ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr); }

Stop HostChild::wait(bool want_siginfo) {
  int st = 0;
  pid_t r;
  while ((r = waitpid(pid_, &st, __WALL)) < 0 && errno == EINTR) {}
  if (r < 0) {
    alive_ = false;
    Stop s{};
    s.kind = Stop::Kind::Killed;
    s.signo = SIGKILL;
    return s;
  }
  return decode(st, want_siginfo);
}

Stop HostChild::decode(int st, bool want_siginfo) {
  Stop s{};
  if (WIFEXITED(st)) {
    alive_ = false;
    s.kind = Stop::Kind::Exited;
    s.status = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    alive_ = false;
    s.kind = Stop::Kind::Killed;
    s.signo = WTERMSIG(st);
  } else if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
    s.kind = Stop::Kind::Syscall;
    ++counters_.stops_syscall;
  } else if (st >> 16) {
    s.kind = Stop::Kind::Event;
    s.status = st >> 16;
    s.signo = WSTOPSIG(st);
    ++counters_.stops_other;
  } else {
    s.kind = Stop::Kind::Signal;
    s.signo = WSTOPSIG(st);
    if (want_siginfo) ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &s.info);
    ++counters_.stops_signal;
  }
  return s;
}

uint32_t HostChild::run_batch(uint32_t count) {
  ops_->count = count;
  user_regs_struct s = initial_regs_;
  s.rip = batch_entry_;
  s.rsp = batch_stack_;
  s.eflags = 0x246;
  s.orig_rax = ~0ULL; // never let the host restart a "syscall" on resume
  if (!set_regs(s) || ptrace(PTRACE_CONT, pid_, nullptr, nullptr) != 0)
    throw std::runtime_error("host child: cannot start a stub batch");
  ++counters_.stub_runs;
  Stop st = wait(false);
  // A PTRACE_INTERRUPT sent while the guest ran may land here instead, and a
  // recycled child may still hold a host signal its last guest raised (a
  // fault that raced with the interrupt): drain both, suppressing them.
  for (int stale = 0; stale < 8; ++stale) {
    bool leftover = st.kind == Stop::Kind::Event || (st.kind == Stop::Kind::Signal && st.signo != SIGTRAP);
    if (!leftover || ptrace(PTRACE_CONT, pid_, nullptr, nullptr) != 0) break;
    st = wait(false);
  }
  --counters_.stops_signal;
  ++counters_.stops_stub;
  if (st.kind != Stop::Kind::Signal || st.signo != SIGTRAP) {
    throw std::runtime_error(fmt::format("host child {}: stub batch ended with stop kind {} signal {}",
                                         pid_, int(st.kind), st.signo));
  }
  return results_->done;
}

std::string HostChild::maps_text() const {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid_));
  return std::string((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
}

uint64_t HostChild::host_vmas_in_guest_space() const {
  std::istringstream maps(maps_text());
  std::string line;
  uint64_t n = 0;
  while (std::getline(maps, line))
    if (std::stoull(line.substr(0, line.find('-')), nullptr, 16) < stub::kUserTop) ++n;
  return n;
}

namespace {
uint64_t host_cpu_ns(pid_t pid) {
  clockid_t clock;
  timespec ts{};
  if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &ts) != 0) return 0;
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

uint64_t host_minflt(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close_paren = all.rfind(')');
  if (close_paren == std::string::npos) return 0;
  // Fields after "(comm)": state(3) ppid pgrp session tty_nr tpgid flags minflt(10)
  const char* p = all.c_str() + close_paren + 2;
  for (int field = 3; field < 10; ++field) {
    p = strchr(p, ' ');
    if (!p) return 0;
    ++p;
  }
  return strtoull(p, nullptr, 10);
}
} // namespace

uint64_t HostChild::cpu_ns() const {
  uint64_t t = host_cpu_ns(pid_);
  return t > cpu_base_ns_ ? t - cpu_base_ns_ : 0;
}

void HostChild::reset_counters() {
  counters_ = {};
  cpu_base_ns_ = host_cpu_ns(pid_);
  minflt_base_ = host_minflt(pid_);
}

uint64_t HostChild::host_minor_faults() const {
  uint64_t n = host_minflt(pid_);
  return n > minflt_base_ ? n - minflt_base_ : 0;
}

} // namespace gk::arch
