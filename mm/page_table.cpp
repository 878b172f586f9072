#include "mm/page_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <stdexcept>

namespace gk::mm {

namespace pte {

uint64_t flags_for_prot(int prot) {
  // PROT_NONE keeps the frame but is a supervisor-only page: no user access,
  // including the kernel's copies on the user's behalf.
  uint64_t f = prot == PROT_NONE ? P : P | US;
  if (prot & PROT_WRITE) f |= RW;
  if (!(prot & PROT_EXEC)) f |= NX;
  return f;
}

int prot_of(uint64_t e) {
  if (!(e & P) || !(e & US)) return PROT_NONE;
  int prot = PROT_READ;
  if (e & RW) prot |= PROT_WRITE;
  if (!(e & NX)) prot |= PROT_EXEC;
  return prot;
}

std::string flag_names(uint64_t e) {
  static const std::pair<uint64_t, const char*> bits[] = {
      {P, "P"},   {RW, "RW"}, {US, "US"}, {A, "A"}, {D, "D"}, {PS, "PS"}, {NX, "NX"},
      {HOSTMAPPED, "HOSTMAPPED"}, {COW, "COW"}, {SOFTDIRTY, "SOFTDIRTY"}};
  std::string s;
  for (auto [bit, name] : bits)
    if (e & bit) s += s.empty() ? name : std::string("|") + name;
  return s.empty() ? "-" : s;
}

const char* describe(uint64_t e, char buf[16]) {
  buf[0] = (e & P) ? 'r' : '-';
  buf[1] = (e & RW) ? 'w' : '-';
  buf[2] = (e & P) && !(e & NX) ? 'x' : '-';
  buf[3] = (e & A) ? 'a' : '-';
  buf[4] = (e & D) ? 'd' : '-';
  buf[5] = (e & COW) ? 'c' : '-';
  buf[6] = (e & HOSTMAPPED) ? 'h' : '-';
  buf[7] = 0;
  return buf;
}

} // namespace pte

namespace {
constexpr uint64_t kTableFlags = pte::P | pte::RW | pte::US;
} // namespace

PageTable::PageTable(PhysMem& pm) : pm_(pm) {
  auto pfn = pm_.alloc_zeroed(FrameKind::PageTable);
  if (!pfn) throw std::runtime_error("out of guest memory for a page table");
  root_ = *pfn;
}

PageTable::~PageTable() { free_level(root_, 3); }

void PageTable::free_level(uint64_t pfn, int level) {
  if (level > 0) {
    uint64_t* t = table(pfn);
    for (unsigned i = 0; i < 512; ++i)
      if (t[i] & pte::P) free_level(pte::pfn(t[i]), level - 1);
  }
  pm_.put(pfn);
}

uint64_t* PageTable::lookup(uint64_t va) const {
  uint64_t pfn = root_;
  for (int level = 3; level > 0; --level) {
    uint64_t e = table(pfn)[index(va, level)];
    if (!(e & pte::P)) return nullptr;
    pfn = pte::pfn(e);
  }
  return &table(pfn)[index(va, 0)];
}

uint64_t* PageTable::ensure(uint64_t va) {
  uint64_t pfn = root_;
  for (int level = 3; level > 0; --level) {
    uint64_t& e = table(pfn)[index(va, level)];
    if (!(e & pte::P)) {
      auto next = pm_.alloc_zeroed(FrameKind::PageTable);
      if (!next) return nullptr;
      ++table_frames_;
      e = pte::make(*next, kTableFlags);
    }
    pfn = pte::pfn(e);
  }
  return &table(pfn)[index(va, 0)];
}

void PageTable::for_each(uint64_t start, uint64_t end,
                         const std::function<void(uint64_t, uint64_t&)>& fn) {
  if (start < end) walk(root_, 3, 0, start, end, fn);
}

void PageTable::walk(uint64_t pfn, int level, uint64_t base, uint64_t start, uint64_t end,
                     const std::function<void(uint64_t, uint64_t&)>& fn) {
  uint64_t step = span(level);
  uint64_t* t = table(pfn);
  unsigned first = start > base ? unsigned((start - base) / step) : 0;
  for (unsigned i = first; i < 512; ++i) {
    uint64_t lo = base + i * step;
    if (lo >= end) break;
    uint64_t& e = t[i];
    if (level == 0) {
      if (e) fn(lo, e);
    } else if (e & pte::P) {
      walk(pte::pfn(e), level - 1, lo, std::max(start, lo), std::min(end, lo + step), fn);
    }
  }
}

void PageTable::visit_level(uint64_t pfn, int level, uint64_t base, const Visitor& fn) const {
  const uint64_t* t = table(pfn);
  for (unsigned i = 0; i < 512; ++i) {
    if (!t[i]) continue;
    uint64_t lo = base + i * span(level);
    fn(level, i, lo, t[i]);
    if (level > 0 && (t[i] & pte::P)) visit_level(pte::pfn(t[i]), level - 1, lo, fn);
  }
}

void PageTable::prune(uint64_t start, uint64_t end) {
  if (start < end) prune_level(root_, 3, 0, start, end);
}

// Returns true if the table at `pfn` is now empty.
bool PageTable::prune_level(uint64_t pfn, int level, uint64_t base, uint64_t start, uint64_t end) {
  uint64_t step = span(level);
  uint64_t* t = table(pfn);
  if (level > 0) {
    unsigned first = start > base ? unsigned((start - base) / step) : 0;
    for (unsigned i = first; i < 512; ++i) {
      uint64_t lo = base + i * step;
      if (lo >= end) break;
      if (!(t[i] & pte::P)) continue;
      if (prune_level(pte::pfn(t[i]), level - 1, lo, std::max(start, lo), std::min(end, lo + step))) {
        pm_.put(pte::pfn(t[i]));
        --table_frames_;
        t[i] = 0;
      }
    }
  }
  for (unsigned i = 0; i < 512; ++i)
    if (t[i]) return false;
  return level < 3; // the root stays
}

} // namespace gk::mm
