// Time arithmetic shared by the clock, sleep and timer syscalls.
#pragma once
#include <time.h>

#include <cstdint>

#include "guestkernel/kernel.h"

namespace gk {

inline constexpr int64_t kNsPerSec = 1'000'000'000;

inline int64_t ts_ns(const timespec& ts) { return ts.tv_sec * kNsPerSec + ts.tv_nsec; }
inline timespec ns_ts(int64_t ns) { return timespec{ns / kNsPerSec, ns % kNsPerSec}; }

// The kernel's timers run on CLOCK_MONOTONIC: when `value_ns` from now
// comes, or, if `absolute`, when host clock `clock` reads `value_ns`.
inline int64_t monotonic_deadline(clockid_t clock, int64_t value_ns, bool absolute) {
  int64_t now = int64_t(Kernel::now_ns());
  if (!absolute) return now + value_ns;
  timespec cur;
  clock_gettime(clock, &cur);
  return now + (value_ns - ts_ns(cur));
}

} // namespace gk
