// The FUSE export (--export DIR) under each MMU backend: a guest that holds
// still (vmprobe) seen through the mount agrees with what it sees itself
// (/proc), with what it wrote (the frames its page table names, read back
// through mm/physmem) and with its host child (the host mappings mirror
// exactly its mirrored PTEs); layout.svg is a well-formed picture of it; and
// no mount and no process survives the kernel, however it ends.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;

namespace {

constexpr uint64_t kPage = 4096, kRegion = 0x20000000, kShared = 0x20100000;
constexpr uint64_t kUserTop = 0x7fc000000000ULL;
constexpr uint64_t kMem = 64ULL << 20;

// What vmprobe writes: byte i of page n of its region, before and after the fork.
uint8_t before_fork(uint64_t n, uint64_t i) { return uint8_t((31 * n + i) & 0xff); }
uint8_t after_fork(uint64_t i) { return uint8_t((0xa5 ^ i) & 0xff); }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The text between "--- NAME\n" and the next "--- end\n".
std::string section(const std::string& out, const std::string& name) {
  size_t at = out.find("--- " + name + "\n");
  if (at == std::string::npos) return "";
  at += name.size() + 5;
  size_t end = out.find("--- end\n", at);
  return end == std::string::npos ? "" : out.substr(at, end - at);
}

bool mounted(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point == dir) return true;
  }
  return false;
}

