#include "mm/address_space.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace gk::mm {

const char* fault_result_name(FaultResult r) {
  switch (r) {
  case FaultResult::Mapped: return "mapped";
  case FaultResult::MapErr: return "SEGV_MAPERR";
  case FaultResult::AccErr: return "SEGV_ACCERR";
  case FaultResult::Oom: return "out of memory";
  case FaultResult::SigBus: return "SIGBUS";
  }
  return "?";
}

namespace {

std::string vma_text(const Vma& v) {
  return fmt::format("{:#x}-{:#x} {}{}{}{} {}", v.start, v.end, (v.prot & PROT_READ) ? 'r' : '-',
                     (v.prot & PROT_WRITE) ? 'w' : '-', (v.prot & PROT_EXEC) ? 'x' : '-',
                     (v.flags & Vma::kShared) ? 's' : 'p', v.name.empty() ? "[anon]" : v.name);
}

std::string pte_text(uint64_t e) {
  return e ? fmt::format("pfn={:#x} {}", pte::pfn(e), pte::flag_names(e)) : std::string("none");
}

} // namespace

void AddressSpace::note_pte(uint64_t va, uint64_t before, uint64_t after, const char* why) const {
  if (trace_pte && before != after)
    trace_pte(fmt::format("pte {:#x}: {} -> {} ({})", va, pte_text(before), pte_text(after), why));
}

AddressSpace::AddressSpace(PhysMem& pm, Backend backend, MmuStats& mmu_stats, FaultCounters& faults,
                           MmConfig cfg)
    : pm_(pm), pt_(pm), mmu_(backend, pm.bytes(), mmu_stats), faults_(faults), cfg_(cfg) {
  mmu_.setup_child();
}

AddressSpace::~AddressSpace() {
  writeback_all();
  pt_.for_each(0, kUserTop, [&](uint64_t, uint64_t& e) {
    if (e & pte::P) pm_.put(pte::pfn(e));
    e = 0;
  });
  for (uint64_t pfn : deferred_puts_) pm_.put(pfn);
  for (const auto& [start, v] : vmas_)
    if (v.file) v.file->remove_mapper(this);
}

void AddressSpace::add_vma(const Vma& v) {
  vmas_.insert(v);
  if (v.file) v.file->add_mapper(this);
  mmu_.reserve(v.start, v.length() / kPageSize, v.prot);
}

void AddressSpace::unmap_range(uint64_t start, uint64_t end) {
  std::vector<Vma> removed = vmas_.remove(start, end);
  for (const Vma& v : removed) {
    bool mirrored = mmu_.needs_vma_reserve();
    pt_.for_each(v.start, v.end, [&](uint64_t, uint64_t& e) {
      if (e & pte::HOSTMAPPED) mirrored = true;
      if (e & pte::P) {
        pm_.put(pte::pfn(e));
        --resident_;
      }
      e = 0;
    });
    if (mirrored) mmu_.release(v.start, v.length() / kPageSize);
    // What this mapping wrote reaches the file now.
    if (v.file && (v.flags & Vma::kShared)) v.file->writeback(v.pgoff, v.pgoff + v.pages(), this);
  }
  forget_caches(removed);
  pt_.prune(start, end);
}

