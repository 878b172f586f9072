// mremap(2), following Linux's mm/mremap.c: the order of its checks (and so
// which errno wins), shrinking by unmapping the tail, growing in place when
// the range after the VMA is free, else moving the pages' PTEs (frames and
// all, nothing is copied) to a new range.
#include <sys/mman.h>

#include <cerrno>

#include "mm/address_space.h"

namespace gk::mm {

namespace {

// The VMA that [addr, addr+old_len) may be resized within, or -errno
// (Linux's vma_to_resize).
int64_t check_resizable(const Vma* v, uint64_t addr, uint64_t old_len, uint64_t new_len) {
  if (!v) return -EFAULT;
  // A zero old_len duplicates a mapping: only meaningful for shared ones.
  if (old_len == 0 && !(v->flags & Vma::kShared)) return -EINVAL;
  if (old_len > v->end - addr) return -EFAULT; // not across VMA boundaries
  if (new_len == old_len) return 0;
  if (v->file) {
    uint64_t pg = v->pgoff_of(addr);
    if (pg + (new_len >> kPageShift) < pg) return -EINVAL;
  }
  return 0;
}

} // namespace

int64_t AddressSpace::mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr) {
  if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return -EINVAL;
  if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
  // MREMAP_DONTUNMAP is always a move, and never a resize.
  if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len)) return -EINVAL;
  if (addr & (kPageSize - 1)) return -EINVAL;
  if (old_len > kUserTop || new_len > kUserTop) return -EINVAL;
  old_len = page_up(old_len);
  new_len = page_up(new_len);
  if (new_len == 0) return -EINVAL;
  const Vma* v = vmas_.find(addr);
  if (!v) return -EFAULT;

  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
    // Linux's mremap_to checks new_addr even when it is only a hint.
    if (new_addr & (kPageSize - 1)) return -EINVAL;
    if (new_len > kUserTop || new_addr > kUserTop - new_len) return -EINVAL;
    if (addr + old_len > new_addr && new_addr + new_len > addr) return -EINVAL; // overlap
    if (flags & MREMAP_FIXED) {
      if (new_addr < kMmapMin) return -EPERM;
      unmap_range(new_addr, new_addr + new_len);
    }
    if (old_len > new_len) {
      unmap_range(addr + new_len, addr + old_len);
      old_len = new_len;
    }
    v = vmas_.find(addr);
    if (int64_t r = check_resizable(v, addr, old_len, new_len)) return r;
    if (!(flags & MREMAP_FIXED)) {
      auto gap = vmas_.find_gap_topdown(new_len, kMmapMin, mmap_base());
      if (!gap) return -ENOMEM;
      new_addr = *gap;
    }
    return move_range(addr, old_len, new_len, new_addr, flags & MREMAP_DONTUNMAP);
  }

  // Shrinking always works: the tail goes.
  if (old_len >= new_len) {
    if (old_len > new_len) unmap_range(addr + new_len, addr + old_len);
    return int64_t(addr);
  }
  if (int64_t r = check_resizable(v, addr, old_len, new_len)) return r;
  // The range ends where the VMA does and the space after it is free: grow in place.
  if (old_len == v->end - addr) {
    uint64_t grow_to = addr + new_len;
    if (grow_to <= kUserTop && !vmas_.overlaps(v->end, grow_to)) {
      uint64_t old_end = v->end;
      int prot = v->prot;
      vmas_.resize_end(v->start, grow_to);
      mmu_.reserve(old_end, (grow_to - old_end) / kPageSize, prot);
      return int64_t(addr);
    }
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  auto gap = vmas_.find_gap_topdown(new_len, kMmapMin, mmap_base());
  if (!gap) return -ENOMEM;
  return move_range(addr, old_len, new_len, *gap, false);
}

int64_t AddressSpace::move_range(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t new_addr,
                                 bool keep_old) {
  const Vma* v = vmas_.find(addr);
  int old_prot = v->prot; // v may merge away in add_vma
  Vma nv = *v;
  nv.start = new_addr;
  nv.end = new_addr + new_len;
  if (nv.file) nv.pgoff = v->pgoff_of(addr);
  // Page tables for the destination first: running out of memory then
  // changes nothing.
  std::vector<std::pair<uint64_t, uint64_t>> moving; // (offset, PTE)
  pt_.for_each(addr, addr + old_len, [&](uint64_t va, uint64_t& e) {
    if (e & pte::P) moving.emplace_back(va - addr, e);
  });
  for (const auto& [off, e] : moving)
    if (!pt_.ensure(new_addr + off)) {
      pt_.prune(new_addr, new_addr + new_len);
      return -ENOMEM;
    }
  add_vma(nv);
  // The frames change address, not owner: each PTE moves with its
  // reference, and the old host mirror goes.
  bool mirrored = mmu_.needs_vma_reserve();
  pt_.for_each(addr, addr + old_len, [&](uint64_t va, uint64_t& e) {
    if (e & pte::HOSTMAPPED) {
      mirrored = true;
      if (keep_old) mmu_.drop(va, 1, old_prot);
    }
    e = 0;
  });
  for (const auto& [off, e] : moving) *pt_.lookup(new_addr + off) = e & ~pte::HOSTMAPPED;
  if (!keep_old && old_len) {
    std::vector<Vma> removed = vmas_.remove(addr, addr + old_len);
    if (mirrored) mmu_.release(addr, old_len / kPageSize);
    forget_caches(removed);
    pt_.prune(addr, addr + old_len);
  }
  return int64_t(new_addr);
}

} // namespace gk::mm
