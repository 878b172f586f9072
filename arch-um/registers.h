// The general registers of a stopped host child, cached so each stop costs at
// most one PTRACE_GETREGS and one PTRACE_SETREGS.
#pragma once
#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>

namespace gk::arch {

class Registers {
public:
  explicit Registers(pid_t pid) : pid_(pid) {}

  // A new stop: whatever we held is stale.
  void invalidate() { valid_ = dirty_ = false; }
  // Read access (fetches once per stop).
  const user_regs_struct& get();
  // Write access: fetches, marks dirty; flushed by flush() before resuming.
  user_regs_struct& mut();
  void replace(const user_regs_struct& r) { regs_ = r; valid_ = dirty_ = true; }
  // PTRACE_SETREGS if anything changed. Returns false if the child vanished.
  bool flush();

  uint64_t fetches() const { return fetches_; }
  uint64_t stores() const { return stores_; }

private:
  pid_t pid_;
  user_regs_struct regs_{};
  bool valid_ = false;
  bool dirty_ = false;
  uint64_t fetches_ = 0, stores_ = 0;
};

// Syscall arguments in x86-64 order.
inline uint64_t syscall_arg(const user_regs_struct& r, int i) {
  switch (i) {
  case 0: return r.rdi;
  case 1: return r.rsi;
  case 2: return r.rdx;
  case 3: return r.r10;
  case 4: return r.r8;
  default: return r.r9;
  }
}

} // namespace gk::arch
