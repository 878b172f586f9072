// File mappings: filling PTEs from the page cache, dirty tracking of shared
// pages, the cache's reverse-map operations (truncate, write-protect for
// writeback), msync and mincore.
//
// Dirty tracking works as Linux's "write notify": a shared page of a backed
// file is mapped read-only until it is written; that write fault marks the
// page dirty in the cache and in the PTE (D) and gives write access.
// Writeback takes write access away again. Store caches (tmpfs, shared
// anonymous memory) have nothing to write back, so their pages are mapped
// writable at once.
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "mm/address_space.h"

namespace gk::mm {

uint64_t AddressSpace::file_pte(uint64_t va, const Vma& v, Access access, FaultResult& r) {
  uint64_t pg = v.pgoff_of(va), pfn = 0;
  switch (v.file->get_page(pg, pfn)) {
  case PageCache::Get::Ok: break;
  case PageCache::Get::NoMemory: r = FaultResult::Oom; return 0;
  case PageCache::Get::PastEof:
  case PageCache::Get::NoSpace: // a full tmpfs: SIGBUS, as Linux's shmem gives
  case PageCache::Get::IoError: r = FaultResult::SigBus; return 0;
  }
  r = FaultResult::Mapped;
  pm_.get(pfn); // the PTE's reference, at once: an allocation below may reclaim unreferenced pages
  uint64_t flags = pte::flags_for_prot(v.prot);
  bool writable = v.prot & PROT_WRITE;
  if (v.flags & Vma::kShared) {
    if (writable && access == Access::Write) {
      v.file->set_dirty(pg);
      ++faults_.dirty;
    }
    if (writable && (access == Access::Write || !v.file->backed() || v.file->is_dirty(pg)))
      flags |= pte::D;
    else
      flags &= ~pte::RW;
    return pte::make(pfn, flags);
  }
  if (writable && access == Access::Write) { // copy at once rather than fault twice
    auto fresh = new_anon_frame(va);
    if (fresh) memcpy(pm_.frame_ptr(*fresh), pm_.frame_ptr(pfn), kPageSize);
    pm_.put(pfn);
    if (!fresh) {
      r = FaultResult::Oom;
      return 0;
    }
    ++faults_.cow_copy;
    return pte::make(*fresh, flags | pte::D);
  }
  // Private: the file's own frame, read-only, copied on the first write.
  return pte::make(pfn, (flags & ~pte::RW) | pte::COW);
}

void AddressSpace::dirty_shared_page(uint64_t va, uint64_t& e, const Vma& v, bool mirror) {
  uint64_t before = e;
  v.file->set_dirty(v.pgoff_of(va));
  e |= pte::RW | pte::D | pte::A | pte::SOFTDIRTY;
  ++faults_.dirty;
  mirror = mirror || (e & pte::HOSTMAPPED);
  if (mirror) e |= pte::HOSTMAPPED;
  note_pte(va, before, e, "first write to a shared page: dirty, writable");
  if (mirror) mmu_.map(va, pte::pfn(e), 1, pte::prot_of(e), v.prot, true);
}

void AddressSpace::zap_pte(uint64_t va, uint64_t& e, const Vma& v, bool defer) {
  if (e & pte::P) {
    if (e & pte::HOSTMAPPED) mmu_.drop(va, 1, v.prot);
    if (defer && (e & pte::HOSTMAPPED)) deferred_puts_.push_back(pte::pfn(e));
    else pm_.put(pte::pfn(e));
    --resident_;
  }
  e = 0;
}

void AddressSpace::forget_caches(const std::vector<Vma>& removed) {
  for (const Vma& r : removed) {
    if (!r.file) continue;
    bool still = false;
    for (const auto& [start, v] : vmas_)
      if (v.file == r.file) {
        still = true;
        break;
      }
    if (!still) r.file->remove_mapper(this);
  }
}

void AddressSpace::zap_file_pages(const PageCache* c, uint64_t first_pg, uint64_t end_pg) {
  for (const auto& [start, v] : vmas_) {
    if (v.file.get() != c) continue;
    uint64_t lo = std::max(first_pg, v.pgoff), hi = std::min(end_pg, v.pgoff + v.pages());
    if (lo >= hi) continue;
    // Deferred: this may be another process's truncate while our child runs.
    pt_.for_each(v.start + ((lo - v.pgoff) << kPageShift), v.start + ((hi - v.pgoff) << kPageShift),
                 [&](uint64_t va, uint64_t& e) { zap_pte(va, e, v, true); });
  }
}

bool AddressSpace::write_protect_file_page(const PageCache* c, uint64_t pg) {
  bool had = false;
  for (const auto& [start, v] : vmas_) {
    if (v.file.get() != c || !(v.flags & Vma::kShared) || pg < v.pgoff || pg >= v.pgoff + v.pages()) continue;
    uint64_t va = v.start + ((pg - v.pgoff) << kPageShift);
    uint64_t* e = pt_.lookup(va);
    if (!e || !(*e & pte::P)) continue;
    if (*e & pte::RW) {
      had = true;
      *e &= ~pte::RW;
      if (*e & pte::HOSTMAPPED) mmu_.protect(va, 1, pte::prot_of(*e));
    }
    *e &= ~pte::D;
  }
  return had;
}

void AddressSpace::writeback_all() {
  for (const auto& [start, v] : vmas_)
    if (v.file && (v.flags & Vma::kShared)) v.file->writeback(v.pgoff, v.pgoff + v.pages(), this);
}

int64_t AddressSpace::msync(uint64_t addr, uint64_t len, int flags) {
  // Linux's order of checks and its walk: a hole gives ENOMEM after the
  // mapped parts are synced; MS_ASYNC alone does nothing (dirty pages are
  // tracked and written back anyway).
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return -EINVAL;
  if (addr & (kPageSize - 1)) return -EINVAL;
  if ((flags & MS_ASYNC) && (flags & MS_SYNC)) return -EINVAL;
  uint64_t end = addr + page_up(len);
  if (page_up(len) < len || end < addr) return -ENOMEM;
  if (end == addr) return 0;
  int64_t unmapped = 0;
  uint64_t at = addr;
  for (;;) {
    const Vma* v = vmas_.first_after(at);
    if (!v) return -ENOMEM;
    if (at < v->start) {
      if (flags == MS_ASYNC) return -ENOMEM;
      at = v->start;
      if (at >= end) return -ENOMEM;
      unmapped = -ENOMEM;
    }
    uint64_t hi = std::min(end, v->end);
    if ((flags & MS_SYNC) && v->file && (v->flags & Vma::kShared))
      if (int64_t r = v->file->writeback(v->pgoff_of(at), v->pgoff_of(hi - 1) + 1, this)) return r;
    at = v->end;
    if (at >= end) return unmapped;
  }
}

int64_t AddressSpace::mincore(uint64_t addr, uint64_t len, std::vector<uint8_t>& out) {
  if (addr & (kPageSize - 1)) return -EINVAL;
  if (addr >= kUserTop || len > kUserTop - addr) return -ENOMEM;
  uint64_t end = page_up(addr + len);
  out.clear();
  for (uint64_t va = addr; va < end; va += kPageSize) {
    const Vma* v = vmas_.find(va);
    if (!v) return -ENOMEM;
    uint64_t* e = pt_.lookup(va);
    bool in = e && (*e & pte::P);
    // No PTE: a file page may still sit in the page cache.
    if (!in && v->file) in = v->file->resident(v->pgoff_of(va));
    out.push_back(in ? 1 : 0);
  }
  return 0;
}

int64_t AddressSpace::remove_pages(uint64_t addr, uint64_t len) {
  if (addr & (kPageSize - 1)) return -EINVAL;
  if (len > kUserTop) return -EINVAL;
  uint64_t end = addr + page_up(len);
  if (end > kUserTop || end < addr) return -ENOMEM;
  if (!vmas_.covered(addr, end)) return -ENOMEM;
  for (uint64_t at = addr; at < end;) {
    const Vma* v = vmas_.find(at);
    if (!v->file || !(v->flags & Vma::kShared) || !(v->prot & PROT_WRITE)) return -EINVAL;
    if (v->file->backed()) return -EOPNOTSUPP; // no hole punching in host files
    at = std::min(end, v->end);
  }
  for (uint64_t at = addr; at < end;) {
    const Vma* v = vmas_.find(at);
    uint64_t hi = std::min(end, v->end);
    std::shared_ptr<PageCache> c = v->file; // punch may reach us through the reverse map
    c->punch(v->pgoff_of(at), v->pgoff_of(hi - 1) + 1);
    at = hi;
  }
  return 0;
}

} // namespace gk::mm