int64_t AddressSpace::mmap(uint64_t addr, uint64_t len, int prot, int flags, const std::string& name,
                           std::shared_ptr<PageCache> file, uint64_t pgoff) {
  int type = flags & MAP_TYPE;
  if (len == 0) return -EINVAL;
  if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE) return -EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return -EINVAL;
  if (len > kUserTop) return -ENOMEM;
  len = page_up(len);
  // Heuristic overcommit (vm.overcommit_memory=0): refuse the obvious, for
  // memory that would need frames of its own (not a file's shared pages).
  bool own_frames = !file || (type == MAP_PRIVATE && (prot & PROT_WRITE));
  if (own_frames && len / kPageSize > pm_.frames()) return -ENOMEM;
  bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
  if (fixed) {
    if (addr & (kPageSize - 1)) return -EINVAL;
    if (addr + len > kUserTop || addr + len < addr) return -ENOMEM;
    if (addr < kMmapMin) return -EPERM;
    if (vmas_.overlaps(addr, addr + len)) {
      if (flags & MAP_FIXED_NOREPLACE) return -EEXIST;
      unmap_range(addr, addr + len);
    }
  } else {
    addr = page_down(addr);
    if (addr < kMmapMin || addr > mmap_base() || len > mmap_base() - addr || vmas_.overlaps(addr, addr + len)) {
      auto gap = vmas_.find_gap_topdown(len, kMmapMin, mmap_base());
      if (!gap) return -ENOMEM;
      addr = *gap;
    }
  }
  Vma v;
  v.start = addr;
  v.end = addr + len;
  v.prot = prot;
  v.flags = (type == MAP_PRIVATE ? 0 : Vma::kShared) | ((flags & MAP_GROWSDOWN) ? Vma::kGrowsDown : 0);
  v.name = name;
  v.file = std::move(file);
  v.pgoff = pgoff;
  if ((v.flags & Vma::kShared) && !v.file) {
    // Shared anonymous memory: a cache of its own that fork passes on, so
    // parent and child fault in the same frames.
    v.file = std::make_shared<PageCache>(pm_, nullptr, nullptr, len);
    v.pgoff = 0;
    if (v.name.empty()) v.name = "/dev/zero (deleted)";
  }
  add_vma(v);
  if (flags & MAP_POPULATE)
    for (uint64_t a = addr; a < addr + len; a += kPageSize)
      if (fault(a, Access::Unknown, true) == FaultResult::Oom) break;
  return int64_t(addr);
}

int64_t AddressSpace::munmap(uint64_t addr, uint64_t len) {
  if ((addr & (kPageSize - 1)) || len == 0 || len > kUserTop) return -EINVAL;
  len = page_up(len);
  if (addr >= kUserTop || len > kUserTop - addr) return -EINVAL;
  unmap_range(addr, addr + len);
  return 0;
}

int64_t AddressSpace::mprotect(uint64_t addr, uint64_t len, int prot) {
  if (addr & (kPageSize - 1)) return -EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return -EINVAL;
  if (len > kUserTop) return -ENOMEM;
  len = page_up(len);
  if (len == 0) return 0;
  if (addr + len > kUserTop || addr + len < addr) return -ENOMEM;
  if (!vmas_.covered(addr, addr + len)) return -ENOMEM;
  vmas_.protect(addr, addr + len, prot);
  uint64_t flags = pte::flags_for_prot(prot);
  constexpr uint64_t kProtBits = pte::P | pte::RW | pte::US | pte::NX;
  // Mirrored runs get a host mprotect, coalesced by the MMU queue. A shared
  // copy-on-write frame stays read-only until a write fault copies it.
  pt_.for_each(addr, addr + len, [&](uint64_t va, uint64_t& e) {
    if (!(e & pte::P)) return;
    e = (e & ~kProtBits) | flags;
    if (e & pte::COW) e &= ~pte::RW;
    // A clean shared file page stays read-only: its first write must be seen.
    if (!(e & pte::D))
      if (const Vma* v = vmas_.find(va); v && (v->flags & Vma::kShared) && v->file && v->file->backed()) e &= ~pte::RW;
    if ((e & pte::HOSTMAPPED) && !mmu_.needs_vma_reserve()) mmu_.protect(va, 1, pte::prot_of(e));
  });
  // rfp: one mprotect covers the mirrors and the reserve under the VMA.
  if (mmu_.needs_vma_reserve()) mmu_.protect(addr, len / kPageSize, prot);
  return 0;
}

int64_t AddressSpace::brk(uint64_t new_brk) {
  if (new_brk < brk_start_ || new_brk > mmap_base()) return int64_t(brk_);
  uint64_t old_end = page_up(brk_), new_end = page_up(new_brk);
  if (new_end > old_end) {
    if (new_end > mmap_base() || vmas_.overlaps(old_end, new_end)) return int64_t(brk_);
    Vma v;
    v.start = old_end;
    v.end = new_end;
    v.prot = PROT_READ | PROT_WRITE;
    v.flags = Vma::kHeap;
    v.name = "[heap]";
    add_vma(v);
  } else if (new_end < old_end) {
    unmap_range(new_end, old_end);
  }
  brk_ = new_brk;
  return int64_t(brk_);
}

