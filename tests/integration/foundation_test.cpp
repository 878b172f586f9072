// Static guest programs under each MMU backend, compared with native runs.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;

namespace {

const std::vector<std::string> kLibcs = {"musl", "glibc"};

class Foundation : public GuestTest {
protected:
  RunResult guest(const std::vector<std::string>& prog, const std::vector<std::string>& extra = {},
                  const RunOptions& o = {}) {
    return run(guest_cmd(backend(), extra, prog), o);
  }
};

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/gk-" + std::to_string(getpid()) + "-" + name;
}

nlohmann::json stats_of(const std::string& backend, const std::vector<std::string>& prog, const std::string& tag) {
  std::string path = temp_path("stats-" + backend + "-" + tag + ".json");
  RunResult r = run(guest_cmd(backend, {"--stats-json=" + path}, prog));
  EXPECT_EQ(r.status, 0) << r.err;
  std::ifstream f(path);
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  unlink(path.c_str());
  return j;
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

uint64_t total_host_ops(const nlohmann::json& j) {
  uint64_t n = 0;
  for (auto& [name, v] : j["host_ops"].items()) n += v["count"].get<uint64_t>();
  return n;
}

} // namespace

TEST_P(Foundation, HelloMatchesNative) {
  for (const auto& libc : kLibcs) {
    std::string prog = guest_program("hello-" + libc);
    RunResult native = run({prog});
    RunResult g = guest({prog});
    EXPECT_EQ(g.out, "Hello from a guest program!\n") << libc << ": " << g.err;
    EXPECT_EQ(g.out, native.out) << libc;
    EXPECT_EQ(g.status, 0) << libc << ": " << g.err;
  }
}

TEST_P(Foundation, ExitCodesPropagate) {
  for (const auto& libc : kLibcs)
    for (int code : {0, 1, 42, 255}) {
      RunResult g = guest({guest_program("exitcode-" + libc), std::to_string(code)});
      EXPECT_EQ(g.status, code) << libc << ": " << g.err;
    }
}

TEST_P(Foundation, AuxvCheckerPassesAndMatchesNative) {
  for (const auto& libc : kLibcs) {
    std::vector<std::string> prog = {guest_program("auxv_check-" + libc), "one", "two words", ""};
    RunResult native = run(prog);
    RunResult g = guest(prog);
    EXPECT_EQ(g.status, 0) << libc << ": " << g.out << g.err;
    EXPECT_NE(g.out.find("auxv: PASS"), std::string::npos) << g.out;
    EXPECT_EQ(g.out, native.out) << libc;
  }
}

TEST_P(Foundation, MemtestScattered64MiB) {
  for (const auto& libc : kLibcs) {
    std::vector<std::string> prog = {guest_program("memtest-" + libc), "64", "scatter"};
    RunResult g = guest(prog);
    EXPECT_EQ(g.status, 0) << libc << ": " << g.err;
    EXPECT_EQ(g.out, run(prog).out) << libc;
    EXPECT_NE(g.out.find("16384 pages verified OK"), std::string::npos) << g.out;
  }
}

TEST_P(Foundation, MemtestWithTooLittleMemoryFailsCleanly) {
  RunResult g = guest({guest_program("memtest-musl"), "64", "scatter"}, {"--mem=32M"});
  // Either the guest saw ENOMEM from mmap (exit 2) or it was OOM-killed (SIGKILL).
  EXPECT_TRUE(g.status == 2 || g.status == 128 + SIGKILL) << g.status << " " << g.err;
  if (g.status == 128 + SIGKILL) {
    EXPECT_NE(g.err.find("out of guest memory"), std::string::npos) << g.err;
  }
  RunResult big = guest({guest_program("memtest-musl"), "512", "scatter"}, {"--mem=64M"});
  EXPECT_EQ(big.status, 2) << big.err; // larger than all of guest memory: mmap says ENOMEM
  EXPECT_NE(big.out.find("Cannot allocate memory"), std::string::npos) << big.out;
}

