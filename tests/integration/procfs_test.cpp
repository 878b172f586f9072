// The guest's /proc and /dev: the procfs program equals native (both
// libcs), and busybox's process and mount tools work on the guest's own
// figures, under each MMU backend.
#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;

namespace {

class Procfs : public GuestTest {
protected:
  // busybox (the host's static one) runs `script` with the standalone shell.
  RunResult busybox_sh(const std::string& script, std::vector<std::string> extra = {}) {
    return run(guest_cmd(GetParam(), extra, {"/usr/bin/busybox", "sh", "-c", script}));
  }
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_P(Procfs, ProgramEqualsNative) {
  for (const char* libc : {"musl", "glibc"}) {
    std::string prog = guest_program(std::string("procfs-") + libc);
    RunResult native = run({prog});
    ASSERT_EQ(native.status, 0) << libc << " natively:\n" << native.out << native.err;
    RunResult g = run(guest_cmd(GetParam(), {}, {prog}));
    EXPECT_EQ(g.status, 0) << libc << ":\n" << g.out << g.err;
    EXPECT_EQ(g.out, native.out) << libc << "\n" << g.err;
  }
}

TEST_P(Procfs, MemTotalIsTheGuestMemory) {
  RunResult g = busybox_sh("grep -E '^(MemTotal|SwapTotal):' /proc/meminfo", {"--mem=96M"});
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, "MemTotal:          98304 kB\nSwapTotal:             0 kB\n");
}

TEST_P(Procfs, MountsListTheGuestFileSystems) {
  RunResult g = busybox_sh("cat /proc/mounts; echo ---; cat /proc/filesystems; echo ---; mount");
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_TRUE(has(g.out, "\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n")) << g.out;
  EXPECT_TRUE(has(g.out, "\ndevtmpfs /dev devtmpfs rw,nosuid,relatime 0 0\n")) << g.out;
  EXPECT_TRUE(has(g.out, "nodev\tproc\n") && has(g.out, "nodev\tdevtmpfs\n")) << g.out;
  EXPECT_TRUE(has(g.out, "proc on /proc type proc (rw,nosuid,nodev,noexec,relatime)\n")) << g.out;
  // The default rootfs (read-only, with the overlay) also gets a tmpfs on /tmp.
  RunResult r = run(guest_cmd(GetParam(), {"--rootfs-ro", default_rootfs_dir()}, {"/bin/cat", "/proc/mounts"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n")) << r.out;
  EXPECT_TRUE(has(r.out, "\ndevtmpfs /dev devtmpfs rw,nosuid,relatime 0 0\n")) << r.out;
  EXPECT_TRUE(has(r.out, "\ntmpfs /tmp tmpfs rw,nosuid,relatime 0 0\n")) << r.out;
}

TEST_P(Procfs, BusyboxPsFreeUptimeTop) {
  RunResult g = busybox_sh("ps; free; uptime; top -bn1");
  ASSERT_EQ(g.status, 0) << g.out << g.err;
  EXPECT_TRUE(has(g.out, "PID   USER     COMMAND\n    1 root     /usr/bin/busybox sh -c ps; free;")) << g.out;
  EXPECT_TRUE(has(g.out, "{ps} /usr/bin/busybox sh -c")) << g.out; // a forked applet: comm differs from argv[0]
  EXPECT_TRUE(has(g.out, "              total        used        free      shared  buff/cache   available\n"
                         "Mem:         262144 "))
      << g.out;
  EXPECT_TRUE(has(g.out, " up 0 min,  0 users,  load average: ")) << g.out;
  EXPECT_TRUE(has(g.out, "\nCPU: ") && has(g.out, "  PID  PPID USER     STAT   VSZ %VSZ %CPU COMMAND\n")) << g.out;
}

TEST_P(Procfs, PidofPgrepKillall) {
  RunResult g = busybox_sh("sleep 10 & sleep 0.3; pidof sleep; pgrep -l sleep; killall sleep; wait $!; echo $?; "
                           "pidof sleep || echo none");
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, "2\n2 sleep\n143\nnone\n");
}

TEST_P(Procfs, DevicesFromTheShell) {
  RunResult g = busybox_sh("echo gone > /dev/null; head -c 4 /dev/zero | od -An -tx1; "
                           "echo x > /dev/full || echo full: $?; head -c 64 /dev/urandom | wc -c; "
                           "echo out > /dev/stdout; echo err > /dev/stderr; ls -l /proc/self/exe | sed 's/.*-> //'");
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, " 00 00 00 00\nfull: 1\n64\nout\n/usr/bin/busybox\n");
  EXPECT_TRUE(has(g.err, "write error: No space left on device")) << g.err;
  EXPECT_TRUE(has(g.err, "err\n")) << g.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, Procfs, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
