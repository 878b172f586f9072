// The page cache of one file: its pages in guest frames (FrameKind::PageCache),
// shared by read()/write() and by every mapping of the file, as on Linux.
//
// Each cached page holds one frame reference for the cache; every PTE that
// maps it holds another, so a frame lives while anyone can reach it. The
// cache knows the address spaces that map it (its "mappers", Linux's
// i_mmap): truncation unmaps the pages it drops from all of them, and
// writeback write-protects them so the next write marks the page dirty again.
//
// Two kinds of cache:
//   - backed (hostfs): a PageBacking supplies pages on demand and takes them
//     back on writeback; read()/write() of pages nobody caches go straight to
//     it, so plain file I/O does not fill guest memory;
//   - store (tmpfs, MAP_SHARED|MAP_ANONYMOUS): no backing, the cached pages
//     ARE the data; holes read as zeros and cost nothing.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "mm/physmem.h"

namespace gk::mm {

class AddressSpace;

// Where a backed cache's bytes come from and go back to: the inode.
class PageBacking {
public:
  virtual ~PageBacking() = default;
  // Up to n bytes at off (fewer at end of file): the count or -errno.
  virtual int64_t backing_read(void* buf, size_t n, uint64_t off) = 0;
  virtual int64_t backing_write(const void* buf, size_t n, uint64_t off) = 0;
};

// A cap on the frames a group of store caches may hold (a tmpfs mount's
// size=); an allocation beyond it fails like exhausted memory (ENOSPC).
struct PageBudget {
  uint64_t limit = 0; // pages; 0: no limit (only guest memory's end)
  uint64_t used = 0;
};

class PageCache {
public:
  static constexpr uint64_t kAllPages = UINT64_MAX;

  // `backing` null: a store cache. `budget` (optional) is charged per page.
  PageCache(PhysMem& pm, PageBacking* backing, PageBudget* budget = nullptr, uint64_t size = 0);
  ~PageCache(); // drops the cache's frame references (dirty pages are lost: write back first)
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // The file's st_dev and st_ino, for /proc/PID/maps (set by its file system).
  uint64_t dev = 0, ino = 0;

  PhysMem& physmem() const { return pm_; }
  bool backed() const { return backing_ != nullptr; }
  uint64_t size() const { return size_; }
  uint64_t resident_pages() const { return pages_.size(); }
  uint64_t dirty_pages() const { return dirty_; }
  // Nothing cached and nobody maps it: a backed cache may then take its
  // size from the backing afresh (the host file may have changed).
  bool idle() const { return pages_.empty() && mappers_.empty(); }
  void set_size(uint64_t size) { size_ = size; } // only when idle(), or growing

  // ---- file I/O ----
  // read(): at most to the end of file. write(): extends the file; a store
  // cache gives -ENOSPC when no page could be had (a short count when some
  // bytes were written), a backed cache writes through to the backing and
  // updates the pages it holds.
  int64_t read(void* buf, size_t n, uint64_t off);
  int64_t write(const void* buf, size_t n, uint64_t off);
  // New end of file. Pages wholly past it leave the cache and every mapping
  // (touching them there gives SIGBUS); the tail of a partial last page is
  // zeroed. A backed cache's owner truncates the backing itself.
  void truncate(uint64_t size);
  // Drops the pages of [first, end) (hole punching, MADV_REMOVE): unmapped
  // everywhere, later reads see zeros (store) or the backing (backed).
  void punch(uint64_t first_pg, uint64_t end_pg);

  // ---- mappings (address_space.cpp) ----
  // NoSpace: the budget (tmpfs size=) is used up; NoMemory: guest memory is.
  enum class Get { Ok, PastEof, NoSpace, NoMemory, IoError };
  // The frame of file page `pg`, read in (or zero-filled) on demand. The
  // caller takes its own reference for a PTE.
  Get get_page(uint64_t pg, uint64_t& pfn);
  bool resident(uint64_t pg) const { return pages_.count(pg) != 0; }
  bool is_dirty(uint64_t pg) const;
  void set_dirty(uint64_t pg);
  // Pages in the file, rounding up: a page index at or past this is past EOF.
  uint64_t eof_page() const { return (size_ + kPageSize - 1) >> kPageShift; }
  void add_mapper(AddressSpace* as);
  void remove_mapper(AddressSpace* as);
  size_t mappers() const { return mappers_.size(); }

  // ---- writeback ----
  // Writes the dirty pages of [first, end) to the backing (nothing to do for
  // a store cache). Shared mappings lose write access to each page first, so
  // a later write marks it dirty again. A page that another address space
  // could still be writing through its host mapping (its child may be
  // running until its next stop) stays dirty; `caller` is the address space
  // whose child is known stopped, `all_stopped` says every child is.
  // Returns 0 or the first error (-EIO as Linux reports failed writeback).
  int64_t writeback(uint64_t first_pg, uint64_t end_pg, const AddressSpace* caller, bool all_stopped = false);
  int64_t sync() { return writeback(0, kAllPages, nullptr, true); }
  // Backed caches: drops clean pages nobody maps; returns the frames freed.
  uint64_t evict_clean();
  // evict_clean() on every backed cache in `pm` (its reclaim hook).
  static uint64_t reclaim_all(PhysMem& pm);

private:
  struct Page {
    uint64_t pfn = 0;
    bool dirty = false;
  };
  // A fresh zeroed frame charged to the budget, or nothing.
  std::optional<uint64_t> alloc_frame(uint64_t pg);
  void drop(std::map<uint64_t, Page>::iterator it);
  void unmap_everywhere(uint64_t first_pg, uint64_t end_pg);
  int64_t write_back_page(uint64_t pg, const Page& p);

  PhysMem& pm_;
  PageBacking* backing_;
  PageBudget* budget_;
  uint64_t size_ = 0;
  uint64_t dirty_ = 0;             // pages with dirty set
  std::map<uint64_t, Page> pages_; // by file page index
  std::vector<AddressSpace*> mappers_;
};

} // namespace gk::mm
