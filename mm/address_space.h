// One guest address space: its page table, VMAs, heap break, and the host
// MMU that mirrors it into a host child. Fault handling and the mapping
// syscalls' semantics live here; user-memory copies live in uaccess.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "arch-um/stub_abi.h"
#include "mm/host_mmu.h"
#include "mm/page_table.h"
#include "mm/physmem.h"
#include "mm/vma.h"

namespace gk::mm {

inline constexpr uint64_t kUserTop = stub::kUserTop;
inline constexpr uint64_t kStackTop = kUserTop - kPageSize;
inline constexpr uint64_t kMmapMin = 0x10000; // vm.mmap_min_addr
inline uint64_t page_down(uint64_t a) { return a & ~(kPageSize - 1); }
inline uint64_t page_up(uint64_t a) { return (a + kPageSize - 1) & ~(kPageSize - 1); }

enum class Access { Read, Write, Exec, Unknown };
enum class FaultResult { Mapped, MapErr, AccErr, Oom };
const char* fault_result_name(FaultResult r);

struct FaultCounters {
  uint64_t demand_zero = 0; // fresh anonymous frames, faulting page only
  uint64_t cow_copy = 0;    // copy-on-write: the frame was shared, copied
  uint64_t cow_reuse = 0;   // copy-on-write: last user, made writable in place
  uint64_t around = 0;      // neighbours mapped by fault-around
  uint64_t remirror = 0;    // PTE present, host mirror missing
  uint64_t stack_growth = 0;
  uint64_t kernel = 0;      // raised by copy_*_user
  uint64_t segv = 0;
  uint64_t oom = 0;
};

struct MmConfig {
  unsigned fault_around = 16; // pages; 1 disables fault-around
  uint64_t stack_limit = 8ULL << 20;
};

class AddressSpace {
public:
  AddressSpace(PhysMem& pm, Backend backend, MmuStats& mmu_stats, FaultCounters& faults, MmConfig cfg = {});
  ~AddressSpace(); // returns every frame
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  // ---- mapping syscalls (return an address or -errno) ----
  // Anonymous memory (file mappings are filled by the caller); `flags` are
  // MAP_* as the guest gave them.
  int64_t mmap(uint64_t addr, uint64_t len, int prot, int flags, const std::string& name = {});
  int64_t munmap(uint64_t addr, uint64_t len);
  int64_t mprotect(uint64_t addr, uint64_t len, int prot);
  int64_t brk(uint64_t new_brk);
  // madvise(MADV_DONTNEED/MADV_FREE): private pages go back to zero-fill.
  int64_t discard(uint64_t addr, uint64_t len);
  void set_brk_base(uint64_t base) { brk_start_ = brk_ = base; }
  uint64_t brk_start() const { return brk_start_; }

  // fork(): a new address space sharing every private frame copy-on-write
  // (both sides write-protected, in the guest PTEs and in this side's host
  // mirror) and every MAP_SHARED frame as it is. nullptr if memory runs out.
  std::unique_ptr<AddressSpace> fork(MmuStats& child_stats, FaultCounters& child_faults);

  // ---- faults ----
  // from_guest: a host fault of the child (mirror the result, fault around);
  // otherwise the kernel touching user memory (fill the PTE only).
  FaultResult fault(uint64_t addr, Access access, bool from_guest);

  // ---- user memory (uaccess.cpp): 0 or -EFAULT ----
  int copy_from_user(void* dst, uint64_t src, size_t n);
  int copy_to_user(uint64_t dst, const void* src, size_t n);
  // Length of the string (without NUL), -EFAULT, or -ENAMETOOLONG if no NUL
  // within `max` bytes.
  int64_t strncpy_from_user(char* dst, uint64_t src, size_t max);
  // The loader's write: ignores protection, fills pages as needed.
  bool poke(uint64_t dst, const void* src, size_t n);

  // ---- host mirror ----
  HostMmu& mmu() { return mmu_; }
  void flush_host(StubChannel& ch);

  const VmaSet& vmas() const { return vmas_; }
  PageTable& page_table() { return pt_; }
  PhysMem& physmem() { return pm_; }
  uint64_t resident_pages() const { return resident_; }
  uint64_t stack_top() const { return kStackTop; }
  uint64_t mmap_base() const { return kStackTop - (128ULL << 20); }

private:
  // Insert a VMA and tell the host MMU.
  void add_vma(const Vma& v);
  // Remove [start, end) from the VMAs and free its frames.
  void unmap_range(uint64_t start, uint64_t end);
  // A zeroed anonymous frame for `va` (kept contiguous with va-4K's frame
  // where possible), or nothing when memory is exhausted.
  std::optional<uint64_t> new_anon_frame(uint64_t va);
  // Make `va` present (demand-zero) without mirroring; returns the PTE.
  uint64_t* populate(uint64_t va, const Vma& v, FaultResult& r);
  const Vma* find_or_grow_stack(uint64_t addr);
  void forget_host_mirrors();
  // Give `va` its own writable frame; false when memory is exhausted.
  bool break_cow(uint64_t va, uint64_t& e, const Vma& v, bool mirror);

  PhysMem& pm_;
  PageTable pt_;
  VmaSet vmas_;
  HostMmu mmu_;
  FaultCounters& faults_;
  MmConfig cfg_;
  uint64_t brk_start_ = 0, brk_ = 0;
  uint64_t resident_ = 0;
};

} // namespace gk::mm
