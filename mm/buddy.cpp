#include "mm/buddy.h"

#include <cassert>
#include <stdexcept>

namespace gk::mm {

const char* frame_kind_name(FrameKind k) {
  switch (k) {
  case FrameKind::Free: return "free";
  case FrameKind::Reserved: return "reserved";
  case FrameKind::PageTable: return "pagetable";
  case FrameKind::Anon: return "anon";
  case FrameKind::PageCache: return "pagecache";
  }
  return "?";
}

namespace {
uint64_t checked_frames(uint64_t n) {
  if (n >= UINT32_MAX) throw std::invalid_argument("too many frames for the buddy allocator");
  return n;
}
} // namespace

BuddyAllocator::BuddyAllocator(uint64_t nframes, uint64_t reserved) : frames_(checked_frames(nframes)) {
  for (auto& h : heads_) h = kNil;
  for (uint64_t p = 0; p < reserved && p < nframes; ++p) {
    frames_[p].kind = FrameKind::Reserved;
    frames_[p].refcount = 1;
  }
  // Carve the rest into the largest aligned blocks that fit.
  uint64_t pfn = reserved;
  while (pfn < nframes) {
    unsigned order = kMaxOrder;
    while (order > 0 && ((pfn & ((1ULL << order) - 1)) || pfn + (1ULL << order) > nframes)) --order;
    push(pfn, order);
    free_frames_ += 1ULL << order;
    pfn += 1ULL << order;
  }
}

void BuddyAllocator::push(uint64_t pfn, unsigned order) {
  Frame& f = frames_[pfn];
  f.flags |= Frame::kFreeHead;
  f.order = uint8_t(order);
  f.kind = FrameKind::Free;
  f.refcount = 0;
  f.prev = kNil;
  f.next = heads_[order];
  if (heads_[order] != kNil) frames_[heads_[order]].prev = uint32_t(pfn);
  heads_[order] = uint32_t(pfn);
  ++counts_[order];
}

void BuddyAllocator::unlink(uint64_t pfn) {
  Frame& f = frames_[pfn];
  assert(f.flags & Frame::kFreeHead);
  if (f.prev != kNil) frames_[f.prev].next = f.next;
  else heads_[f.order] = f.next;
  if (f.next != kNil) frames_[f.next].prev = f.prev;
  f.flags &= uint16_t(~Frame::kFreeHead);
  --counts_[f.order];
}

uint64_t BuddyAllocator::pop(unsigned order) {
  uint64_t pfn = heads_[order];
  unlink(pfn);
  return pfn;
}

void BuddyAllocator::take(uint64_t pfn, FrameKind kind) {
  Frame& f = frames_[pfn];
  f.kind = kind;
  f.refcount = 1;
  f.order = 0;
  f.flags &= Frame::kUsed;
}

std::optional<uint64_t> BuddyAllocator::alloc(unsigned order, FrameKind kind) {
  if (order > kMaxOrder) return std::nullopt;
  unsigned o = order;
  while (o <= kMaxOrder && heads_[o] == kNil) ++o;
  if (o > kMaxOrder) return std::nullopt;
  uint64_t pfn = pop(o);
  while (o > order) { // give back the upper halves
    --o;
    push(pfn + (1ULL << o), o);
  }
  for (uint64_t i = 0; i < (1ULL << order); ++i) take(pfn + i, kind);
  free_frames_ -= 1ULL << order;
  return pfn;
}

void BuddyAllocator::split_towards(uint64_t head, unsigned order, uint64_t want) {
  unlink(head);
  while (order > 0) {
    --order;
    uint64_t lower = head, upper = head + (1ULL << order);
    if (want >= upper) {
      push(lower, order);
      head = upper;
    } else {
      push(upper, order);
    }
  }
}

bool BuddyAllocator::alloc_at(uint64_t pfn, FrameKind kind) {
  if (pfn >= frames_.size()) return false;
  for (unsigned o = 0; o <= kMaxOrder; ++o) {
    uint64_t head = pfn & ~((1ULL << o) - 1);
    const Frame& h = frames_[head];
    if ((h.flags & Frame::kFreeHead) && h.order == o) {
      split_towards(head, o, pfn); // leaves pfn off every free list
      take(pfn, kind);
      --free_frames_;
      return true;
    }
  }
  return false;
}

void BuddyAllocator::free(uint64_t pfn) {
  assert(pfn < frames_.size() && frames_[pfn].kind != FrameKind::Free);
  frames_[pfn].kind = FrameKind::Free;
  frames_[pfn].refcount = 0;
  frames_[pfn].flags &= Frame::kUsed;
  unsigned order = 0;
  ++free_frames_;
  while (order < kMaxOrder) {
    uint64_t buddy = pfn ^ (1ULL << order);
    if (buddy >= frames_.size()) break;
    const Frame& b = frames_[buddy];
    if (!(b.flags & Frame::kFreeHead) || b.order != order) break;
    unlink(buddy);
    pfn &= ~(1ULL << order);
    ++order;
  }
  push(pfn, order);
}

uint64_t BuddyAllocator::count_kind(FrameKind k) const {
  uint64_t n = 0;
  for (const Frame& f : frames_)
    if (f.kind == k) ++n;
  return n;
}

} // namespace gk::mm
