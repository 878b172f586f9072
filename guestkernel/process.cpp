#include "guestkernel/process.h"

namespace gk {

Process::Process() {
  for (auto& r : rlimits) r = {RLIM_INFINITY, RLIM_INFINITY};
  rlimits[RLIMIT_STACK] = {8ULL << 20, RLIM_INFINITY};
  rlimits[RLIMIT_NOFILE] = {FdTable::kMaxFds, FdTable::kMaxFds};
  rlimits[RLIMIT_CORE] = {0, RLIM_INFINITY};
  rlimits[RLIMIT_NPROC] = {4096, 4096};
  rlimits[RLIMIT_MEMLOCK] = {8ULL << 20, 8ULL << 20};
  rlimits[RLIMIT_SIGPENDING] = {4096, 4096};
  rlimits[RLIMIT_MSGQUEUE] = {819200, 819200};
  rlimits[RLIMIT_NICE] = {0, 0};
  rlimits[RLIMIT_RTPRIO] = {0, 0};
}

} // namespace gk
