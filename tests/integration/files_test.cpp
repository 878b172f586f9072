// Files: locks and the kernel's own file-system errors, under each MMU
// backend; guest programs print the same as natively (both libcs).
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;

namespace {

class Files : public GuestTest {
protected:
  void same_as_native(const std::string& name, const std::vector<std::string>& args) {
    for (const std::string libc : {"musl", "glibc"}) {
      std::vector<std::string> argv = {guest_program(name + "-" + libc)};
      argv.insert(argv.end(), args.begin(), args.end());
      RunResult native = run(argv);
      ASSERT_EQ(native.status, 0) << name << "-" << libc << " fails natively:\n" << native.out << native.err;
      RunResult g = run(guest_cmd(GetParam(), {}, argv));
      EXPECT_EQ(g.status, 0) << name << "-" << libc << ":\n" << g.out << g.err;
      EXPECT_EQ(g.out, native.out) << name << "-" << libc << "\n" << g.err;
    }
  }
};

// timerfd: one-shot, periodic and absolute timers, poll/epoll, EINTR, fork.
TEST_P(Files, TimerfdAsNatively) { same_as_native("timerfdcheck", {}); }

// signalfd: kill, sigqueue, SIGCHLD, blocking reads, poll/epoll, mask changes.
TEST_P(Files, SignalfdAsNatively) { same_as_native("signalfdcheck", {}); }

} // namespace

// In the guest, /tmp is the guest's own tmpfs.
TEST_P(Files, FcntlRecordLocksAndFlockBetweenProcesses) { same_as_native("locks", {"/tmp"}); }

TEST_P(Files, AMissingRootfsIsAClearErrorAndNoGuestRuns) {
  RunResult g = run(guest_cmd(GetParam(), {"--rootfs=/nonexistent-gk-root"}, {"/bin/sh"}));
  EXPECT_EQ(g.status, 2);
  EXPECT_NE(g.err.find("cannot use /nonexistent-gk-root as the root file system: No such file or directory"),
            std::string::npos)
      << g.err;
}

TEST_P(Files, AProgramMissingFromTheRootfsGives127) {
  char dir[] = "/tmp/gk-emptyroot-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  RunResult g = run(guest_cmd(GetParam(), {std::string("--rootfs=") + dir}, {"/bin/sh"}));
  EXPECT_EQ(g.status, 127);
  EXPECT_NE(g.err.find("/bin/sh: No such file or directory"), std::string::npos) << g.err;
  rmdir(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, Files, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
