// mm/ of the FUSE export: guest physical memory frame by frame (who owns
// each frame, how many hold it) and the buddy allocator's free lists.
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "guestkernel/export/views.h"
#include "guestkernel/kernel.h"

namespace gk::exportfs {

int64_t frames_text(Kernel& k, std::string& s) {
  const mm::BuddyAllocator& b = k.physmem().buddy();
  // Who maps each frame: every distinct address space's page table, walked once.
  std::unordered_map<uint64_t, std::string> users;
  auto add = [&users](uint64_t pfn, const std::string& who) {
    std::string& u = users[pfn];
    u += u.empty() ? who : ", " + who;
  };
  static const char* kTables[] = {"PT", "PD", "PDPT", "PML4"};
  std::set<const mm::AddressSpace*> seen;
  for (auto& [pid, p] : k.processes()) {
    mm::AddressSpace* as = address_space_of(*p);
    if (!as || !seen.insert(as).second) continue; // a vfork child borrows its parent's
    const mm::PageTable& pt = as->page_table();
    add(pt.root_pfn(), fmt::format("pid {} PML4", pid));
    int owner = pid;
    pt.visit([&](int level, unsigned, uint64_t va, uint64_t e) {
      if (!(e & mm::pte::P)) return;
      if (level > 0) {
        add(mm::pte::pfn(e), fmt::format("pid {} {} at {:#x}", owner, kTables[level - 1], va));
        return;
      }
      std::string how;
      if (e & mm::pte::COW) how += " cow";
      if (e & mm::pte::HOSTMAPPED) how += " mirrored";
      add(mm::pte::pfn(e), fmt::format("pid {} at {:#x}{}", owner, va, how.empty() ? "" : " (" + how.substr(1) + ")"));
    });
  }
  s = fmt::format("# guest physical memory: {} frames of 4 KiB, {} free (see mm/buddy); the frames in use:\n",
                  b.total_frames(), b.free_frames());
  s += "# cow: shared copy-on-write; mirrored: the host child maps it too. Bytes: mm/physmem at pfn*4096\n";
  s += fmt::format("{:<10} {:<10} {:>5}  {}\n", "# pfn", "kind", "refs", "mapped by");
  for (uint64_t pfn = 0; pfn < b.total_frames(); ++pfn) {
    const mm::Frame& f = b.frame(pfn);
    if (f.kind == mm::FrameKind::Free) continue;
    auto u = users.find(pfn);
    s += fmt::format("{:<#10x} {:<10} {:>5}  {}\n", pfn, mm::frame_kind_name(f.kind), f.refcount,
                     u == users.end() ? "-" : u->second);
  }
  return 0;
}

int64_t buddy_text(Kernel& k, std::string& s) {
  const mm::BuddyAllocator& b = k.physmem().buddy();
  constexpr unsigned kOrders = mm::BuddyAllocator::kMaxOrder + 1;
  std::vector<uint64_t> heads[kOrders];
  for (uint64_t pfn = 0; pfn < b.total_frames(); ++pfn) {
    const mm::Frame& f = b.frame(pfn);
    if ((f.flags & mm::Frame::kFreeHead) && f.order < kOrders) heads[f.order].push_back(pfn);
  }
  s = fmt::format("# buddy allocator: {} frames ({} MiB), {} free; a block of order k is 2^k frames\n",
                  b.total_frames(), b.total_frames() * mm::kPageSize >> 20, b.free_frames());
  s += fmt::format("{:<6} {:>9} {:>12} {:>12}\n", "order", "block", "free blocks", "free frames");
  for (unsigned o = 0; o < kOrders; ++o)
    s += fmt::format("{:<6} {:>5} KiB {:>12} {:>12}\n", o, (mm::kPageSize << o) >> 10, heads[o].size(),
                     heads[o].size() << o);
  s += "# free lists: the first frame of each free block\n";
  constexpr size_t kShown = 256;
  for (unsigned o = 0; o < kOrders; ++o) {
    s += fmt::format("order {}:", o);
    for (size_t i = 0; i < heads[o].size() && i < kShown; ++i) s += fmt::format(" {:#x}", heads[o][i]);
    if (heads[o].size() > kShown) s += fmt::format(" ... ({} more)", heads[o].size() - kShown);
    s += "\n";
  }
  return 0;
}

} // namespace gk::exportfs
