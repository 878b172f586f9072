// The host MMU: mirrors guest PTEs into a host child's address space.
//
// The address space queues abstract ops (map a run of frames, change
// protection, drop a mirror, release a VMA); runs that continue each other are
// coalesced as they are queued. flush() expands them into host syscalls for
// the chosen backend and runs them in the child's stub in one batch:
//
//   rfp:    mprotect (only if the prot differs from the VMA's) +
//           remap_file_pages(va, len, 0, pfn, 0) inside a MAP_SHARED "reserve"
//           mapping of the memfd that covers the guest VMA
//   mremap: mremap(window + pfn*4K, 0, len, MAYMOVE|FIXED, va) + mprotect
//   mmap:   mmap(va, len, prot, MAP_SHARED|MAP_FIXED, physfd, pfn*4K)
//
// Host mappings are only a cache of the guest page table (like a TLB), so on
// host ENOMEM (vm.max_map_count) flush() drops every mirror of the child and
// reports it; the address space forgets its HOSTMAPPED bits and the guest
// simply faults pages back in.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arch-um/stub_abi.h"

namespace gk::mm {

enum class Backend { Rfp, Mremap, Mmap };
const char* backend_name(Backend b);
std::optional<Backend> parse_backend(std::string_view s);

// The host syscalls a backend issues, as counted in the statistics.
enum class HostCall { Mmap, Mprotect, Munmap, Mremap, Rfp, Count };
const char* host_call_name(HostCall c);

struct MmuStats {
  uint64_t calls[size_t(HostCall::Count)] = {};
  uint64_t cycles[size_t(HostCall::Count)] = {};
  uint64_t queued = 0;      // abstract ops before coalescing
  uint64_t coalesced = 0;   // ops merged into the previous one
  uint64_t pages_mapped = 0;
  uint64_t batches = 0;     // stub runs
  uint64_t evictions = 0;   // drop-everything on host ENOMEM
};

// How mm reaches a child's stub without knowing about ptrace.
class StubChannel {
public:
  virtual ~StubChannel() = default;
  virtual stub::OpsPage& ops() = 0;
  virtual const stub::ResultPage& results() = 0;
  virtual uint32_t run_batch(uint32_t count) = 0;
};

struct PendingOp {
  enum class Kind { Map, Protect, Drop, Release, Reserve } kind;
  uint64_t va = 0, npages = 0, pfn = 0;
  int prot = 0;      // Map/Protect: the new prot
  int vma_prot = 0;  // Map/Drop/Reserve: the VMA's prot (rfp reserves carry it)
  bool replace = false; // Map: the page was mirrored before (rfp must re-protect)
};

class HostMmu {
public:
  HostMmu(Backend b, uint64_t phys_bytes, MmuStats& stats) : backend_(b), phys_bytes_(phys_bytes), stats_(stats) {}

  Backend backend() const { return backend_; }
  void map(uint64_t va, uint64_t pfn, uint64_t npages, int prot, int vma_prot, bool replace);
  void protect(uint64_t va, uint64_t npages, int prot);
  void drop(uint64_t va, uint64_t npages, int vma_prot);
  void release(uint64_t va, uint64_t npages);
  // A guest VMA appeared or changed prot (rfp keeps a reserve mapping under
  // each VMA; the other backends need nothing).
  void reserve(uint64_t va, uint64_t npages, int vma_prot);
  bool needs_vma_reserve() const { return backend_ == Backend::Rfp; }

  // Ops to run once in a fresh child (the mremap window).
  void setup_child();
  // The child was used by another address space: before anything else,
  // drop every guest-space mapping it still has.
  void wipe_child_first();

  bool pending() const { return !queue_.empty(); }
  enum class Flush { Done, Evicted };
  Flush flush(StubChannel& ch);

  std::function<void(std::string_view)> trace; // --trace=mmu

private:
  void queue(const PendingOp& op);
  void expand(const PendingOp& op, std::vector<stub::Op>& out, std::vector<HostCall>& kinds) const;

  Backend backend_;
  uint64_t phys_bytes_;
  MmuStats& stats_;
  std::vector<PendingOp> queue_;
};

} // namespace gk::mm
