// --stats: where the host time went, as a table on stderr and as JSON.
#include <fstream>

#include <nlohmann/json.hpp>

#include "arch-um/tsc.h"
#include "guestkernel/kernel.h"

namespace gk {

namespace {

struct HostCallFigures {
  const char* name;
  uint64_t calls;
  double total_ms, avg_us;
};

std::vector<HostCallFigures> host_calls(const KernelStats& s) {
  double ns_per_cycle = arch::tsc_clock().ns_per_cycle();
  std::vector<HostCallFigures> out;
  for (size_t k = 0; k < size_t(mm::HostCall::Count); ++k) {
    if (!s.mmu.calls[k]) continue;
    double ns = double(s.mmu.cycles[k]) * ns_per_cycle;
    out.push_back({mm::host_call_name(mm::HostCall(k)), s.mmu.calls[k], ns / 1e6, ns / 1e3 / double(s.mmu.calls[k])});
  }
  return out;
}

// Stops and stub runs per guest syscall and per guest fault: each syscall or
// fault is one ptrace stop of its own, and every stub run it caused is one more.
struct PerEvent {
  uint64_t events, stub_runs;
  double stops_per() const { return events ? 1.0 + double(stub_runs) / double(events) : 0.0; }
  double stub_runs_per() const { return events ? double(stub_runs) / double(events) : 0.0; }
};

PerEvent per_syscall(const KernelStats& s) {
  PerEvent e{s.stops.stops_syscall, 0};
  for (auto n : s.stub_runs_after_syscall) e.stub_runs += n;
  return e;
}

PerEvent per_fault(const KernelStats& s) { return {s.fault_stops, s.stub_runs_after_fault}; }

} // namespace


namespace {

void print_faults(FILE* out, const KernelStats& s) {
  const auto& f = s.faults;
  fmt::print(out, "page faults              {} host fault stops\n", s.fault_stops);
  fmt::print(out, "  copy-on-write copies   {:>10}\n  copy-on-write reuses   {:>10}\n", f.cow_copy, f.cow_reuse);
  fmt::print(out, "  demand-zero            {:>10}\n  fault-around pages     {:>10}\n"
                  "  re-mirrored            {:>10}\n  stack growth           {:>10}\n"
                  "  kernel-side (uaccess)  {:>10}\n  -> guest SIGSEGV       {:>10}\n  -> out of memory       {:>10}\n",
             f.demand_zero, f.around, f.remirror, f.stack_growth, f.kernel, f.segv, f.oom);
  fmt::print(out, "  from the page cache    {:>10}\n  first writes (dirty)   {:>10}\n  -> guest SIGBUS        {:>10}\n",
             f.file, f.dirty, f.sigbus);
}

void print_host_mmu(FILE* out, const Kernel& k, const KernelStats& s) {
  fmt::print(out, "stub runs                {} ({} after syscalls, {} after faults, {} other)\n", s.mmu.batches,
             per_syscall(s).stub_runs, s.stub_runs_after_fault, s.stub_runs_after_other);
  for (auto [what, e] : {std::pair{"syscall", per_syscall(s)}, std::pair{"fault", per_fault(s)}})
    if (e.events)
      fmt::print(out, "  per {:<7}            {:.3f} ptrace stops, {:.3f} stub runs\n", what, e.stops_per(),
                 e.stub_runs_per());
  fmt::print(out, "host mm ops ({})       {:>10} {:>12} {:>10}\n", mm::backend_name(k.options().backend), "count",
             "total ms", "avg us");
  for (const auto& h : host_calls(s))
    fmt::print(out, "  {:<22} {:>10} {:>12.3f} {:>10.2f}\n", h.name, h.calls, h.total_ms, h.avg_us);
  fmt::print(out, "mmu ops queued           {} ({} coalesced into a neighbour), {} pages mirrored\n",
             s.mmu.queued, s.mmu.coalesced, s.mmu.pages_mapped);
  fmt::print(out, "evictions (host ENOMEM)  {}\n", s.mmu.evictions);
  fmt::print(out, "child host VMAs          peak {} (sampled), at exit {}\n", s.peak_host_vmas, s.exit_host_vmas);
  fmt::print(out, "child host minor faults  {}\n", s.host_minor_faults);
  fmt::print(out, "host children            {} address spaces ended\n", s.children.size() + s.children_unlisted);
  constexpr size_t kShown = 8; // --stats-json has up to KernelStats::kMaxChildFigures
  for (size_t i = 0; i < std::min(kShown, s.children.size()); ++i) {
    const auto& c = s.children[i];
    fmt::print(out, "  host pid {:<8} pid {:<6} {:<16} peak {} VMAs, {} at exit, {} minor faults, {} stub runs\n",
               c.host_pid, c.pid, c.comm, c.peak_host_vmas, c.exit_host_vmas, c.host_minor_faults, c.stops.stub_runs);
  }
  if (s.children.size() + s.children_unlisted > kShown)
    fmt::print(out, "  ({} more)\n", s.children.size() + s.children_unlisted - kShown);
}

void print_header(FILE* out, const Kernel& k, const KernelStats& s) {
  const Options& o = k.options();
  fmt::print(out, "\n=== guestkernel statistics: --mmu={} --trap={} --mem={}M ===\n", mm::backend_name(o.backend),
             o.trap, o.mem_bytes >> 20);
  fmt::print(out, "wall time                {:.3f} ms\n", double(s.end_ns - s.start_ns) / 1e6);
}

} // namespace

void print_stats(FILE* out, const Kernel& k, const KernelStats& s) {
  print_header(out, k, s);
  uint64_t total = 0;
  for (auto n : s.syscalls) total += n;
  fmt::print(out, "syscalls                 {} ({} unimplemented)\n", total, s.unknown_syscalls);
  for (size_t nr = 0; nr < s.syscalls.size(); ++nr)
    if (s.syscalls[nr]) fmt::print(out, "  {:<22} {:>10}\n", syscall_name(nr), s.syscalls[nr]);
  print_faults(out, s);
  fmt::print(out, "ptrace stops             {} syscall, {} fault/signal, {} stub, {} other\n",
             s.stops.stops_syscall, s.stops.stops_signal, s.stops.stops_stub, s.stops.stops_other);
  fmt::print(out, "register transfers       {} GETREGS, {} SETREGS, {} xstate saves\n", s.stops.getregs,
             s.stops.setregs, s.stops.xstate_swaps);
  fmt::print(out, "processes                {} forks, {} execs, {} host children, {} preemptions, {} guest signals\n",
             s.forks, s.execs, s.host_children, s.preemptions, s.guest_signals);
  print_host_mmu(out, k, s);
}

void print_mmu_stats(FILE* out, const Kernel& k, const KernelStats& s) {
  print_header(out, k, s);
  print_host_mmu(out, k, s);
  print_faults(out, s);
}

std::string stats_json(const Kernel& k, const KernelStats& s) {
  using nlohmann::json;
  const Options& o = k.options();
  json j;
  j["backend"] = mm::backend_name(o.backend);
  j["trap"] = o.trap;
  j["mem_bytes"] = o.mem_bytes;
  j["wall_ns"] = s.end_ns - s.start_ns;
  json sc = json::object();
  for (size_t nr = 0; nr < s.syscalls.size(); ++nr)
    if (s.syscalls[nr]) sc[syscall_name(nr)] = s.syscalls[nr];
  j["syscalls"] = sc;
  j["unknown_syscalls"] = s.unknown_syscalls;
  const auto& f = s.faults;
  j["faults"] = {{"host_fault_stops", s.fault_stops}, {"demand_zero", f.demand_zero}, {"around", f.around},
                 {"remirror", f.remirror}, {"cow_copy", f.cow_copy}, {"cow_reuse", f.cow_reuse}, {"stack_growth", f.stack_growth}, {"kernel", f.kernel},
                 {"segv", f.segv}, {"oom", f.oom}, {"file", f.file}, {"dirty", f.dirty}, {"sigbus", f.sigbus}};
  j["ptrace_stops"] = {{"syscall", s.stops.stops_syscall}, {"signal", s.stops.stops_signal},
                       {"stub", s.stops.stops_stub}, {"other", s.stops.stops_other}};
  j["regs"] = {{"getregs", s.stops.getregs}, {"setregs", s.stops.setregs}, {"xstate_saves", s.stops.xstate_swaps}};
  j["processes"] = {{"forks", s.forks}, {"execs", s.execs}, {"host_children", s.host_children},
                    {"preemptions", s.preemptions}, {"guest_signals", s.guest_signals}};
  j["stub_runs"] = s.mmu.batches;
  json by_nr = json::object();
  for (size_t nr = 0; nr < s.stub_runs_after_syscall.size(); ++nr)
    if (s.stub_runs_after_syscall[nr]) by_nr[syscall_name(nr)] = s.stub_runs_after_syscall[nr];
  j["stub_runs_by_cause"] = {{"syscall", per_syscall(s).stub_runs}, {"fault", s.stub_runs_after_fault},
                             {"other", s.stub_runs_after_other}, {"by_syscall", by_nr}};
  auto per = [](const PerEvent& e) {
    return json{{"count", e.events}, {"ptrace_stops", e.stops_per()}, {"stub_runs", e.stub_runs_per()}};
  };
  j["per_event"] = {{"syscall", per(per_syscall(s))}, {"fault", per(per_fault(s))}};
  json hc = json::object();
  for (const auto& h : host_calls(s)) hc[h.name] = {{"count", h.calls}, {"total_ms", h.total_ms}, {"avg_us", h.avg_us}};
  j["host_ops"] = hc;
  j["mmu"] = {{"queued", s.mmu.queued}, {"coalesced", s.mmu.coalesced}, {"pages_mapped", s.mmu.pages_mapped},
              {"evictions", s.mmu.evictions}};
  j["child"] = {{"peak_host_vmas", s.peak_host_vmas}, {"exit_host_vmas", s.exit_host_vmas},
                {"host_minor_faults", s.host_minor_faults}};
  json children = json::array();
  for (const auto& c : s.children)
    children.push_back({{"host_pid", c.host_pid}, {"pid", c.pid}, {"comm", c.comm},
                        {"peak_host_vmas", c.peak_host_vmas}, {"exit_host_vmas", c.exit_host_vmas},
                        {"host_minor_faults", c.host_minor_faults}, {"stub_runs", c.stops.stub_runs},
                        {"ptrace_stops", {{"syscall", c.stops.stops_syscall}, {"signal", c.stops.stops_signal},
                                          {"stub", c.stops.stops_stub}, {"other", c.stops.stops_other}}}});
  j["children"] = children;
  j["children_unlisted"] = s.children_unlisted;
  std::ifstream max_map_count("/proc/sys/vm/max_map_count");
  uint64_t mmc = 0;
  if (max_map_count >> mmc) j["host_max_map_count"] = mmc;
  return j.dump(2) + "\n";
}

void write_stats_json(const std::string& path, const Kernel& k, const KernelStats& s) {
  std::ofstream(path) << stats_json(k, s);
}

} // namespace gk
