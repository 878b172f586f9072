// File-backed mmap and the page cache, under each MMU backend. The
// pagecache guest program (rootfs/programs/pagecache.c: shared mappings
// between processes, MAP_PRIVATE isolation, SIGBUS past EOF after truncate,
// mremap, mincore, msync, madvise, mmap errnos) prints the same in the guest
// as natively (both libcs), with its files
//  - on a writable hostfs (--rootfs DIR), where the host file must hold what
//    guest processes wrote through their mappings once the kernel is gone;
//  - on the guest's tmpfs /tmp (--rootfs DIR), which must leave nothing on
//    the host;
//  - in the overlay over the host's / (no --rootfs), which must not change
//    the host directory either.
// Also: exec maps a dynamic program and its libraries from the page cache.
//
// Scratch trees live next to the kernel binary, as rootfs_test's do.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class PageCache : public GuestTest {
protected:
  std::string dir(const std::string& tag) { return scratch_dir("pagecache-" + tag); }

  // The program run natively on a host directory: its output and result file.
  RunResult native(const std::string& libc, std::string& result) {
    std::string d = dir("native-" + libc);
    RunResult n = run({guest_program("pagecache-" + libc), d});
    result = slurp(d + "/pagecache.result");
    return n;
  }

  // A root file system holding the program in /bin and empty /data and /tmp.
  std::string make_root(const std::string& libc) {
    std::string root = dir("root-" + libc);
    fs::create_directories(root + "/bin");
    fs::create_directories(root + "/data");
    fs::create_directories(root + "/tmp");
    fs::copy_file(guest_program("pagecache-" + libc), root + "/bin/pagecache");
    return root;
  }
};

} // namespace

TEST_P(PageCache, OnAWritableHostfsTheHostFileHoldsWhatGuestsWrote) {
  for (const std::string libc : {"musl", "glibc"}) {
    SCOPED_TRACE(libc);
    std::string want;
    RunResult n = native(libc, want);
    ASSERT_EQ(n.status, 0) << n.out << n.err;
    ASSERT_EQ(want.size(), 3u * 4096);
    std::string root = make_root(libc);
    RunResult g = run(guest_cmd(GetParam(), {"--rootfs", root}, {"/bin/pagecache", "/data"}));
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, n.out) << g.err;
    // Written through a mapping by a process that exited: on the host now.
    EXPECT_TRUE(slurp(root + "/data/pagecache.result") == want) << "the host file differs from the native one";
    EXPECT_EQ(listing(root + "/data"), std::vector<std::string>{"pagecache.result"});
  }
}

TEST_P(PageCache, OnTheGuestsTmpfsNothingReachesTheHost) {
  for (const std::string libc : {"musl", "glibc"}) {
    SCOPED_TRACE(libc);
    std::string want;
    RunResult n = native(libc, want);
    ASSERT_EQ(n.status, 0) << n.out << n.err;
    std::string root = make_root(libc);
    RunResult g = run(guest_cmd(GetParam(), {"--rootfs", root}, {"/bin/pagecache", "/tmp"}));
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, n.out) << g.err;
    EXPECT_EQ(listing(root + "/tmp"), std::vector<std::string>{}); // it all lived in guest memory
  }
}

TEST_P(PageCache, InTheOverlayOverTheHostRootTheHostDirectoryStaysUnchanged) {
  for (const std::string libc : {"musl", "glibc"}) {
    SCOPED_TRACE(libc);
    std::string want;
    RunResult n = native(libc, want);
    ASSERT_EQ(n.status, 0) << n.out << n.err;
    std::string d = dir("overlay-" + libc);
    RunResult g = run(guest_cmd(GetParam(), {}, {guest_program("pagecache-" + libc), d}));
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, n.out) << g.err;
    EXPECT_EQ(listing(d), std::vector<std::string>{});
  }
}

TEST_P(PageCache, ExecMapsADynamicProgramAndItsLibrariesFromThePageCache) {
  std::string json = dir("stats") + "/stats.json";
  RunResult g = run(guest_cmd(GetParam(), {"--stats-json", json}, {guest_program("hello-dyn")}));
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, "Hello from a dynamic guest program!\n");
  auto j = nlohmann::json::parse(slurp(json));
  // Text, rodata and the libraries come from the cache; only the pages
  // relocations write get private copies.
  EXPECT_GT(j["faults"]["file"].get<uint64_t>(), 5u) << j["faults"].dump();
  EXPECT_GT(j["faults"]["file"].get<uint64_t>(), j["faults"]["cow_copy"].get<uint64_t>()) << j["faults"].dump();
}

INSTANTIATE_TEST_SUITE_P(Backends, PageCache, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
