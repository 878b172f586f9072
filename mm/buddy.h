// A binary buddy allocator over guest frame numbers. Allocated memory is
// handed out as independent order-0 frames (a block of order k is 2^k frames,
// each freed on its own), so callers never need to remember block sizes.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "mm/frame.h"

namespace gk::mm {

class BuddyAllocator {
public:
  static constexpr unsigned kMaxOrder = 10; // blocks up to 4 MiB

  // Frames [0, nframes); frames below `reserved` are never handed out.
  explicit BuddyAllocator(uint64_t nframes, uint64_t reserved = 1);

  // 2^order contiguous, naturally aligned frames, each with refcount 1.
  std::optional<uint64_t> alloc(unsigned order, FrameKind kind);
  // Exactly frame `pfn`, if it is free (used to keep faults contiguous).
  bool alloc_at(uint64_t pfn, FrameKind kind);
  // Return one frame; merges with free buddies.
  void free(uint64_t pfn);

  Frame& frame(uint64_t pfn) { return frames_[pfn]; }
  const Frame& frame(uint64_t pfn) const { return frames_[pfn]; }
  uint64_t total_frames() const { return frames_.size(); }
  uint64_t free_frames() const { return free_frames_; }
  uint64_t free_blocks(unsigned order) const { return counts_[order]; }
  // Frames by kind (for meminfo); O(frames).
  uint64_t count_kind(FrameKind k) const;

private:
  static constexpr uint32_t kNil = UINT32_MAX;
  void push(uint64_t pfn, unsigned order);
  void unlink(uint64_t pfn);
  uint64_t pop(unsigned order);
  // Take free block `head` of `order` off its list and split it, giving back
  // every part except the single frame `want`.
  void split_towards(uint64_t head, unsigned order, uint64_t want);
  void take(uint64_t pfn, FrameKind kind);

  std::vector<Frame> frames_;
  uint32_t heads_[kMaxOrder + 1];
  uint64_t counts_[kMaxOrder + 1] = {};
  uint64_t free_frames_ = 0;
};

} // namespace gk::mm
