// tasks/PID/ of the FUSE export: what one guest process's memory looks like
// from the inside (its page table, frame by frame) and from the host (its
// host child's mappings), its threads' registers and its syscalls.
#include <sys/user.h>

#include <algorithm>

#include <fmt/format.h>

#include "guestkernel/export/views.h"
#include "guestkernel/kernel.h"

namespace gk::exportfs {

namespace {

const char* state_name(const Task& t) {
  switch (t.state) {
  case TaskState::Runnable: return "runnable";
  case TaskState::Running: return "running in the kernel";
  case TaskState::InGuest: return "running guest code";
  case TaskState::Blocked: return "blocked";
  case TaskState::Dead: return "dead";
  }
  return "?";
}

std::string thread_state(const Task& t) {
  std::string s = state_name(t);
  if (t.state == TaskState::Blocked && t.syscall_nr >= 0) s += fmt::format(" in {}", syscall_name(uint64_t(t.syscall_nr)));
  return s;
}

} // namespace

mm::AddressSpace* address_space_of(Process& p) {
  Task* t = p.leader();
  return !p.zombie && t && t->mm && t->mm->as ? t->mm->as.get() : nullptr;
}

int64_t pagetable_text(Kernel& k, Process& p, std::string& s) {
  mm::AddressSpace* as = address_space_of(p);
  if (!as) {
    s = fmt::format("# pid {} has no address space (zombie)\n", p.pid);
    return 0;
  }
  const mm::PageTable& pt = as->page_table();
  const mm::BuddyAllocator& b = k.physmem().buddy();
  s = fmt::format("# pid {} ({}): x86-64 4-level page table, CR3 = PML4 frame {:#x}, {} table frames\n", p.pid, p.comm,
                  pt.root_pfn(), pt.table_frames());
  s += "# ENTRY[index] va=first-last address it covers -> the table below, or a leaf's frame (pfn)\n"
       "# flags: P present, RW writable, US user, A accessed, D dirty, NX no-execute; software bits:\n"
       "#   HOSTMAPPED the host child mirrors the page, COW shared copy-on-write (write-protected)\n"
       "# refs: PTEs and caches holding the frame; its bytes: mm/physmem at offset pfn*4096\n";
  if (as->mmu().pending()) s += "# host ops are queued: the host mirror catches up before the guest runs again\n";
  static const char* kNames[] = {"PT", "PD", "PDPT", "PML4"};
  s += fmt::format("PML4 pfn={:#x}\n", pt.root_pfn());
  pt.visit([&](int level, unsigned i, uint64_t va, uint64_t e) {
    std::string indent(size_t(2 * (4 - level)), ' ');
    uint64_t pfn = mm::pte::pfn(e);
    if (level > 0) {
      s += fmt::format("{}{}[{}] va={:#x}-{:#x} -> {} pfn={:#x} flags={}\n", indent, kNames[level], i, va,
                       va + mm::PageTable::span(level) - 1, kNames[level - 1], pfn, mm::pte::flag_names(e));
    } else if (!(e & mm::pte::P) || pfn >= b.total_frames()) {
      s += fmt::format("{}PT[{}] va={:#x} not-present raw={:#x}\n", indent, i, va, e);
    } else {
      const mm::Frame& f = b.frame(pfn);
      s += fmt::format("{}PT[{}] va={:#x} pfn={:#x} flags={} refs={} kind={}\n", indent, i, va, pfn,
                       mm::pte::flag_names(e), f.refcount, mm::frame_kind_name(f.kind));
    }
  });
  return 0;
}

int64_t regs_text(Kernel&, Process& p, std::string& s) {
  s.clear();
  for (Task* t : p.threads) {
    const user_regs_struct& r = t->regs;
    s += fmt::format("thread {} ({}): registers as of its last stop\n", t->tid, thread_state(*t));
    const std::pair<const char*, uint64_t> regs[] = {
        {"rip", r.rip}, {"rsp", r.rsp}, {"rbp", r.rbp},         {"eflags", r.eflags}, {"rax", r.rax},
        {"rbx", r.rbx}, {"rcx", r.rcx}, {"rdx", r.rdx},         {"rsi", r.rsi},       {"rdi", r.rdi},
        {"r8", r.r8},   {"r9", r.r9},   {"r10", r.r10},         {"r11", r.r11},       {"r12", r.r12},
        {"r13", r.r13}, {"r14", r.r14}, {"r15", r.r15},         {"orig_rax", r.orig_rax},
        {"fs_base", r.fs_base}, {"gs_base", r.gs_base}, {"cs", r.cs}, {"ss", r.ss}};
    for (auto [name, v] : regs) s += fmt::format("  {:<9}{:#018x}\n", name, v);
  }
  return 0;
}

int64_t syscalls_text(Kernel&, Process& p, std::string& s) {
  std::vector<std::pair<uint64_t, uint64_t>> counts(p.syscall_counts.begin(), p.syscall_counts.end());
  std::sort(counts.begin(), counts.end(), [](auto& a, auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  uint64_t total = 0;
  for (auto& c : counts) total += c.second;
  s = fmt::format("# pid {} ({}): {} syscalls since it started\n", p.pid, p.comm, total);
  for (auto [nr, n] : counts) s += fmt::format("{:>10}  {} ({})\n", n, syscall_name(nr), nr);
  for (Task* t : p.threads) s += fmt::format("# thread {}: {}\n", t->tid, thread_state(*t));
  return 0;
}

int64_t host_maps_text(Kernel&, Process& p, std::string& s) {
  Task* t = p.leader();
  s.clear();
  if (!p.zombie && t && t->mm && t->mm->child && t->mm->child->alive()) s = t->mm->child->maps_text();
  return 0;
}

} // namespace gk::exportfs