int64_t AddressSpace::discard(uint64_t addr, uint64_t len) {
  if (addr & (kPageSize - 1)) return -EINVAL;
  if (len > kUserTop) return -EINVAL;
  len = page_up(len);
  if (addr + len > kUserTop || addr + len < addr) return -ENOMEM;
  if (!vmas_.covered(addr, addr + len)) return -ENOMEM;
  // Shared memory keeps its data in its cache; private file pages go back
  // to the file's contents.
  pt_.for_each(addr, addr + len, [&](uint64_t va, uint64_t& e) {
    const Vma* v = vmas_.find(va);
    if ((e & pte::P) && v) zap_pte(va, e, *v, false);
  });
  return 0;
}

std::optional<uint64_t> AddressSpace::new_anon_frame(uint64_t va) {
  std::optional<uint64_t> hint;
  if (va >= kPageSize) {
    uint64_t* prev = pt_.lookup(va - kPageSize);
    if (prev && (*prev & pte::P)) hint = pte::pfn(*prev) + 1;
  }
  if (hint && *hint >= pm_.frames()) hint.reset();
  return pm_.alloc_zeroed(FrameKind::Anon, hint);
}

uint64_t* AddressSpace::populate(uint64_t va, const Vma& v, FaultResult& r, Access access) {
  uint64_t* e = pt_.ensure(va);
  if (!e) {
    r = FaultResult::Oom;
    return nullptr;
  }
  if (!(*e & pte::P) && v.file) {
    uint64_t fe = file_pte(va, v, access, r);
    if (!fe) return nullptr;
    *e = fe;
    ++resident_;
  } else if (!(*e & pte::P)) {
    auto pfn = new_anon_frame(va);
    if (!pfn) {
      r = FaultResult::Oom;
      return nullptr;
    }
    *e = pte::make(*pfn, pte::flags_for_prot(v.prot));
    ++resident_;
  }
  r = FaultResult::Mapped;
  return e;
}

const Vma* AddressSpace::find_or_grow_stack(uint64_t addr) {
  if (const Vma* v = vmas_.find(addr)) return v;
  const Vma* next = vmas_.first_after(addr);
  if (!next || !(next->flags & Vma::kGrowsDown)) return nullptr;
  uint64_t new_start = page_down(addr);
  if (next->end - new_start > cfg_.stack_limit) return nullptr;
  if (vmas_.overlaps(new_start - kPageSize, next->start)) return nullptr; // keep a guard gap
  uint64_t old_start = next->start;
  int prot = next->prot;
  vmas_.grow_down(old_start, new_start);
  mmu_.reserve(new_start, (old_start - new_start) / kPageSize, prot);
  ++faults_.stack_growth;
  return vmas_.find(addr);
}

