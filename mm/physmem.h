// Guest physical memory: one memfd, mapped linearly into the kernel, with a
// buddy allocator and a descriptor per frame.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>

#include "mm/buddy.h"

namespace gk::mm {

class PhysMem {
public:
  explicit PhysMem(uint64_t bytes); // throws std::runtime_error
  ~PhysMem();
  PhysMem(const PhysMem&) = delete;
  PhysMem& operator=(const PhysMem&) = delete;

  int fd() const { return fd_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t frames() const { return buddy_.total_frames(); }

  // The kernel's linear view of frame `pfn`.
  uint8_t* frame_ptr(uint64_t pfn) const { return base_ + (pfn << kPageShift); }

  // A zeroed frame, or nothing when guest memory is exhausted (after
  // asking `reclaim` to free what it can).
  std::optional<uint64_t> alloc_zeroed(FrameKind kind, std::optional<uint64_t> hint = {});
  // Frees reclaimable frames (clean page-cache pages nobody maps); returns
  // how many. Set by the page cache.
  std::function<uint64_t()> reclaim;
  void get(uint64_t pfn) { ++buddy_.frame(pfn).refcount; }
  // Drop one reference; frees the frame at zero.
  void put(uint64_t pfn);

  BuddyAllocator& buddy() { return buddy_; }
  const BuddyAllocator& buddy() const { return buddy_; }

private:
  int fd_ = -1;
  uint64_t bytes_;
  uint8_t* base_ = nullptr;
  BuddyAllocator buddy_;
};

} // namespace gk::mm
