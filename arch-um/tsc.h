// Converting TSC cycles (measured by the stub) to nanoseconds. The rate is
// calibrated over the kernel's own lifetime: two (tsc, monotonic) samples.
#pragma once
#include <time.h>

#include <cstdint>

namespace gk::arch {

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t(hi) << 32) | lo;
}

inline uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

class TscClock {
public:
  TscClock() : tsc0_(rdtsc()), ns0_(monotonic_ns()) {}
  // Nanoseconds per cycle, from the start of the kernel until now.
  double ns_per_cycle() const {
    uint64_t dt = rdtsc() - tsc0_, dn = monotonic_ns() - ns0_;
    return dt ? double(dn) / double(dt) : 0.0;
  }
private:
  uint64_t tsc0_, ns0_;
};

inline TscClock& tsc_clock() {
  static TscClock c;
  return c;
}

} // namespace gk::arch
