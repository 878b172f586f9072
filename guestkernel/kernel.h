// The kernel: guest physical memory, the syscall table, the guest's
// processes, and the loop that turns host stops into guest events.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "guestkernel/options.h"
#include "guestkernel/process.h"
#include "guestkernel/syscalls/syscall.h"
#include "guestkernel/trace.h"
#include "mm/physmem.h"

namespace gk {

inline constexpr const char* kGuestRelease = "6.1.0-guestkernel";

struct KernelStats {
  std::array<uint64_t, SyscallTable::kSize> syscalls{};
  uint64_t unknown_syscalls = 0;
  uint64_t fault_stops = 0;   // host SIGSEGV/SIGBUS stops of children
  uint64_t guest_signals = 0; // faults that became guest signals
  mm::FaultCounters faults;
  mm::MmuStats mmu;
  // Sampled from each child's /proc (at most every 250 ms, and at exit).
  uint64_t peak_host_vmas = 0;
  uint64_t exit_host_vmas = 0;
  uint64_t host_minor_faults = 0;
  uint64_t regs_fetches = 0, regs_stores = 0;
  arch::ChildCounters stops;
  uint64_t start_ns = 0, end_ns = 0;
};

class Kernel {
public:
  explicit Kernel(const Options& o);
  // Runs the program to completion; returns the status a shell would see.
  int run();

  const std::string& hostname() const { return opts_.hostname; }
  const Options& options() const { return opts_; }
  KernelStats& stats() { return stats_; }
  Trace& trace() { return trace_; }

private:
  void handle_syscall(Process& p);
  void handle_signal_stop(Process& p, const arch::Stop& s);
  void kill_guest(Process& p, int sig, const std::string& why);
  void sample_host_figures(Process& p);
  void trace_syscall(Process& p, const SyscallArgs& a, int64_t ret);

  Options opts_;
  Trace trace_;
  mm::PhysMem physmem_;
  SyscallTable table_;
  KernelStats stats_;
  std::set<uint64_t> unknown_logged_;
  uint64_t last_fault_addr_ = ~0ULL, last_fault_rip_ = 0;
  int same_fault_count_ = 0;
  static constexpr uint64_t kSampleIntervalNs = 250'000'000;
  uint64_t next_sample_ns_ = 0, last_sample_batch_ = 0;
};

// --stats output (stats.cpp).
void print_stats(FILE* out, const Kernel& k, const KernelStats& s);
void write_stats_json(const std::string& path, const Kernel& k, const KernelStats& s);

} // namespace gk
