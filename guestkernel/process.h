// A guest process: its address space, host child, files, identity and
// signal dispositions. (One thread per process until threads land.)
#pragma once
#include <signal.h>
#include <sys/resource.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "arch-um/host_child.h"
#include "guestkernel/vfs/file.h"
#include "mm/address_space.h"

namespace gk {

struct Creds {
  uint32_t uid = 0, euid = 0, suid = 0, gid = 0, egid = 0, sgid = 0;
};

// struct k_sigaction as the x86-64 rt_sigaction ABI has it.
struct KSigaction {
  uint64_t handler = 0; // SIG_DFL = 0, SIG_IGN = 1
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};

struct Process {
  int pid = 1, ppid = 0, tid = 1;
  std::string comm; // first 15 bytes of the program's name
  std::string exe;
  std::unique_ptr<arch::HostChild> child;
  std::unique_ptr<mm::AddressSpace> mm;
  FdTable fds;
  Creds creds;
  std::array<KSigaction, 65> sigactions{}; // index = signal number
  uint64_t sigmask = 0;
  std::array<rlimit, RLIM_NLIMITS> rlimits{};
  uint64_t clear_child_tid = 0;
  uint64_t robust_list = 0;

  // Set when the process is done: by exit_group or a fatal signal.
  bool exited = false;
  int exit_code = 0;  // exit_group status
  int term_signal = 0; // fatal signal, or 0

  Process();
  // The wait status a parent would see: 128+N for signal N, as a shell reports.
  int shell_status() const { return term_signal ? 128 + term_signal : exit_code & 0xff; }
};

// Adapts a host child to mm's stub channel (mm never sees ptrace).
class ChildChannel : public mm::StubChannel {
public:
  explicit ChildChannel(arch::HostChild& c) : c_(c) {}
  stub::OpsPage& ops() override { return c_.ops(); }
  const stub::ResultPage& results() override { return c_.results(); }
  uint32_t run_batch(uint32_t n) override { return c_.run_batch(n); }

private:
  arch::HostChild& c_;
};

} // namespace gk