FaultResult AddressSpace::fault(uint64_t addr, Access access, bool from_guest) {
  if (!from_guest) ++faults_.kernel;
  // --trace=fault: where the fault landed and what is done about it.
  auto why = [&](const Vma* v, const char* what) {
    if (trace_fault)
      trace_fault(fmt::format("fault {:#x}{}: vma {}: {}", addr, from_guest ? "" : " (kernel access)",
                              v ? vma_text(*v) : "none", what));
  };
  if (addr >= kUserTop) {
    why(nullptr, "above guest user space");
    return FaultResult::MapErr;
  }
  const Vma* v = find_or_grow_stack(addr);
  if (!v) {
    why(nullptr, "no VMA: SEGV_MAPERR");
    return FaultResult::MapErr;
  }
  bool allowed = v->prot != PROT_NONE;
  if (access == Access::Write && !(v->prot & PROT_WRITE)) allowed = false;
  if (access == Access::Exec && !(v->prot & PROT_EXEC)) allowed = false;
  uint64_t va = page_down(addr);
  uint64_t* e = pt_.lookup(va);
  uint64_t before = e ? *e : 0;
  if (e && (*e & pte::P)) {
    // Write access the VMA allows but the PTE does not give yet: a
    // copy-on-write page, or the first write to a clean shared file page.
    bool upgrade = (v->prot & PROT_WRITE) && (*e & pte::US) && !(*e & pte::RW) &&
                   ((*e & pte::COW) || ((v->flags & Vma::kShared) && v->file));
    // The host mirror exists, so the host refused this access: the guest
    // PTE forbids it too, unless it is such a write.
    if (from_guest && (*e & pte::HOSTMAPPED) && !(upgrade && access != Access::Exec)) {
      why(v, "mirrored page, the host refused the access: SEGV_ACCERR");
      return FaultResult::AccErr;
    }
    if (!allowed || !(*e & pte::US) || (access == Access::Write && !(*e & pte::RW) && !upgrade)) {
      why(v, "the PTE forbids the access: SEGV_ACCERR");
      return FaultResult::AccErr;
    }
    if (upgrade && (access == Access::Write || (from_guest && (*e & pte::HOSTMAPPED)))) {
      bool mirror = from_guest || (*e & pte::HOSTMAPPED);
      if (!(*e & pte::COW)) {
        why(v, "first write to a clean shared page: mark it dirty");
        dirty_shared_page(va, *e, *v, mirror);
      } else {
        why(v, "write to a copy-on-write page");
        if (!break_cow(va, *e, *v, mirror)) {
          ++faults_.oom;
          return FaultResult::Oom;
        }
      }
      return FaultResult::Mapped;
    }
    if (!from_guest) return FaultResult::Mapped;
    why(v, "present but not mirrored: mirror it");
    ++faults_.remirror;
  } else {
    if (!allowed) {
      why(v, "the VMA forbids the access: SEGV_ACCERR");
      return FaultResult::AccErr;
    }
    why(v, v->file ? "no PTE: map the file page" : "no PTE: demand-zero");
    FaultResult r;
    e = populate(va, *v, r, access);
    if (!e) {
      ++(r == FaultResult::SigBus ? faults_.sigbus : faults_.oom);
      return r;
    }
    if (!from_guest) {
      note_pte(va, before, *e, "filled for the kernel");
      return FaultResult::Mapped;
    }
    ++(v->file ? faults_.file : faults_.demand_zero);
  }
  // Mirror the faulting page and, around it, every neighbour in the same
  // aligned window of the VMA (demand-zero ones included), so sequential
  // touches cost one round trip per window instead of one per page. A
  // fault right where the last window ended is a sequential streak: its
  // window starts there and doubles, up to kAroundGrowth times the
  // configured one (as readahead grows), so a long sequential touch costs
  // a few dozen faults, not one per window.
  constexpr uint64_t kAroundGrowth = 32;
  uint64_t lo = va, hi = va + kPageSize;
  if (cfg_.fault_around > 1) {
    bool streak = va == around_next_;
    uint64_t pages = streak ? std::min(around_pages_ * 2, kAroundGrowth * cfg_.fault_around) : cfg_.fault_around;
    if (pm_.buddy().free_frames() > 4 * pages) {
      uint64_t window = pages * kPageSize;
      uint64_t start = streak ? va : va & ~(window - 1); // a fresh window is aligned
      lo = std::max(v->start, start);
      hi = std::min(v->end, start + window);
      around_pages_ = pages;
      around_next_ = hi;
    }
  }
  for (uint64_t a = lo; a < hi; a += kPageSize) {
    uint64_t* n = a == va ? e : nullptr;
    uint64_t old = before;
    if (!n) {
      uint64_t* cur = trace_pte ? pt_.lookup(a) : nullptr;
      old = cur ? *cur : 0;
      FaultResult r;
      n = populate(a, *v, r);
      if (!n) continue; // neighbours are optional
      if (*n & pte::HOSTMAPPED) continue;
      ++faults_.around;
    }
    *n |= pte::HOSTMAPPED | pte::A;
    note_pte(a, old, *n, a == va ? "faulting page, mirrored" : "fault-around, mirrored");
    mmu_.map(a, pte::pfn(*n), 1, pte::prot_of(*n), v->prot, false);
  }
  return FaultResult::Mapped;
}

