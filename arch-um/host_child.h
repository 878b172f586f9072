// One host child process: the container of one guest address space.
//
// The child is forked, seized with ptrace (PTRACE_O_EXITKILL), and execs the
// embedded stub. After the stub's hand-shake it sits stopped; the kernel then
// loads guest registers into it and resumes it with PTRACE_SYSEMU so every
// guest syscall and fault stops here. Host mm calls for the child run as a
// batch in the stub (run_batch), between two guest stops.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include <sys/user.h>

#include <vector>
#include "arch-um/stub_abi.h"

namespace gk::arch {

struct Stop {
  enum class Kind { Syscall, Signal, Event, Exited, Killed } kind;
  int signo = 0;       // Signal: the host signal; Killed: the fatal signal
  int status = 0;      // Exited: exit status; Event: PTRACE_EVENT_*
  siginfo_t info{};    // Signal: from PTRACE_GETSIGINFO
};

struct ChildCounters {
  uint64_t stops_syscall = 0, stops_signal = 0, stops_stub = 0, stops_other = 0;
  uint64_t stub_runs = 0;
  uint64_t getregs = 0, setregs = 0, xstate_swaps = 0;
  ChildCounters& operator+=(const ChildCounters& o) {
    stops_syscall += o.stops_syscall, stops_signal += o.stops_signal, stops_stub += o.stops_stub;
    stops_other += o.stops_other, stub_runs += o.stub_runs;
    getregs += o.getregs, setregs += o.setregs, xstate_swaps += o.xstate_swaps;
    return *this;
  }
};

class HostChild {
public:
  // Starts a stopped child ready for guest code; physfd becomes the child's
  // kPhysFd. Throws std::runtime_error with a clear message on failure.
  static std::unique_ptr<HostChild> spawn(int physfd);
  ~HostChild();
  HostChild(const HostChild&) = delete;
  HostChild& operator=(const HostChild&) = delete;

  pid_t pid() const { return pid_; }

  // General registers and the extended FPU state (XSAVE layout).
  bool get_regs(user_regs_struct& r);
  bool set_regs(const user_regs_struct& r);
  bool get_xstate(std::vector<uint8_t>& x);
  bool set_xstate(const std::vector<uint8_t>& x);
  // The registers the stub left after its hand-shake (segment selectors).
  const user_regs_struct& initial_regs() const { return initial_regs_; }

  // Resume guest code under PTRACE_SYSEMU, delivering no host signal.
  void resume();
  // Stop the running child (preemption); it reports a PTRACE_EVENT_STOP.
  void interrupt();
  // Block until the child stops or dies. `want_siginfo` false skips
  // PTRACE_GETSIGINFO for signal stops whose cause is known (the stub's int3).
  Stop wait(bool want_siginfo = true);
  // Turn a waitpid status of this child into a Stop (the event loop reaps
  // stops of every child with waitpid(-1) and hands them over here).
  Stop decode(int status, bool want_siginfo = true);

  // The channel: the kernel writes ops, the stub writes results.
  stub::OpsPage& ops() { return *ops_; }
  const stub::ResultPage& results() const { return *results_; }
  // Run ops()[0..count) in the stub; returns how many ran (stops at the first
  // failure). The child's general registers are the stub's afterwards: the
  // caller reloads the guest's. Throws if the child misbehaves.
  uint32_t run_batch(uint32_t count);

  // Host-side figures of this child, read from /proc.
  std::string maps_text() const; // its host mappings, as /proc/PID/maps shows them
  uint64_t host_vmas_in_guest_space() const;
  uint64_t host_minor_faults() const;
  // CPU time the child has used (guest code and stub) since it was spawned
  // or last recycled; host_minor_faults() counts the same way.
  uint64_t cpu_ns() const;
  // Kill and reap now (idempotent).
  void kill();
  bool alive() const { return alive_; }

  const ChildCounters& counters() const { return counters_; }
  // A recycled child starts counting afresh (counters and CPU time).
  void reset_counters();

private:
  HostChild() = default;
  void handshake();
  void check_host_maps() const;

  pid_t pid_ = -1;
  bool alive_ = false;
  user_regs_struct initial_regs_{};
  int channel_fd_ = -1;
  stub::OpsPage* ops_ = nullptr;
  stub::ResultPage* results_ = nullptr;
  uint64_t batch_entry_ = 0, batch_stack_ = 0;
  ChildCounters counters_;
  uint64_t cpu_base_ns_ = 0, minflt_base_ = 0;
};

} // namespace gk::arch
