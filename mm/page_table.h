// A 4-level x86-64 page table whose every level lives in a guest frame.
#pragma once
#include <cstdint>
#include <functional>

#include "mm/physmem.h"
#include "mm/pte.h"

namespace gk::mm {

class PageTable {
public:
  explicit PageTable(PhysMem& pm); // allocates the PML4; throws if memory is exhausted
  ~PageTable();                    // frees the table frames (never the leaf frames)
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;

  uint64_t root_pfn() const { return root_; }

  // The leaf entry for `va`, or nullptr if an upper level is missing.
  uint64_t* lookup(uint64_t va) const;
  // Same, creating missing levels; nullptr if a table frame cannot be had.
  uint64_t* ensure(uint64_t va);
  // Calls fn(va, entry&) for every non-zero leaf in [start, end), skipping
  // missing upper levels wholesale.
  void for_each(uint64_t start, uint64_t end, const std::function<void(uint64_t, uint64_t&)>& fn);
  // Calls fn(level, index, va, entry) for every non-zero entry of every
  // level, each table's entry before the entries below it, in address order
  // (the FUSE view's tree): level 3 is the PML4, 0 a PT; `va` is where the
  // entry's range starts.
  using Visitor = std::function<void(int level, unsigned index, uint64_t va, uint64_t entry)>;
  void visit(const Visitor& fn) const { visit_level(root_, 3, 0, fn); }
  // Frees page-table frames that no longer map anything in [start, end).
  void prune(uint64_t start, uint64_t end);
  // Frames used by the table itself.
  uint64_t table_frames() const { return table_frames_; }

  // Bytes one entry at `level` covers (4 KiB at level 0).
  static uint64_t span(int level) { return 1ULL << (12 + 9 * level); }
  // Index of `va` at `level` (3 = PML4 ... 0 = PT).
  static unsigned index(uint64_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

private:
  uint64_t* table(uint64_t pfn) const { return reinterpret_cast<uint64_t*>(pm_.frame_ptr(pfn)); }
  void walk(uint64_t pfn, int level, uint64_t base, uint64_t start, uint64_t end,
            const std::function<void(uint64_t, uint64_t&)>& fn);
  void visit_level(uint64_t pfn, int level, uint64_t base, const Visitor& fn) const;
  bool prune_level(uint64_t pfn, int level, uint64_t base, uint64_t start, uint64_t end);
  void free_level(uint64_t pfn, int level);

  PhysMem& pm_;
  uint64_t root_;
  uint64_t table_frames_ = 1;
};

} // namespace gk::mm