TEST_P(Foundation, NullDereferenceIsSigsegv) {
  for (const auto& libc : kLibcs) {
    std::string prog = guest_program("nullderef-" + libc);
    RunResult g = guest({prog});
    EXPECT_EQ(g.status, 139) << libc << ": " << g.err;
    EXPECT_EQ(g.status, run({prog}).status);
    EXPECT_EQ(g.out, "about to dereference NULL\n");
    EXPECT_NE(g.err.find("killed by SIGSEGV: SEGV_MAPERR at 0x0"), std::string::npos) << g.err;
  }
}

TEST_P(Foundation, MmcheckMatchesNative) {
  for (const auto& libc : kLibcs) {
    std::string prog = guest_program("mmcheck-" + libc);
    RunResult native = run({prog});
    RunResult g = guest({prog});
    EXPECT_EQ(g.status, 0) << libc << ": " << g.out << g.err;
    EXPECT_NE(g.out.find("mmcheck: PASS"), std::string::npos) << g.out;
    EXPECT_EQ(g.out, native.out) << libc;
  }
}

TEST_P(Foundation, MalformedElfGivesAClearError) {
  std::ifstream in(guest_program("hello-musl"), std::ios::binary);
  std::string image((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(image.size(), 4096u);
  struct Case {
    std::string name, bytes;
    mode_t mode;
  };
  std::string garbage = "\x7f" "ELF";
  for (int i = 0; i < 4000; ++i) garbage += char((i * 7919) & 0xff);
  std::string bad_phoff = image;
  bad_phoff[32] = '\xff'; // e_phoff far past the end
  bad_phoff[33] = '\xff';
  bad_phoff[34] = '\xff';
  std::vector<Case> cases = {
      {"empty", "", 0755},
      {"truncated-header", image.substr(0, 40), 0755},
      {"truncated-segments", image.substr(0, 3000), 0755},
      {"garbage", garbage, 0755},
      {"bad-phoff", bad_phoff, 0755},
      {"text", "just some text, not a program\n", 0755},
      {"script-without-interpreter", "#!\n", 0755},
      {"not-executable", image, 0644},
  };
  for (const auto& c : cases) {
    std::string path = temp_path(c.name);
    std::ofstream(path, std::ios::binary) << c.bytes;
    chmod(path.c_str(), c.mode);
    RunResult g = guest({path});
    EXPECT_EQ(g.status, 126) << c.name << ": " << g.err;
    EXPECT_NE(g.err.find("guestkernel: cannot start"), std::string::npos) << c.name << ": " << g.err;
    EXPECT_EQ(g.out, "") << c.name;
    unlink(path.c_str());
  }
  RunResult missing = guest({"/nonexistent/program"});
  EXPECT_EQ(missing.status, 127) << missing.err;
  EXPECT_NE(missing.err.find("No such file or directory"), std::string::npos) << missing.err;
}

TEST_P(Foundation, UnknownSyscallIsEnosysAndLoggedOnce) {
  for (const auto& libc : kLibcs) {
    std::string prog = guest_program("enosys-" + libc);
    RunResult g = guest({prog});
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, run({prog}).out);
    const std::string line = "unimplemented syscall unknown (1000)";
    size_t first = g.err.find(line);
    EXPECT_NE(first, std::string::npos) << g.err;
    EXPECT_EQ(g.err.find(line, first + line.size()), std::string::npos) << "logged twice: " << g.err;
  }
}

TEST_P(Foundation, TraceShowsSyscallsFaultsAndHostOps) {
  RunResult g = guest({guest_program("argecho-musl"), "alpha", "beta"}, {"--trace=syscall,fault,mmu"});
  EXPECT_EQ(g.status, 0);
  EXPECT_EQ(g.out, "alpha\nbeta\n");
  EXPECT_NE(g.err.find("write(1, \"alpha\\n\", 6) = 6"), std::string::npos) << g.err;
  EXPECT_NE(g.err.find("exit_group(0)"), std::string::npos) << g.err;
  EXPECT_NE(g.err.find("] fault 0x"), std::string::npos) << g.err;
  EXPECT_NE(g.err.find("] mmu map va="), std::string::npos) << g.err;
}

// One copy-on-write fault followed end to end: the host stop, the VMA and
// the decision, the PTE before and after, the op queued for the new frame,
// and the host call the stub made for it (naming that frame) with its cost.
TEST_P(Foundation, TraceFollowsOneFaultToItsHostCall) {
  RunResult g = guest({guest_program("cow-musl")}, {"--trace=fault,pte,mmu"});
  ASSERT_EQ(g.status, 0) << g.err;
  std::istringstream in(g.err);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  static const std::regex stop(R"(^\[(\d+)\] fault (0x[0-9a-f]+) #(\d+): host SIGSEGV si_code=2 \(SEGV_ACCERR\) si_addr=\2 rip=0x[0-9a-f]+$)");
  size_t at = 0;
  std::smatch m;
  while (at < lines.size() && !std::regex_match(lines[at], m, stop)) ++at;
  ASSERT_LT(at, lines.size()) << g.err.substr(0, 4000);
  std::string pid = m[1], addr = m[2], seq = m[3];
  uint64_t page = std::stoull(addr, nullptr, 16) & ~0xfffULL;
  // The lines of that task from the stop to its next fault.
  std::vector<std::string> mine;
  for (size_t i = at + 1; i < lines.size(); ++i) {
    if (lines[i].rfind("[" + pid + "] ", 0) != 0) continue;
    if (lines[i].find("] fault 0x") != std::string::npos && lines[i].find(" #" + seq + " -> ") == std::string::npos &&
        lines[i].find(addr + ": vma") == std::string::npos)
      break;
    mine.push_back(lines[i].substr(pid.size() + 3));
  }
  std::string all;
  for (auto& l : mine) all += l + "\n";
  ASSERT_GE(mine.size(), 6u) << all;
  EXPECT_EQ(mine[0].rfind("fault " + addr + ": vma 0x", 0), 0u) << all;
  EXPECT_NE(mine[0].find(" rw-p "), std::string::npos) << all;
  EXPECT_NE(mine[0].find(": write to a copy-on-write page"), std::string::npos) << all;
  static const std::regex pte(R"(^pte (0x[0-9a-f]+): pfn=(0x[0-9a-f]+) P\|US\|\S*COW -> pfn=(0x[0-9a-f]+) P\|RW\|US\|A\|D\|NX\|HOSTMAPPED \(copy-on-write: (copied to a frame of its own|the last user keeps the frame)\)$)");
  ASSERT_TRUE(std::regex_match(mine[1], m, pte)) << all;
  EXPECT_EQ(std::stoull(m[1], nullptr, 16), page);
  uint64_t pfn = std::stoull(m[3], nullptr, 16);
  EXPECT_EQ(mine[2], fmt("mmu queue map va=%#lx pages=1 pfn=%#lx prot=rw-", page, pfn)) << all;
  EXPECT_EQ(mine[3], "fault " + addr + " #" + seq + " -> mapped") << all;
  EXPECT_EQ(mine[4].rfind("mmu flush: ", 0), 0u) << all;
  // The host call that maps that frame at that page, per backend.
  std::string call = backend() == "mmap" ? fmt("host mmap(%#lx, 0x1000, 0x3, 0x11, ", page)
                     : backend() == "rfp" ? fmt("host remap_file_pages(%#lx, 0x1000, 0x0, %#lx, 0x0) = 0 [", page, pfn)
                                          : fmt("host mremap(%#lx, 0x0, 0x1000, 0x3, %#lx) = %#lx [",
                                                0x7fe000000000UL + pfn * 4096, page, page);
  bool found = false;
  for (auto& l : mine)
    if (l.find(call) != std::string::npos && l.find(" us in the stub]") != std::string::npos &&
        (backend() != "mmap" || l.find(fmt(", %#lx) = %#lx [", pfn * 4096, page)) != std::string::npos))
      found = true;
  EXPECT_TRUE(found) << call << "\n" << all;
}

TEST_P(Foundation, StatsShowHostVmasGrowWithScatteredPages) {
  auto small = stats_of(backend(), {guest_program("bench_fault-musl"), "256", "scatter"}, "small");
  auto large = stats_of(backend(), {guest_program("bench_fault-musl"), "8192", "scatter"}, "large");
  uint64_t vs = small["child"]["peak_host_vmas"], vl = large["child"]["peak_host_vmas"];
  EXPECT_GT(vl, vs + 100) << "small " << vs << " large " << vl;
}

TEST_P(Foundation, StatsShowFewerOpsForContiguousRuns) {
  auto seq = stats_of(backend(), {guest_program("bench_fault-musl"), "4096", "seq"}, "seq");
  auto scat = stats_of(backend(), {guest_program("bench_fault-musl"), "4096", "scatter"}, "scatter");
  EXPECT_LT(total_host_ops(seq) * 2, total_host_ops(scat)) << seq.dump() << scat.dump();
  EXPECT_GT(seq["mmu"]["coalesced"].get<uint64_t>(), 0u);
}

// The host-side breakdown bench/ reads: stub runs split by the guest event
// that caused them, per-event ratios, and one record per ended address space
// whose sums are the totals.
TEST_P(Foundation, StatsAttributeStubRunsAndListHostChildren) {
  auto j = stats_of(backend(), {guest_program("bench_fork-musl"), "20"}, "fork");
  const auto& cause = j["stub_runs_by_cause"];
  uint64_t by_nr = 0;
  for (auto& [name, n] : cause["by_syscall"].items()) by_nr += n.get<uint64_t>();
  EXPECT_EQ(by_nr, cause["syscall"].get<uint64_t>());
  EXPECT_EQ(cause["syscall"].get<uint64_t>() + cause["fault"].get<uint64_t>() + cause["other"].get<uint64_t>(),
            j["stub_runs"].get<uint64_t>());
  EXPECT_GT(cause["by_syscall"].value("fork", 0u) + cause["by_syscall"].value("clone", 0u), 0u) << cause.dump();
  EXPECT_EQ(j["per_event"]["fault"]["count"], j["faults"]["host_fault_stops"]);
  EXPECT_EQ(j["per_event"]["syscall"]["count"], j["ptrace_stops"]["syscall"]);
  EXPECT_GE(j["per_event"]["syscall"]["ptrace_stops"].get<double>(), 1.0);

  // pid 1 plus 21 forked children (one warm-up round), each its own address space.
  const auto& kids = j["children"];
  ASSERT_EQ(kids.size() + j["children_unlisted"].get<size_t>(), 22u) << kids.dump();
  uint64_t minflt = 0, stub = 0, stops = 0;
  std::map<int, std::vector<uint64_t>> by_host_pid; // minor faults of forked children per host child
  for (const auto& c : kids) {
    minflt += c["host_minor_faults"].get<uint64_t>();
    stub += c["stub_runs"].get<uint64_t>();
    for (auto& [k, n] : c["ptrace_stops"].items()) stops += n.get<uint64_t>();
    if (c["pid"].get<int>() != 1) by_host_pid[c["host_pid"].get<int>()].push_back(c["host_minor_faults"]);
  }
  EXPECT_EQ(minflt, j["child"]["host_minor_faults"].get<uint64_t>());
  EXPECT_EQ(stub, j["stub_runs"].get<uint64_t>());
  uint64_t total_stops = 0;
  for (auto& [k, n] : j["ptrace_stops"].items()) total_stops += n.get<uint64_t>();
  EXPECT_EQ(stops, total_stops);
  // Host children of dead address spaces are recycled; each use counts only
  // its own host minor faults, not the ones of the uses before it. The first
  // use of a host child also has the faults of the stub's start-up, so every
  // later use (the same _exit at once) has fewer.
  size_t recycled = 0;
  for (const auto& [pid, faults] : by_host_pid) {
    recycled += faults.size() - 1;
    for (size_t i = 1; i < faults.size(); ++i)
      EXPECT_LT(faults[i], faults[0]) << "host pid " << pid << " use " << i << ": " << kids.dump();
  }
  EXPECT_GT(recycled, 10u) << "host children were not recycled: " << kids.dump();
}

TEST_P(Foundation, KilledKernelLeavesNoHostProcess) {
  pid_t k = start(guest_cmd(backend(), {}, {guest_program("spin-musl")}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(kill(k, SIGKILL), 0);
  // TearDown checks that neither the kernel nor its stub child survives.
}

INSTANTIATE_TEST_SUITE_P(Backends, Foundation, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