bool AddressSpace::break_cow(uint64_t va, uint64_t& e, const Vma& v, bool mirror) {
  uint64_t before = e, old = pte::pfn(e);
  uint64_t flags = pte::flags_for_prot(v.prot) | pte::A | pte::D;
  const char* how;
  // A page-cache frame is never taken over: the file keeps it.
  if (pm_.buddy().frame(old).refcount == 1 && pm_.buddy().frame(old).kind == FrameKind::Anon) {
    e = pte::make(old, flags); // the other side went away: keep the frame
    ++faults_.cow_reuse;
    how = "copy-on-write: the last user keeps the frame";
  } else {
    auto fresh = pm_.alloc_zeroed(FrameKind::Anon);
    if (!fresh) return false;
    memcpy(pm_.frame_ptr(*fresh), pm_.frame_ptr(old), kPageSize);
    pm_.put(old);
    e = pte::make(*fresh, flags);
    ++faults_.cow_copy;
    how = "copy-on-write: copied to a frame of its own";
  }
  if (mirror) e |= pte::HOSTMAPPED;
  note_pte(va, before, e, how);
  if (mirror) {
    mmu_.map(va, pte::pfn(e), 1, pte::prot_of(e), v.prot, true);
  }
  return true;
}

std::unique_ptr<AddressSpace> AddressSpace::fork(MmuStats& child_stats, FaultCounters& child_faults) {
  auto child = std::make_unique<AddressSpace>(pm_, mmu_.backend(), child_stats, child_faults, cfg_);
  child->brk_start_ = brk_start_;
  child->brk_ = brk_;
  bool ok = true;
  // Shared mappings (files and shared anonymous memory alike) keep their
  // cache, so both sides fault in the same frames.
  for (const auto& [start, v] : vmas_) child->add_vma(v);
  pt_.for_each(0, kUserTop, [&](uint64_t va, uint64_t& e) {
    if (!ok || !(e & pte::P)) return;
    const Vma* v = vmas_.find(va);
    if (!v) return;
    if (!(v->flags & Vma::kShared)) {
      if ((e & pte::RW) && (e & pte::HOSTMAPPED)) mmu_.protect(va, 1, pte::prot_of(e & ~pte::RW));
      e = (e & ~pte::RW) | pte::COW;
    }
    uint64_t* ce = child->pt_.ensure(va);
    if (!ce) {
      ok = false;
      return;
    }
    *ce = e & ~(pte::HOSTMAPPED | pte::A);
    pm_.get(pte::pfn(e));
    ++child->resident_;
  });
  if (!ok) return nullptr;
  if (trace_pte) {
    uint64_t cow = 0;
    pt_.for_each(0, kUserTop, [&](uint64_t, uint64_t& e) { cow += (e & pte::COW) != 0; });
    trace_pte(fmt::format("pte fork: {} pages shared with the child, {} of them copy-on-write (write-protected on "
                          "both sides, each frame's refcount +1)",
                          child->resident_, cow));
  }
  return child;
}

void AddressSpace::forget_host_mirrors() {
  pt_.for_each(0, kUserTop, [](uint64_t, uint64_t& e) { e &= ~pte::HOSTMAPPED; });
  for (const auto& [start, v] : vmas_) mmu_.reserve(v.start, v.length() / kPageSize, v.prot);
}

void AddressSpace::flush_host(StubChannel& ch) {
  if (!mmu_.pending()) return;
  if (mmu_.flush(ch) == HostMmu::Flush::Evicted) {
    forget_host_mirrors();
    if (mmu_.pending()) mmu_.flush(ch); // rfp: the reserves again
  }
  // The child no longer maps these frames.
  for (uint64_t pfn : deferred_puts_) pm_.put(pfn);
  deferred_puts_.clear();
}

} // namespace gk::mm
