// Virtual memory areas of one address space: sorted, non-overlapping ranges
// with protection and flags; split on partial changes, merged when alike.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gk::mm {

class PageCache;

struct Vma {
  uint64_t start = 0, end = 0; // [start, end), page aligned
  int prot = 0;                // PROT_*
  uint32_t flags = 0;
  std::string name;            // "[heap]", "[stack]", a path, or empty
  // A file mapping: the file's page cache (kept alive by the VMA; it also
  // keeps the inode alive) and the file page that `start` maps. MAP_SHARED
  // anonymous memory is a file mapping too, of a cache nobody else has.
  std::shared_ptr<PageCache> file;
  uint64_t pgoff = 0;

  static constexpr uint32_t kShared = 1;    // MAP_SHARED
  static constexpr uint32_t kGrowsDown = 2; // the stack
  static constexpr uint32_t kHeap = 4;      // brk area

  uint64_t length() const { return end - start; }
  uint64_t pages() const { return length() >> 12; }
  bool contains(uint64_t a) const { return a >= start && a < end; }
  // The file page mapped at `va` (file mappings).
  uint64_t pgoff_of(uint64_t va) const { return pgoff + ((va - start) >> 12); }
  // `next` directly follows this one and nothing tells them apart.
  bool mergeable_with(const Vma& next) const {
    return end == next.start && prot == next.prot && flags == next.flags && name == next.name &&
           file == next.file && (!file || pgoff + pages() == next.pgoff);
  }
};

class VmaSet {
public:
  using Map = std::map<uint64_t, Vma>;

  const Vma* find(uint64_t addr) const;      // the VMA containing addr
  const Vma* first_after(uint64_t addr) const; // first VMA with end > addr
  bool overlaps(uint64_t start, uint64_t end) const;
  bool covered(uint64_t start, uint64_t end) const; // no holes in [start, end)

  // Precondition: no overlap. Merges with alike neighbours.
  void insert(const Vma& v);
  // Removes [start, end), splitting VMAs at the edges; returns what was removed.
  std::vector<Vma> remove(uint64_t start, uint64_t end);
  // Sets prot on [start, end) (must be covered), splitting and re-merging.
  void protect(uint64_t start, uint64_t end, int prot);
  // Grows the VMA starting at `old_start` down to `new_start` (stack) or the
  // VMA ending at `old_end` up to `new_end` (heap).
  void grow_down(uint64_t old_start, uint64_t new_start);
  void resize_end(uint64_t start, uint64_t new_end);

  // Highest free range of `len` bytes inside [lo, hi), or nothing.
  std::optional<uint64_t> find_gap_topdown(uint64_t len, uint64_t lo, uint64_t hi) const;

  size_t size() const { return map_.size(); }
  Map::const_iterator begin() const { return map_.begin(); }
  Map::const_iterator end() const { return map_.end(); }

private:
  void split_at(uint64_t addr);
  void merge_at(uint64_t addr); // merge the VMAs meeting at addr, if alike
  Map map_;
};

} // namespace gk::mm
