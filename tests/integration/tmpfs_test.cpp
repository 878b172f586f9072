// tmpfs against Linux's own tmpfs, under each MMU backend: the tmpfs and fsat
// guest programs run natively in a directory of the host's /dev/shm (a
// tmpfs) and in the guest's /tmp (guestkernel's tmpfs, with --rootfs) must
// print the same: statfs, link counts and sizes, which times each operation
// changes, rename and rmdir rules, the *at calls. A size- and inode-limited
// tmpfs of the guest's own mount(2) fills up as one mounted natively (in a
// private mount namespace) does.
#include <sys/statfs.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;
namespace fs = std::filesystem;

namespace {

constexpr long kTmpfsMagic = 0x01021994;

class Tmpfs : public GuestTest {
protected:
  // A directory on the host's own tmpfs, or "" when there is none.
  std::string native_tmpfs_dir(const std::string& tag) {
    struct statfs sf;
    if (statfs("/dev/shm", &sf) || sf.f_type != kTmpfsMagic || access("/dev/shm", W_OK)) return "";
    return scratch_dir("tmpfs-" + tag, "/dev/shm");
  }

  // A root for --rootfs holding PROG as /PROG and empty /tmp and /mnt.
  std::string root_with(const std::string& prog) {
    std::string root = scratch_dir("tmpfs-root-" + prog);
    fs::create_directories(root + "/tmp");
    fs::create_directories(root + "/mnt");
    fs::copy_file(guest_program(prog), root + "/" + prog);
    return root;
  }

  void same_as_host_tmpfs(const std::string& name) {
    for (const std::string libc : {"musl", "glibc"}) {
      SCOPED_TRACE(name + "-" + libc);
      std::string prog = name + "-" + libc;
      std::string nd = native_tmpfs_dir(prog);
      if (nd.empty()) GTEST_SKIP() << "no tmpfs on the host's /dev/shm";
      RunResult n = run({guest_program(prog), nd});
      ASSERT_EQ(n.status, 0) << n.out << n.err;
      ASSERT_NE(n.out.find(": PASS\n"), std::string::npos) << n.out;
      RunResult g = run(guest_cmd(GetParam(), {"--rootfs", root_with(prog)}, {"/" + prog, "/tmp"}));
      EXPECT_EQ(g.status, 0) << g.err;
      EXPECT_EQ(g.out, n.out) << g.err;
    }
  }
};

} // namespace

TEST_P(Tmpfs, AnswersAsLinuxTmpfs) { same_as_host_tmpfs("tmpfs"); }

TEST_P(Tmpfs, AtCallsCwdAndMetadataRulesEqualLinuxTmpfs) { same_as_host_tmpfs("fsat"); }

TEST_P(Tmpfs, ASmallMountFillsUpWithEnospcAndSigbus) {
  const std::string expected =
      "ok - mount a tmpfs, size=64k\n"
      "f_type 1021994 blocks 16 free 16 files 8 mode 700\n"
      "ok - writing fills it up with ENOSPC (ENOSPC)\n"
      "pages written: 16\n"
      "ok - touching a hole of the full tmpfs through a mapping gives SIGBUS\n"
      "ok - the written pages are mapped\n"
      "ok - nr_inodes runs out with ENOSPC (ENOSPC)\n"
      "files made: 6\n"
      "ok - umount\n"
      "ok - a bad size\n"
      "ok - an unknown option\n"
      "tmpfs: PASS\n";
  for (const std::string libc : {"musl", "glibc"}) {
    SCOPED_TRACE(libc);
    std::string prog = "tmpfs-" + libc;
    RunResult g = run(guest_cmd(GetParam(), {"--rootfs", root_with(prog)}, {"/" + prog, "/mnt", "mount"}));
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, expected) << g.err;
    // Natively too, where a private mount namespace can be had.
    if (geteuid() == 0 && access("/usr/bin/unshare", X_OK) == 0) {
      std::string nd = scratch_dir("tmpfs-native-mnt-" + libc);
      RunResult n = run({"/usr/bin/unshare", "-m", "--propagation", "private", guest_program(prog), nd, "mount"});
      if (n.status == 0) {
        EXPECT_EQ(n.out, expected) << "natively";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Tmpfs, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
