// mmu/ and kernel/ of the FUSE export: the host MMU backend and its cost
// figures (the --stats report, live), the kernel's heap and syscall counts.
#include <jemalloc/jemalloc.h>

#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "guestkernel/export/views.h"
#include "guestkernel/kernel.h"

namespace gk::exportfs {

namespace {

// The figures as --stats would print them if the guest ended now: the live
// host children's counters are added as their end would add them, and "at
// exit" is the largest host VMA count of a live child.
KernelStats stats_now(Kernel& k) {
  KernelStats s = k.stats();
  s.end_ns = Kernel::now_ns();
  s.exit_host_vmas = 0;
  std::set<const arch::HostChild*> seen;
  for (auto& [pid, p] : k.processes()) {
    Task* t = p->leader();
    if (p->zombie || !t || !t->mm || !t->mm->child || !t->mm->child->alive() || !seen.insert(t->mm->child.get()).second)
      continue;
    const arch::HostChild& c = *t->mm->child;
    s.stops += c.counters();
    s.host_minor_faults += c.host_minor_faults();
    s.exit_host_vmas = std::max(s.exit_host_vmas, c.host_vmas_in_guest_space());
    s.peak_host_vmas = std::max(s.peak_host_vmas, s.exit_host_vmas);
  }
  return s;
}

} // namespace

int64_t backend_text(Kernel& k, std::string& s) {
  static const char* how[] = {
      "remap_file_pages(va, len, 0, pfn, 0) inside a MAP_SHARED reserve mapping of physmem under each guest VMA "
      "(+ mprotect when a page's prot differs from its VMA's)",
      "mremap(window + pfn*4K, 0, len, MREMAP_MAYMOVE|MREMAP_FIXED, va) from a PROT_NONE window onto physmem, "
      "then mprotect",
      "mmap(va, len, prot, MAP_SHARED|MAP_FIXED, physmem, pfn*4K)"};
  mm::Backend b = k.options().backend;
  s = fmt::format("{}\n# one map op of a run of pages: {}\n", mm::backend_name(b), how[int(b)]);
  return 0;
}

int64_t mmu_stats_text(Kernel& k, std::string& s) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  if (!f) return -ENOMEM;
  print_mmu_stats(f, k, stats_now(k));
  fclose(f);
  s.assign(buf, len);
  free(buf);
  return 0;
}

int64_t stats_json_text(Kernel& k, std::string& s) {
  s = stats_json(k, stats_now(k));
  return 0;
}

int64_t heap_text(Kernel&, std::string& s) {
  // A new epoch makes jemalloc refresh its cached statistics.
  uint64_t epoch = 1;
  size_t sz = sizeof epoch;
  mallctl("epoch", &epoch, &sz, &epoch, sz);
  s = "# the kernel's own heap (jemalloc is its malloc): every kernel object, not guest memory\n";
  for (const char* name : {"stats.allocated", "stats.active", "stats.metadata", "stats.resident", "stats.mapped",
                           "stats.retained"}) {
    size_t v = 0, vs = sizeof v;
    if (mallctl(name, &v, &vs, nullptr, 0) == 0) s += fmt::format("{:<18} {:>14} bytes\n", name, v);
  }
  s += "\n";
  // The full report without the per-arena detail.
  malloc_stats_print([](void* out, const char* text) { static_cast<std::string*>(out)->append(text); }, &s, "a");
  return 0;
}

int64_t kernel_syscalls_text(Kernel& k, std::string& s) {
  const KernelStats& st = k.stats();
  uint64_t total = 0;
  for (uint64_t n : st.syscalls) total += n;
  s = fmt::format("# syscalls the kernel has handled since boot: {} ({} unimplemented)\n", total, st.unknown_syscalls);
  for (size_t nr = 0; nr < st.syscalls.size(); ++nr)
    if (st.syscalls[nr]) s += fmt::format("{:>10}  {} ({})\n", st.syscalls[nr], syscall_name(nr), nr);
  return 0;
}

} // namespace gk::exportfs
