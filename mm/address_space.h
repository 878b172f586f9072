// One guest address space: its page table, VMAs, heap break, and the host
// MMU that mirrors it into a host child. Fault handling and the mapping
// syscalls' semantics live here; user-memory copies live in uaccess.cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "arch-um/stub_abi.h"
#include "mm/host_mmu.h"
#include "mm/page_cache.h"
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
// SigBus: a file page past the end of the file (or one that cannot be read).
enum class FaultResult { Mapped, MapErr, AccErr, Oom, SigBus };
const char* fault_result_name(FaultResult r);

struct FaultCounters {
  uint64_t demand_zero = 0; // fresh anonymous frames, faulting page only
  uint64_t file = 0;        // page-cache pages mapped, faulting page only
  uint64_t dirty = 0;       // first writes to clean shared file pages
  uint64_t cow_copy = 0;    // copy-on-write: the frame was shared, copied
  uint64_t cow_reuse = 0;   // copy-on-write: last user, made writable in place
  uint64_t around = 0;      // neighbours mapped by fault-around
  uint64_t remirror = 0;    // PTE present, host mirror missing
  uint64_t stack_growth = 0;
  uint64_t kernel = 0;      // raised by copy_*_user
  uint64_t segv = 0;
  uint64_t sigbus = 0;
  uint64_t oom = 0;
};

struct MmConfig {
  unsigned fault_around = 16; // pages; 1 disables fault-around
  uint64_t stack_limit = 8ULL << 20;
};

class AddressSpace {
public:
  AddressSpace(PhysMem& pm, Backend backend, MmuStats& mmu_stats, FaultCounters& faults, MmConfig cfg = {});
  ~AddressSpace(); // writes back shared file pages and returns every frame
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  // ---- mapping syscalls (return an address or -errno) ----
  // `flags` are MAP_* as the guest gave them. With `file`, the mapping shows
  // the file's pages from page `pgoff` on; MAP_SHARED without a file gets
  // a shared-memory cache of its own (Linux's shmem behind MAP_ANONYMOUS).
  int64_t mmap(uint64_t addr, uint64_t len, int prot, int flags, const std::string& name = {},
               std::shared_ptr<PageCache> file = nullptr, uint64_t pgoff = 0);
  int64_t munmap(uint64_t addr, uint64_t len);
  int64_t mprotect(uint64_t addr, uint64_t len, int prot);
  int64_t brk(uint64_t new_brk);
  // mremap(2) (mremap.cpp): MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP.
  int64_t mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr);
  // madvise(MADV_DONTNEED): drops the PTEs; anonymous pages come back
  // zeroed, file pages from the page cache (private copies are lost).
  int64_t discard(uint64_t addr, uint64_t len);
  // madvise(MADV_REMOVE): frees the file pages behind a shared mapping.
  int64_t remove_pages(uint64_t addr, uint64_t len);
  // msync(2) (file_map.cpp): writes back the shared file pages of the range.
  int64_t msync(uint64_t addr, uint64_t len, int flags);
  // mincore(2) (file_map.cpp): one byte per page, bit 0 set if resident.
  int64_t mincore(uint64_t addr, uint64_t len, std::vector<uint8_t>& out);
  // Writes back every shared file page this address space dirtied.
  void writeback_all();
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

  // ---- the page cache's reverse map (file_map.cpp) ----
  // Unmaps file pages [first, end) of `c` from every VMA of `c`, private
  // copies included (truncate: those pages are past EOF now).
  void zap_file_pages(const PageCache* c, uint64_t first_pg, uint64_t end_pg);
  // Takes write access to file page `pg` of `c` away from shared mappings;
  // true if some PTE had it.
  bool write_protect_file_page(const PageCache* c, uint64_t pg);

  // ---- --trace hooks (null: off) ----
  // fault: each fault's VMA and what is done about it; pte: each PTE a
  // fault changes (and a summary of what fork does to them).
  std::function<void(std::string_view)> trace_fault, trace_pte;

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
  // Moves the pages of [addr, addr+old_len) (one VMA) to a new VMA of
  // new_len at new_addr (free); keep_old leaves the old VMA, emptied.
  int64_t move_range(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t new_addr, bool keep_old);
  // Page caches of removed VMAs that no VMA maps any more forget us.
  void forget_caches(const std::vector<Vma>& removed);
  // Clears one PTE, returning its frame reference (later, if the host may
  // still map it: see deferred_puts_).
  void zap_pte(uint64_t va, uint64_t& e, const Vma& v, bool defer);
  // A zeroed anonymous frame for `va` (kept contiguous with va-4K's frame
  // where possible), or nothing when memory is exhausted.
  std::optional<uint64_t> new_anon_frame(uint64_t va);
  // Make `va` present (demand-zero, or from the file) without mirroring;
  // returns the PTE. A write to a file page gets a private copy or a dirty
  // shared page at once.
  uint64_t* populate(uint64_t va, const Vma& v, FaultResult& r, Access access = Access::Unknown);
  // The PTE for file page of `va` (file_map.cpp); 0 with `r` set on failure.
  uint64_t file_pte(uint64_t va, const Vma& v, Access access, FaultResult& r);
  // The first write to a clean shared file page: dirty it in the cache and
  // the PTE, give write access (and the host mirror, if `mirror`).
  void dirty_shared_page(uint64_t va, uint64_t& e, const Vma& v, bool mirror);
  const Vma* find_or_grow_stack(uint64_t addr);
  void forget_host_mirrors();
  // --trace=pte: one line for a PTE that went from `before` to `after`.
  void note_pte(uint64_t va, uint64_t before, uint64_t after, const char* why) const;
  // Give `va` its own writable frame; false when memory is exhausted.
  bool break_cow(uint64_t va, uint64_t& e, const Vma& v, bool mirror);

  PhysMem& pm_;
  PageTable pt_;
  VmaSet vmas_;
  HostMmu mmu_;
  FaultCounters& faults_;
  MmConfig cfg_;
  // Fault-around grows along a sequential streak: a fault at around_next_
  // (where the last window ended) maps twice the last window's pages.
  uint64_t around_next_ = 0;
  uint64_t around_pages_ = 0;
  uint64_t brk_start_ = 0, brk_ = 0;
  uint64_t resident_ = 0;
  // Frames unmapped by another address space's truncate while our host
  // mirror may still show them (our child may be running): released after
  // the mirror is gone, at our next flush.
  std::vector<uint64_t> deferred_puts_;
};

} // namespace gk::mm
