// Processes, threads, signals and time: each guest program prints the same
// output in the guest as natively (both libcs), under each MMU backend.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;

namespace {

class Processes : public GuestTest {
protected:
  // Runs NAME-<libc> with args natively and in the guest; both must agree.
  void same_as_native(const std::string& name, std::vector<std::string> args = {},
                      std::vector<std::string> libcs = {"musl", "glibc"}) {
    for (const auto& libc : libcs) {
      std::string prog = guest_program(libc.empty() ? name : name + "-" + libc);
      for (auto& a : args)
        if (a == "@SELF") a = prog;
      std::vector<std::string> argv = {prog};
      argv.insert(argv.end(), args.begin(), args.end());
      RunResult native = run(argv);
      ASSERT_EQ(native.status, 0) << name << "-" << libc << " fails natively:\n" << native.out << native.err;
      RunResult g = run(guest_cmd(GetParam(), {}, argv));
      EXPECT_EQ(g.status, 0) << name << "-" << libc << ":\n" << g.out << g.err;
      EXPECT_EQ(g.out, native.out) << name << "-" << libc << "\n" << g.err;
    }
  }
};

std::string rootfs_file(const std::string& rel) { return std::string(GK_SOURCE) + "/" + rel; }

} // namespace

TEST_P(Processes, ForkTreeOfDepth3WithWaitStatuses) { same_as_native("forktree"); }
TEST_P(Processes, CopyOnWriteIsolatesParentAndChild) { same_as_native("cow"); }
TEST_P(Processes, VforkSuspendsTheParentUntilExec) {
  same_as_native("vforkexec", {guest_program("hello-musl"), rootfs_file("rootfs/programs/hello.c")});
}
TEST_P(Processes, VforkThenExecOfADynamicProgram) {
  same_as_native("vforkexec", {guest_program("hello-dyn"), rootfs_file("rootfs/programs/hello.c")});
}
TEST_P(Processes, ForkFromAThreadedProcessCopiesAFrozenImage) { same_as_native("mtfork"); }
TEST_P(Processes, ExecKeepsPidAndFdsAndResetsHandlers) { same_as_native("execchain", {"@SELF", "5"}); }
TEST_P(Processes, ExecOfADynamicProgramFromTheHostLib) { same_as_native("hello-dyn", {}, {""}); }
TEST_P(Processes, PthreadsMutexCondvarJoin) { same_as_native("threads"); }
TEST_P(Processes, FaultSignalsReachSiginfoHandlers) { same_as_native("sigsegv"); }
TEST_P(Processes, SignalMasksQueuesAndDefaultActions) { same_as_native("signals"); }
TEST_P(Processes, SigchldHandlerReapsChildren) { same_as_native("sigchld"); }
TEST_P(Processes, SigaltstackRunsHandlersOnTheAlternateStack) { same_as_native("altstack"); }
TEST_P(Processes, EintrVersusSaRestartOnABlockingRead) { same_as_native("eintr"); }
TEST_P(Processes, SleepsAlarmsAndTimers) { same_as_native("timers"); }
TEST_P(Processes, FutexOperations) { same_as_native("futex"); }
TEST_P(Processes, ASpinningThreadDoesNotStarveAnother) { same_as_native("spinfair"); }

// The guest is a one-node NUMA machine: compared with a host that is one too.
TEST_P(Processes, MemoryPolicyOnOneNumaNode) {
  std::ifstream possible("/sys/devices/system/node/possible");
  std::string nodes;
  if (!std::getline(possible, nodes) || nodes != "0")
    GTEST_SKIP() << "the host is not a one-node NUMA machine (nodes: '" << nodes << "'): nothing native to compare with";
  same_as_native("numacheck");
}
TEST_P(Processes, ProcessGroupsAndSessions) { same_as_native("pgrp"); }
TEST_P(Processes, PollSelectEpollAndEventfd) { same_as_native("pollwait"); }

TEST_P(Processes, ExecOfAHashBangScript) {
  std::string script = ::testing::TempDir() + "/gk-script-" + std::to_string(getpid()) + "-" + GetParam();
  {
    std::ofstream f(script);
    f << "#!" << guest_program("argecho-musl") << "  one argument \nnot read\n";
  }
  chmod(script.c_str(), 0755);
  RunResult native = run({script, "x", "y"});
  ASSERT_EQ(native.status, 0);
  RunResult g = run(guest_cmd(GetParam(), {}, {script, "x", "y"}));
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, native.out);
  EXPECT_EQ(g.out, "one argument\n" + script + "\nx\ny\n");
  unlink(script.c_str());
}

TEST_P(Processes, RandomSyscallArgumentsNeverCrashTheKernel) {
  // Guest only: the arguments are random. Children may kill themselves; the
  // kernel must answer every call and stay up.
  for (const std::string libc : {"musl", "glibc"}) {
    RunResult g = run(guest_cmd(GetParam(), {}, {guest_program("sysfuzz-" + libc), "25", "1500"}));
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, "sysfuzz: survived 25 rounds\n");
    EXPECT_EQ(g.err.find("internal error"), std::string::npos) << g.err;
  }
}

TEST_P(Processes, SysinfoReportsTheGuestsOwnMemory) {
  for (const std::string libc : {"musl", "glibc"}) {
    RunResult g = run(guest_cmd(GetParam(), {"--mem=96M"}, {guest_program("sysinfo_check-" + libc)}));
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, "totalram 96 MiB\nfree <= total: yes\nat least one process: yes\n");
  }
}

TEST_P(Processes, ForkBombIsStoppedByTheTaskLimit) {
  // Natively (as root) the program stops itself at LIMIT forks; in the guest
  // the task limit (512) comes first and fork fails with EAGAIN.
  RunResult g = run(guest_cmd(GetParam(), {}, {guest_program("forkbomb-musl"), "3000"}));
  EXPECT_EQ(g.status, 0) << g.out << g.err;
  EXPECT_NE(g.out.find("ok - fork failed with EAGAIN"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("forkbomb: PASS"), std::string::npos) << g.out;
  // The kernel is still up: the next guest runs normally.
  RunResult after = run(guest_cmd(GetParam(), {}, {guest_program("hello-musl")}));
  EXPECT_EQ(after.out, "Hello from a guest program!\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, Processes, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
