#include "arch-um/registers.h"

#include <sys/ptrace.h>

#include <stdexcept>

namespace gk::arch {

const user_regs_struct& Registers::get() {
  if (!valid_) {
    if (ptrace(PTRACE_GETREGS, pid_, nullptr, &regs_) != 0) regs_ = {};
    valid_ = true;
    ++fetches_;
  }
  return regs_;
}

user_regs_struct& Registers::mut() {
  get();
  dirty_ = true;
  return regs_;
}

bool Registers::flush() {
  if (!dirty_) return true;
  dirty_ = false;
  ++stores_;
  return ptrace(PTRACE_SETREGS, pid_, nullptr, &regs_) == 0;
}

} // namespace gk::arch
