// Per-frame descriptor of guest physical memory (Linux's struct page, shrunk).
#pragma once
#include <cstdint>

namespace gk::mm {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr unsigned kPageShift = 12;

enum class FrameKind : uint8_t { Free, Reserved, PageTable, Anon, PageCache };
const char* frame_kind_name(FrameKind k);

struct Frame {
  uint32_t refcount = 0;
  uint32_t next = 0, prev = 0; // free-list links (valid for free block heads)
  uint8_t order = 0;           // free block heads: the block's order
  FrameKind kind = FrameKind::Free;
  uint16_t flags = 0;
  static constexpr uint16_t kFreeHead = 1; // first frame of a free buddy block
  // Has held data since physmem was created. A frame without it is still a
  // hole of the memfd, all zero: allocation need not clear it, and not
  // touching it spares the kernel a host page fault of its own.
  static constexpr uint16_t kUsed = 2;
};

} // namespace gk::mm
