// The contract between the kernel and the stub running in each host child.
// Shared by arch-um/stub/stub.cpp (freestanding) and the kernel, so it uses
// nothing but fixed-width integers.
#pragma once
#include <stdint.h>

namespace gk::stub {

// Everything the host owns inside a child lies at or above kUserTop; guest user
// space is [0, kUserTop). The start-up maps check enforces this.
inline constexpr uint64_t kUserTop = 0x7fc0'0000'0000ULL;
inline constexpr uint64_t kStubText = 0x7fc0'0000'0000ULL;   // linker -Ttext-segment
inline constexpr uint64_t kOpsPage = 0x7fd0'0000'0000ULL;    // kernel writes, child reads
inline constexpr uint64_t kResultPage = 0x7fd0'0010'0000ULL; // child writes, kernel reads
inline constexpr uint64_t kWindow = 0x7fe0'0000'0000ULL;     // mremap backend's physmem window
inline constexpr uint64_t kWindowMax = 0x0010'0000'0000ULL;  // 64 GiB of address space

// File descriptors the kernel passes to the stub across exec.
inline constexpr int kChannelFd = 3; // memfd holding the ops and result pages
inline constexpr int kPhysFd = 4;    // the physmem memfd (mmap/rfp backends, window)

inline constexpr uint32_t kMaxOps = 2000;

// One host syscall for the stub to run: nr(args...). The stub is a batch
// syscall executor; what the ops mean is the MMU backend's business.
struct Op {
  uint64_t nr;
  uint64_t args[6];
};

struct OpsPage {
  uint32_t count;
  uint32_t pad;
  Op ops[kMaxOps];
};

struct OpResult {
  int64_t ret;     // raw syscall return (-errno on failure)
  uint64_t cycles; // rdtsc delta around the syscall
};

struct ResultPage {
  uint32_t done;   // ops run; the batch stops at the first failing op
  uint32_t pad;
  OpResult results[kMaxOps];
};

inline constexpr uint64_t kOpsSize = (sizeof(OpsPage) + 4095) & ~4095ULL;
inline constexpr uint64_t kResultSize = (sizeof(ResultPage) + 4095) & ~4095ULL;
static_assert(kOpsPage + kOpsSize <= kResultPage, "ops and result pages overlap");

} // namespace gk::stub
