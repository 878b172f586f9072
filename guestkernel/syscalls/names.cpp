#include "guestkernel/syscalls/syscall.h"

#include "syscall_names.inc"

namespace gk {

const char* syscall_name(uint64_t nr) {
  if (nr < sizeof(kSyscallNames) / sizeof(kSyscallNames[0]) && kSyscallNames[nr]) return kSyscallNames[nr];
  return "unknown";
}

} // namespace gk
