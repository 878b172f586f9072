#include "mm/host_mmu.h"

#include <asm/unistd.h>
#include <linux/mman.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "arch-um/tsc.h"
#include "mm/frame.h"

namespace gk::mm {

const char* backend_name(Backend b) {
  switch (b) {
  case Backend::Rfp: return "rfp";
  case Backend::Mremap: return "mremap";
  case Backend::Mmap: return "mmap";
  }
  return "?";
}

std::optional<Backend> parse_backend(std::string_view s) {
  if (s == "rfp") return Backend::Rfp;
  if (s == "mremap") return Backend::Mremap;
  if (s == "mmap") return Backend::Mmap;
  return std::nullopt;
}

const char* host_call_name(HostCall c) {
  switch (c) {
  case HostCall::Mmap: return "mmap";
  case HostCall::Mprotect: return "mprotect";
  case HostCall::Munmap: return "munmap";
  case HostCall::Mremap: return "mremap";
  case HostCall::Rfp: return "remap_file_pages";
  case HostCall::Count: break;
  }
  return "?";
}

namespace {

const char* kind_name(PendingOp::Kind k) {
  switch (k) {
  case PendingOp::Kind::Map: return "map";
  case PendingOp::Kind::Protect: return "protect";
  case PendingOp::Kind::Drop: return "drop";
  case PendingOp::Kind::Release: return "release";
  case PendingOp::Kind::Reserve: return "reserve";
  }
  return "?";
}

std::string prot_str(int prot) {
  std::string s = "---";
  if (prot & PROT_READ) s[0] = 'r';
  if (prot & PROT_WRITE) s[1] = 'w';
  if (prot & PROT_EXEC) s[2] = 'x';
  return s;
}

std::string op_text(const PendingOp& p) {
  return fmt::format("{} va={:#x} pages={} pfn={:#x} prot={}", kind_name(p.kind), p.va, p.npages, p.pfn,
                     prot_str(p.kind == PendingOp::Kind::Map || p.kind == PendingOp::Kind::Protect ? p.prot
                                                                                              : p.vma_prot));
}

// A host call as the stub makes it: its name and arguments.
std::string call_text(HostCall k, const stub::Op& o) {
  static const int arity[] = {6, 3, 2, 5, 5}; // in HostCall's order
  std::string s = std::string(host_call_name(k)) + "(";
  for (int i = 0; i < arity[int(k)]; ++i) s += fmt::format("{}{:#x}", i ? ", " : "", o.args[i]);
  return s + ")";
}

std::string result_text(int64_t ret) {
  if (ret < 0 && ret > -4096) {
    const char* name = strerrorname_np(int(-ret));
    return fmt::format("-1 {}", name ? name : "?");
  }
  return ret >= 4096 ? fmt::format("{:#x}", ret) : fmt::format("{}", ret);
}

// `b` continues `a`: same kind and parameters, next pages (and next frames).
bool continues(const PendingOp& a, const PendingOp& b) {
  if (a.kind != b.kind || a.prot != b.prot || a.vma_prot != b.vma_prot || a.replace != b.replace)
    return false;
  if (a.va + a.npages * kPageSize != b.va) return false;
  return a.kind != PendingOp::Kind::Map || a.pfn + a.npages == b.pfn;
}

stub::Op op(long nr, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0, uint64_t e = 0,
            uint64_t f = 0) {
  return stub::Op{uint64_t(nr), {a, b, c, d, e, f}};
}

} // namespace

void HostMmu::queue(const PendingOp& o) {
  ++stats_.queued;
  if (!queue_.empty() && continues(queue_.back(), o)) {
    queue_.back().npages += o.npages;
    ++stats_.coalesced;
    if (trace) trace(fmt::format("mmu queue {} (coalesced: the op at {:#x} now has {} pages)", op_text(o),
                                 queue_.back().va, queue_.back().npages));
    return;
  }
  queue_.push_back(o);
  if (trace) trace("mmu queue " + op_text(o));
}

void HostMmu::map(uint64_t va, uint64_t pfn, uint64_t npages, int prot, int vma_prot, bool replace) {
  stats_.pages_mapped += npages;
  queue({PendingOp::Kind::Map, va, npages, pfn, prot, vma_prot, replace});
}
void HostMmu::protect(uint64_t va, uint64_t npages, int prot) {
  queue({PendingOp::Kind::Protect, va, npages, 0, prot, 0, false});
}
void HostMmu::drop(uint64_t va, uint64_t npages, int vma_prot) {
  queue({PendingOp::Kind::Drop, va, npages, 0, 0, vma_prot, false});
}
void HostMmu::release(uint64_t va, uint64_t npages) {
  queue({PendingOp::Kind::Release, va, npages, 0, 0, 0, false});
}
void HostMmu::reserve(uint64_t va, uint64_t npages, int vma_prot) {
  if (backend_ == Backend::Rfp) queue({PendingOp::Kind::Reserve, va, npages, 0, 0, vma_prot, false});
}

void HostMmu::setup_child() {
  if (backend_ == Backend::Mremap)
    queue({PendingOp::Kind::Reserve, stub::kWindow, phys_bytes_ / kPageSize, 0, 0, PROT_NONE, false});
}

void HostMmu::wipe_child_first() {
  ++stats_.queued;
  queue_.insert(queue_.begin(), PendingOp{PendingOp::Kind::Release, 0, stub::kUserTop / kPageSize, 0, 0, 0, false});
}

void HostMmu::expand(const PendingOp& p, std::vector<stub::Op>& out, std::vector<HostCall>& kinds) const {
  uint64_t len = p.npages * kPageSize;
  auto add = [&](HostCall k, stub::Op o) {
    out.push_back(o);
    kinds.push_back(k);
  };
  // An rfp reserve maps memfd offsets past its end: touching it gives SIGBUS,
  // which the fault path treats like any other missing page.
  auto reserve_op = [&](int prot) {
    return op(__NR_mmap, p.va, len, uint64_t(prot), MAP_SHARED | MAP_FIXED, stub::kPhysFd, phys_bytes_);
  };
  switch (p.kind) {
  case PendingOp::Kind::Map:
    switch (backend_) {
    case Backend::Mmap:
      add(HostCall::Mmap, op(__NR_mmap, p.va, len, uint64_t(p.prot), MAP_SHARED | MAP_FIXED,
                             stub::kPhysFd, p.pfn * kPageSize));
      break;
    case Backend::Mremap:
      add(HostCall::Mremap, op(__NR_mremap, stub::kWindow + p.pfn * kPageSize, 0, len,
                               MREMAP_MAYMOVE | MREMAP_FIXED, p.va));
      add(HostCall::Mprotect, op(__NR_mprotect, p.va, len, uint64_t(p.prot)));
      break;
    case Backend::Rfp:
      if (p.prot != p.vma_prot || p.replace)
        add(HostCall::Mprotect, op(__NR_mprotect, p.va, len, uint64_t(p.prot)));
      add(HostCall::Rfp, op(__NR_remap_file_pages, p.va, len, 0, p.pfn, 0));
      break;
    }
    break;
  case PendingOp::Kind::Protect:
    add(HostCall::Mprotect, op(__NR_mprotect, p.va, len, uint64_t(p.prot)));
    break;
  case PendingOp::Kind::Drop:
    if (backend_ == Backend::Rfp) add(HostCall::Mmap, reserve_op(p.vma_prot));
    else add(HostCall::Munmap, op(__NR_munmap, p.va, len));
    break;
  case PendingOp::Kind::Release:
    add(HostCall::Munmap, op(__NR_munmap, p.va, len));
    break;
  case PendingOp::Kind::Reserve:
    if (p.va == stub::kWindow) // the mremap backend's window onto all of physmem
      add(HostCall::Mmap, op(__NR_mmap, p.va, len, PROT_NONE, MAP_SHARED | MAP_FIXED, stub::kPhysFd, 0));
    else
      add(HostCall::Mmap, reserve_op(p.vma_prot));
    break;
  }
}

HostMmu::Flush HostMmu::flush(StubChannel& ch) {
  std::vector<stub::Op> ops;
  std::vector<HostCall> kinds;
  for (const PendingOp& p : queue_) expand(p, ops, kinds);
  if (trace) {
    trace(fmt::format("mmu flush: {} queued ops -> {} host calls for the stub", queue_.size(), ops.size()));
    for (const PendingOp& p : queue_) trace("mmu " + op_text(p));
  }
  queue_.clear();
  size_t at = 0;
  while (at < ops.size()) {
    uint32_t n = uint32_t(std::min<size_t>(ops.size() - at, stub::kMaxOps));
    memcpy(ch.ops().ops, &ops[at], n * sizeof(stub::Op));
    uint32_t done = ch.run_batch(n);
    ++stats_.batches;
    if (done == 0 || done > n) throw std::runtime_error("stub batch ran no op");
    const stub::ResultPage& res = ch.results();
    for (uint32_t i = 0; i < done; ++i) {
      size_t k = size_t(kinds[at + i]);
      ++stats_.calls[k];
      stats_.cycles[k] += res.results[i].cycles;
    }
    if (trace) {
      double ns_per_cycle = arch::tsc_clock().ns_per_cycle();
      for (uint32_t i = 0; i < done; ++i)
        trace(fmt::format("mmu   host {} = {} [{} cycles, {:.2f} us in the stub]", call_text(kinds[at + i], ops[at + i]),
                          result_text(res.results[i].ret), res.results[i].cycles,
                          double(res.results[i].cycles) * ns_per_cycle / 1000.0));
    }
    if (done < n || (done > 0 && res.results[done - 1].ret < 0 && res.results[done - 1].ret > -4096)) {
      int64_t err = res.results[done - 1].ret;
      const stub::Op& bad = ops[at + done - 1];
      if (err != -ENOMEM)
        throw std::runtime_error(fmt::format("host {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) failed: {}",
                                             host_call_name(kinds[at + done - 1]), bad.args[0], bad.args[1],
                                             bad.args[2], bad.args[3], bad.args[4], bad.args[5],
                                             strerror(int(-err))));
      // vm.max_map_count (or host memory): forget every mirror in guest space.
      ++stats_.evictions;
      if (trace) trace("mmu host ENOMEM: dropping every host mapping of this child");
      ch.ops().ops[0] = op(__NR_munmap, 0, stub::kUserTop);
      if (ch.run_batch(1) != 1 || ch.results().results[0].ret != 0)
        throw std::runtime_error("host munmap of guest space failed during eviction");
      ++stats_.batches;
      ++stats_.calls[size_t(HostCall::Munmap)];
      stats_.cycles[size_t(HostCall::Munmap)] += ch.results().results[0].cycles;
      return Flush::Evicted;
    }
    at += n;
  }
  return Flush::Done;
}

} // namespace gk::mm