// Whether the mount goes away within `ms` (the watchdog unmounts after the kernel dies).
bool unmounted_within(const std::string& dir, int ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (mounted(dir)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The children of `pid` named `comm`.
std::vector<pid_t> children_named(pid_t pid, const std::string& comm) {
  std::vector<pid_t> out;
  std::ifstream list("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  for (pid_t c; list >> c;)
    if (read_file("/proc/" + std::to_string(c) + "/comm") == comm + "\n") out.push_back(c);
  return out;
}

// A page-table leaf: its frame and flags.
struct Leaf {
  uint64_t pfn;
  std::string flags;
  bool has(const char* flag) const { return ("|" + flags + "|").find(std::string("|") + flag + "|") != std::string::npos; }
};

std::map<uint64_t, Leaf> leaves(const std::string& pagetable) {
  std::map<uint64_t, Leaf> out;
  static const std::regex leaf(R"(PT\[\d+\] va=(0x[0-9a-f]+) pfn=(0x[0-9a-f]+) flags=(\S+))");
  for (std::sregex_iterator it(pagetable.begin(), pagetable.end(), leaf), end; it != end; ++it)
    out[std::stoull((*it)[1], nullptr, 16)] = {std::stoull((*it)[2], nullptr, 16), (*it)[3]};
  return out;
}

// Pages of guest space the host child maps from guest memory: va -> (pfn, writable).
std::map<uint64_t, std::pair<uint64_t, bool>> host_mirrors(const std::string& host_maps) {
  std::map<uint64_t, std::pair<uint64_t, bool>> out;
  std::istringstream in(host_maps);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long start, end, off;
    char perms[8];
    if (sscanf(line.c_str(), "%llx-%llx %7s %llx", &start, &end, perms, &off) != 4) continue;
    if (!has(line, "gk-physmem") || start >= kUserTop || off >= kMem) continue; // rfp reserves lie past the end
    for (uint64_t va = start; va < end; va += kPage) out[va] = {(off + (va - start)) / kPage, perms[1] == 'w'};
  }
  return out;
}

class Export : public GuestTest {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gk-export-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    work_ = tmpl;
    dir_ = work_ + "/mnt";
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
  }

  void TearDown() override {
    if (kernel_ > 0) {
      kill(kernel_, SIGKILL);
      waitpid(kernel_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    EXPECT_TRUE(unmounted_within(dir_, 3000)) << "the export is still mounted on " << dir_;
    GuestTest::TearDown();
    rmdir(dir_.c_str());
    unlink((work_ + "/kernel.err").c_str());
    unlink((work_ + "/layout.svg").c_str());
    rmdir(work_.c_str());
  }

  std::vector<std::string> cmd(const std::vector<std::string>& prog) {
    return guest_cmd(GetParam(), {"--mem=64M", "--rootfs-ro", default_rootfs_dir(), "--export", dir_}, prog);
  }

  // Starts the kernel with its stdout on a pipe (stderr in kernel.err).
  void boot(const std::vector<std::string>& prog) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    std::vector<std::string> argv = cmd(prog);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    std::string err = work_ + "/kernel.err";
    kernel_ = fork();
    if (kernel_ == 0) {
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int null = open("/dev/null", O_RDONLY);
      dup2(null, 0);
      dup2(p[1], 1);
      dup2(e, 2);
      close_range(3, ~0U, 0);
      execv(a[0], a.data());
      _exit(127);
    }
    close(p[1]);
    out_ = p[0];
  }

  // Reads the kernel's stdout until `done` says so (or it ends, or 30 s pass).
  bool read_until(const std::function<bool(const std::string&)>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done(out_text_) && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{out_, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) break;
      out_text_.append(buf, size_t(n));
    }
    return done(out_text_);
  }

  // vmprobe, up to the end of what it prints before it sleeps.
  void boot_probe() {
    boot({"/opt/gk/vmprobe-musl", "/tmp"});
    bool ready = read_until([](const std::string& t) {
      size_t m = t.find("--- meminfo\n");
      return m != std::string::npos && t.find("--- end\n", m) != std::string::npos;
    });
    ASSERT_TRUE(ready) << out_text_ << read_file(work_ + "/kernel.err");
    // From its last write to pause() it still runs: look once it sleeps.
    ASSERT_TRUE(has(x_once("tasks/1/regs", "(blocked in pause)"), "(blocked in pause)")) << x("tasks/1/regs");
  }

  std::string x(const std::string& rel) { return read_file(dir_ + "/" + rel); }

  // The file once it contains `part`: vmprobe may still be on its way from
  // its last write to pause() (5 s at most).
  std::string x_once(const std::string& rel, const std::string& part) {
    std::string text;
    for (int i = 0; i < 100 && !has(text = x(rel), part); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return text;
  }

  // The bytes of frame `pfn`, read through mm/physmem.
  std::string frame(uint64_t pfn) {
    int fd = open((dir_ + "/mm/physmem").c_str(), O_RDONLY);
    std::string bytes(kPage, '\0');
    ssize_t n = pread(fd, bytes.data(), kPage, off_t(pfn * kPage));
    close(fd);
    bytes.resize(n > 0 ? size_t(n) : 0);
    return bytes;
  }

  std::string work_, dir_;
  pid_t kernel_ = -1;
  int out_ = -1;
  std::string out_text_;
};

std::string page_of(uint8_t (*f)(uint64_t, uint64_t), uint64_t n) {
  std::string s(kPage, '\0');
  for (uint64_t i = 0; i < kPage; ++i) s[i] = char(f(n, i));
  return s;
}

} // namespace

TEST_P(Export, ShowsWhatTheGuestSees) {
  boot_probe();
  EXPECT_EQ(x("tasks/1/maps"), section(out_text_, "maps"));
  EXPECT_EQ(x("mm/meminfo"), section(out_text_, "meminfo"));
  // The guest VFS as root: /proc through it too, and a file in the guest's tmpfs.
  EXPECT_EQ(x("fs/proc/1/maps"), section(out_text_, "maps"));
  EXPECT_EQ(x("fs/tmp/vmprobe.txt"), "hello from the guest\n");
  std::set<std::string> root, tmp;
  for (auto [path, names] : {std::pair{std::string("fs"), &root}, {std::string("fs/tmp"), &tmp}}) {
    DIR* d = opendir((dir_ + "/" + path).c_str());
    ASSERT_NE(d, nullptr) << path;
    while (dirent* e = readdir(d)) names->insert(e->d_name);
    closedir(d);
  }
  for (const char* name : {"bin", "etc", "opt", "proc", "tmp", "dev"}) EXPECT_TRUE(root.count(name)) << name;
  EXPECT_TRUE(tmp.count("vmprobe.txt"));
  char link[256] = {};
  ASSERT_GT(readlink((dir_ + "/fs/etc/mtab").c_str(), link, sizeof link - 1), 0);
  EXPECT_STREQ(link, "../proc/mounts"); // the guest's /proc/mounts, inside the export
  EXPECT_EQ(x("fs/proc/meminfo"), section(out_text_, "meminfo"));
  struct stat st;
  EXPECT_EQ(stat((dir_ + "/fs/no/such").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(open((dir_ + "/tasks/1/maps").c_str(), O_WRONLY), -1);
  EXPECT_EQ(errno, EROFS);
}

TEST_P(Export, PageTableLeadsToWhatTheGuestWrote) {
  boot_probe();
  auto parent = leaves(x("tasks/1/pagetable")), child = leaves(x("tasks/2/pagetable"));
  for (uint64_t n : {0, 1, 5}) {
    uint64_t va = kRegion + n * kPage;
    ASSERT_TRUE(parent.count(va) && child.count(va)) << std::hex << va;
    EXPECT_EQ(frame(parent[va].pfn), page_of(before_fork, n)) << "page " << n;
    // Still shared copy-on-write between parent and child: one frame, write-protected.
    EXPECT_EQ(parent[va].pfn, child[va].pfn) << "page " << n;
    EXPECT_TRUE(parent[va].has("COW") && !parent[va].has("RW")) << parent[va].flags;
  }
  // The parent wrote page 2 after the fork: the copy-on-write split it.
  uint64_t p2 = kRegion + 2 * kPage;
  ASSERT_TRUE(parent.count(p2) && child.count(p2));
  EXPECT_NE(parent[p2].pfn, child[p2].pfn);
  EXPECT_EQ(frame(parent[p2].pfn), page_of([](uint64_t, uint64_t i) { return after_fork(i); }, 0));
  EXPECT_EQ(frame(child[p2].pfn), page_of(before_fork, 2));
  EXPECT_TRUE(parent[p2].has("RW") && !parent[p2].has("COW")) << parent[p2].flags;
  // The MAP_SHARED page: one frame for both, never copy-on-write.
  ASSERT_TRUE(parent.count(kShared) && child.count(kShared));
  EXPECT_EQ(parent[kShared].pfn, child[kShared].pfn);
  EXPECT_EQ(frame(parent[kShared].pfn), std::string(kPage, '\x33'));
  EXPECT_FALSE(parent[kShared].has("COW"));
  // mm/frames names both users of a shared frame.
  std::string frames = x("mm/frames");
  char want[128];
  snprintf(want, sizeof want, "pid 1 at %#llx (cow", (unsigned long long)kRegion);
  EXPECT_TRUE(has(frames, want)) << frames.substr(0, 2000);
  snprintf(want, sizeof want, "pid 2 at %#llx (cow", (unsigned long long)kRegion);
  EXPECT_TRUE(has(frames, want));
  EXPECT_TRUE(has(x("mm/buddy"), "free lists")) << x("mm/buddy");
}

TEST_P(Export, HostMappingsMirrorExactlyTheMirroredPtes) {
  boot_probe();
  for (int pid : {1, 2}) {
    std::string dir = "tasks/" + std::to_string(pid) + "/";
    auto guest = leaves(x(dir + "pagetable"));
    auto host = host_mirrors(x(dir + "host_maps"));
    std::map<uint64_t, std::pair<uint64_t, bool>> mirrored;
    for (auto& [va, leaf] : guest)
      if (leaf.has("P") && leaf.has("HOSTMAPPED")) mirrored[va] = {leaf.pfn, leaf.has("RW") && leaf.has("US")};
    EXPECT_FALSE(mirrored.empty());
    EXPECT_EQ(host, mirrored) << "pid " << pid << "\n" << x(dir + "host_maps") << x(dir + "pagetable");
  }
}

TEST_P(Export, CountersAndPicture) {
  boot_probe();
  EXPECT_EQ(x("mmu/backend").substr(0, GetParam().size() + 1), GetParam() + "\n");
  auto j = nlohmann::json::parse(x("mmu/stats.json"), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["backend"], GetParam());
  EXPECT_GT(j["stub_runs"].get<uint64_t>(), 0u);
  EXPECT_TRUE(has(x("mmu/stats"), "host mm ops (" + GetParam() + ")"));
  EXPECT_TRUE(has(x("kernel/syscalls"), "  fork (57)") || has(x("kernel/syscalls"), "  clone (56)"));
  EXPECT_TRUE(has(x("tasks/1/syscalls"), "  pause (34)")) << x("tasks/1/syscalls");
  EXPECT_TRUE(has(x("tasks/1/regs"), "thread 1 (blocked in pause)")) << x("tasks/1/regs");
  EXPECT_TRUE(has(x("kernel/heap"), "stats.allocated")) << x("kernel/heap");
  EXPECT_TRUE(has(x("tasks/1/status"), "Name:\tvmprobe-musl\n"));
  // The picture: checked as XML and as SVG against the maps, and rendered
  // with headless Chromium when it is installed.
  std::string svg = work_ + "/layout.svg", maps = work_ + "/maps";
  std::ofstream(svg) << x("tasks/1/layout.svg");
  std::ofstream(maps) << x("tasks/1/maps");
  RunResult r = run({"/usr/bin/python3", std::string(GK_SOURCE) + "/tests/integration/check_svg.py", svg, maps},
                    RunOptions{{"PATH=/usr/bin:/bin", "HOME=" + work_}, "", 180000});
  unlink(maps.c_str());
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "layout.svg ok")) << r.out;
}

TEST_P(Export, NormalExitUnmounts) {
  RunResult r = run(cmd({"/opt/gk/hello-musl"}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "Hello from a guest program!\n");
  EXPECT_FALSE(mounted(dir_)); // unmounted before the kernel returned
}

TEST_P(Export, KillsLeaveNoMount) {
  for (int sig : {SIGTERM, SIGKILL}) {
    boot_probe();
    ASSERT_TRUE(mounted(dir_));
    ASSERT_EQ(kill(kernel_, sig), 0);
    waitpid(kernel_, nullptr, 0);
    kernel_ = -1;
    EXPECT_TRUE(unmounted_within(dir_, 3000)) << strsignal(sig);
    close(out_);
    out_ = -1;
    out_text_.clear();
  }
}

TEST_P(Export, DeadMountIsCleanedAtTheNextStart) {
  boot_probe();
  // Kill the watchdog that would unmount, then the kernel: a dead mount stays.
  std::vector<pid_t> watchdogs = children_named(kernel_, "gk-unmount");
  ASSERT_EQ(watchdogs.size(), 1u);
  kill(watchdogs[0], SIGKILL);
  kill(kernel_, SIGKILL);
  waitpid(kernel_, nullptr, 0);
  kernel_ = -1;
  leftover_processes(); // reaps them
  struct stat st;
  ASSERT_EQ(stat(dir_.c_str(), &st), -1);
  ASSERT_EQ(errno, ENOTCONN) << "not a dead mount";
  RunResult r = run(cmd({"/opt/gk/hello-musl"}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(mounted(dir_));
  EXPECT_EQ(stat(dir_.c_str(), &st), 0);
}

TEST_P(Export, BadDirectoryIsAClearError) {
  RunResult r = run(guest_cmd(GetParam(), {"--export", dir_ + "/none"}, {guest_program("hello-musl")}));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "guestkernel: --export " + dir_ + "/none: No such file or directory\n");
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(Backends, Export, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
