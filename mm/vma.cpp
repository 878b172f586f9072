#include "mm/vma.h"

#include <stdexcept>

namespace gk::mm {

const Vma* VmaSet::find(uint64_t addr) const {
  auto it = map_.upper_bound(addr);
  if (it == map_.begin()) return nullptr;
  --it;
  return it->second.contains(addr) ? &it->second : nullptr;
}

const Vma* VmaSet::first_after(uint64_t addr) const {
  auto it = map_.upper_bound(addr);
  if (it != map_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > addr) return &prev->second;
  }
  return it == map_.end() ? nullptr : &it->second;
}

bool VmaSet::overlaps(uint64_t start, uint64_t end) const {
  const Vma* v = first_after(start);
  return v && v->start < end;
}

bool VmaSet::covered(uint64_t start, uint64_t end) const {
  uint64_t at = start;
  while (at < end) {
    const Vma* v = find(at);
    if (!v) return false;
    at = v->end;
  }
  return true;
}

void VmaSet::insert(const Vma& v) {
  if (v.start >= v.end || overlaps(v.start, v.end)) throw std::logic_error("bad VMA insert");
  map_.emplace(v.start, v);
  merge_at(v.end);
  merge_at(v.start);
}

void VmaSet::split_at(uint64_t addr) {
  auto it = map_.upper_bound(addr);
  if (it == map_.begin()) return;
  --it;
  Vma& v = it->second;
  if (v.start < addr && addr < v.end) {
    Vma upper = v;
    if (v.file) upper.pgoff = v.pgoff_of(addr);
    upper.start = addr;
    v.end = addr;
    map_.emplace(addr, upper);
  }
}

void VmaSet::merge_at(uint64_t addr) {
  auto hi = map_.find(addr);
  if (hi == map_.end() || hi == map_.begin()) return;
  auto lo = std::prev(hi);
  if (lo->second.mergeable_with(hi->second)) {
    lo->second.end = hi->second.end;
    map_.erase(hi);
  }
}

std::vector<Vma> VmaSet::remove(uint64_t start, uint64_t end) {
  std::vector<Vma> removed;
  split_at(start);
  split_at(end);
  auto it = map_.lower_bound(start);
  while (it != map_.end() && it->second.start < end) {
    removed.push_back(it->second);
    it = map_.erase(it);
  }
  return removed;
}

void VmaSet::protect(uint64_t start, uint64_t end, int prot) {
  split_at(start);
  split_at(end);
  for (auto it = map_.lower_bound(start); it != map_.end() && it->second.start < end; ++it)
    it->second.prot = prot;
  // Re-merge everything touched, from the top down so iterators stay valid.
  std::vector<uint64_t> starts;
  for (auto it = map_.lower_bound(start); it != map_.end() && it->second.start <= end; ++it)
    starts.push_back(it->first);
  for (auto s = starts.rbegin(); s != starts.rend(); ++s) merge_at(*s);
}

void VmaSet::grow_down(uint64_t old_start, uint64_t new_start) {
  auto it = map_.find(old_start);
  if (it == map_.end()) throw std::logic_error("grow_down of unknown VMA");
  Vma v = it->second;
  map_.erase(it);
  if (v.file) v.pgoff -= (old_start - new_start) >> 12;
  v.start = new_start;
  insert(v);
}

void VmaSet::resize_end(uint64_t start, uint64_t new_end) {
  auto it = map_.find(start);
  if (it == map_.end() || new_end <= start) throw std::logic_error("resize of unknown VMA");
  Vma v = it->second;
  map_.erase(it);
  v.end = new_end;
  insert(v);
}

std::optional<uint64_t> VmaSet::find_gap_topdown(uint64_t len, uint64_t lo, uint64_t hi) const {
  if (len == 0 || hi < lo || hi - lo < len) return std::nullopt;
  uint64_t top = hi; // candidate gap is [.., top)
  auto it = map_.lower_bound(hi);
  // Walk VMAs downwards from the first one at or above `hi`.
  while (true) {
    if (it != map_.begin()) {
      auto prev = std::prev(it);
      uint64_t gap_lo = std::max(prev->second.end, lo);
      if (prev->second.end > top) { // prev straddles top
        top = std::min(top, prev->second.start);
        it = prev;
        continue;
      }
      if (top >= gap_lo && top - gap_lo >= len) return top - len;
      top = prev->second.start;
      it = prev;
      if (top <= lo) return std::nullopt;
    } else {
      if (top >= lo && top - lo >= len) return top - len;
      return std::nullopt;
    }
  }
}

} // namespace gk::mm
