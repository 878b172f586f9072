// Boot mode: guestkernel without a program boots the default rootfs with
// busybox init, which mounts /proc, /tmp and /dev/shm and starts a login
// shell on the console. On a terminal (a pty driven like a keyboard) the
// shell has job control; poweroff, reboot and Ctrl-D end the guest as they
// would a machine; the host terminal gets its settings back; SIGTERM to the
// kernel shuts the guest down. Also: init= choices, init exiting, and what
// a root without an init gives.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"
#include "tests/integration/pty.h"

using namespace gk::test;

namespace {

const std::string kPrompt = "guestkernel:/# "; // /etc/profile's PS1 on the default rootfs

class Boot : public GuestTest {
protected:
  // guestkernel --mmu=B [extra...] with no program: boot mode on the default rootfs.
  std::vector<std::string> boot_cmd(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> v = {kernel_binary(), "--mmu=" + GetParam()};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  }
  // Runs `script` on a shell of the booted guest and returns the console output.
  RunResult boot_with_input(const std::string& script, const std::vector<std::string>& extra = {}) {
    RunOptions o;
    o.stdin_data = script;
    return run(boot_cmd(extra), o);
  }
};

// The boot log line, then the shell; what init mounted; the guest's identity.
TEST_P(Boot, InitMountsTheFileSystemsAndStartsAShell) {
  RunResult r = boot_with_input(
      "mount\nhostname\nuname -sr\ncat /proc/sys/kernel/osrelease\nls /dev/ttyS0 /dev/console\n"
      "test -t 0 || echo no-terminal\necho done\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("guestkernel: booted 6.1.0-guestkernel in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--mmu=" + GetParam() + " --trap=sysemu --mem=256M"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("running /sbin/init as init"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("devtmpfs on /dev type devtmpfs (rw,nosuid,relatime)\n"
                       "proc on /proc type proc (rw,nosuid,nodev,noexec,relatime)\n"
                       "tmpfs on /tmp type tmpfs (rw,nosuid,nodev,relatime)\n"
                       "tmpfs on /dev/shm type tmpfs (rw,nosuid,nodev,relatime)\n"
                       "guestkernel\nLinux 6.1.0-guestkernel\n6.1.0-guestkernel\n/dev/console\n/dev/ttyS0\n"
                       "no-terminal\ndone\n"),
            std::string::npos)
      << r.out;
  // End of input ends the shell, and the console script powers off.
  EXPECT_NE(r.err.find("guestkernel: reboot: Power down"), std::string::npos) << r.err;
}

TEST_P(Boot, HostnameOptionWinsOverEtcHostname) {
  RunResult r = boot_with_input("hostname\ncat /proc/sys/kernel/hostname\n", {"--hostname", "box7"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("box7\nbox7\n"), std::string::npos) << r.out;
}

TEST_P(Boot, QuietBootSaysNothingOfItsOwn) {
  RunResult r = boot_with_input("echo hi\n", {"--quiet"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("guestkernel: booted"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("guestkernel: reboot"), std::string::npos) << r.err;
}

// On a terminal: job control in the console shell, and `poweroff` gives the
// terminal back exactly as it was.
TEST_P(Boot, ConsoleShellHasJobControlAndPoweroffRestoresTheTerminal) {
  PtyRun r(boot_cmd(), default_guest_env());
  ASSERT_TRUE(r.expect(kPrompt)) << visible(r.out());
  EXPECT_FALSE(r.termios_unchanged()) << "the host side is raw while the guest runs";
  r.send("tty\r");
  EXPECT_TRUE(r.expect("tty\r\n/dev/ttyS0\r\n" + kPrompt)) << visible(r.out());
  r.send("sleep 100\r");
  r.drain(500);
  r.send("\x03");
  ASSERT_TRUE(r.expect("^C\r\n" + kPrompt, 5000)) << visible(r.out());
  r.send("echo $?\r");
  EXPECT_TRUE(r.expect("echo $?\r\n130\r\n" + kPrompt)) << visible(r.out());
  r.send("sleep 100\r");
  r.drain(500);
  r.send("\x1a");
  ASSERT_TRUE(r.expect("Stopped") && r.expect(kPrompt)) << visible(r.out());
  r.send("fg\r");
  ASSERT_TRUE(r.expect("fg\r\nsleep 100\r\n")) << visible(r.out());
  r.drain(300);
  r.send("\x03");
  ASSERT_TRUE(r.expect("^C\r\n" + kPrompt, 5000)) << visible(r.out());
  r.send("poweroff\r");
  EXPECT_TRUE(r.expect("The system is going down NOW!")) << visible(r.out());
  EXPECT_EQ(r.wait_exit(15000), 0) << visible(r.out());
  EXPECT_NE(r.out().find("reboot: Power down"), std::string::npos) << visible(r.out());
  EXPECT_TRUE(r.termios_unchanged()) << "the terminal's settings changed";
}

TEST_P(Boot, CtrlDInTheFirstShellPowersOff) {
  PtyRun r(boot_cmd(), default_guest_env());
  ASSERT_TRUE(r.expect(kPrompt)) << visible(r.out());
  r.send("\x04");
  EXPECT_EQ(r.wait_exit(15000), 0) << visible(r.out());
  EXPECT_NE(r.out().find("reboot: Power down"), std::string::npos) << visible(r.out());
  EXPECT_TRUE(r.termios_unchanged());
}

// reboot(2) RESTART boots the machine again; the second boot powers off.
TEST_P(Boot, RebootBootsAgain) {
  PtyRun r(boot_cmd(), default_guest_env());
  ASSERT_TRUE(r.expect(kPrompt)) << visible(r.out());
  r.send("echo first > /tmp/mark; reboot\r");
  ASSERT_TRUE(r.expect("reboot: Restarting system", 15000)) << visible(r.out());
  ASSERT_TRUE(r.expect("guestkernel: booted")) << visible(r.out());
  ASSERT_TRUE(r.expect(kPrompt)) << visible(r.out());
  // A new machine: the tmpfs is empty again.
  r.send("cat /tmp/mark || echo gone\r");
  EXPECT_TRUE(r.expect("gone\r\n" + kPrompt)) << visible(r.out());
  r.send("poweroff -f\r"); // -f: reboot(2) at once, without init's shutdown
  EXPECT_EQ(r.wait_exit(15000), 0) << visible(r.out());
  EXPECT_TRUE(r.termios_unchanged());
}

// SIGTERM from the host: every guest process hears SIGTERM (busybox init
// runs its shutdown), then whatever is left is killed; the terminal is
// restored and no host process stays.
TEST_P(Boot, SigtermToTheKernelShutsTheGuestDown) {
  PtyRun r(boot_cmd(), default_guest_env());
  ASSERT_TRUE(r.expect(kPrompt)) << visible(r.out());
  // A guest process that catches SIGTERM shows it was asked first.
  r.send("trap 'echo got-TERM > /dev/ttyS0; exit 0' TERM; (trap 'echo child-TERM; exit' TERM; sleep 1000 & wait) &\r");
  r.drain(500);
  auto t0 = std::chrono::steady_clock::now();
  kill(r.pid(), SIGTERM);
  EXPECT_EQ(r.wait_exit(15000), 128 + SIGTERM) << visible(r.out());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_NE(r.out().find("SIGTERM from the host: shutting the guest down"), std::string::npos) << visible(r.out());
  EXPECT_NE(r.out().find("child-TERM"), std::string::npos) << visible(r.out());
  EXPECT_TRUE(r.termios_unchanged());
}

// A program run as pid 1 (run mode) with SIGTERM from the host: it gets
// SIGTERM if it handles it; otherwise the kernel does not wait for it.
TEST_P(Boot, SigtermEndsARunModeProgramWithoutWaiting) {
  pid_t pid = start(guest_cmd(GetParam(), {}, {"/usr/bin/busybox", "sleep", "100"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM) << st;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2)) << "no grace period for nobody";
}

// init= (--init): the named program is pid 1; the kernel ends when it does, and says so.
TEST_P(Boot, InitExitingEndsTheKernelWithItsStatus) {
  RunResult r = boot_with_input("echo in-init; exit 3\n", {"--init", "/bin/sh"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "in-init\n");
  EXPECT_NE(r.err.find("running /bin/sh as init"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("guestkernel: init (pid 1, sh) exited with status 3; shutting down"), std::string::npos)
      << r.err;
}

TEST_P(Boot, ARootWithoutInitSaysWhatItTried) {
  std::string dir = std::filesystem::temp_directory_path() / ("gk-noinit-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir + "/dev");
  RunResult r = run(boot_cmd({"--rootfs", dir}));
  EXPECT_EQ(r.status, 127);
  EXPECT_NE(r.err.find("no working init found"), std::string::npos) << r.err;
  r = run(boot_cmd({"--rootfs", dir, "--init", "/nope"}));
  EXPECT_EQ(r.status, 127);
  EXPECT_NE(r.err.find("cannot run init /nope: No such file or directory"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
  // A program and --init together make no sense.
  r = run({kernel_binary(), "--init", "/bin/sh", "--", "/bin/true"});
  EXPECT_EQ(r.status, 2) << r.err;
}

// reboot(2)'s checks, from a guest program natively impossible to compare
// (natively it would reboot the host): errno for bad magic and for non-root.
TEST_P(Boot, RebootSyscallChecksItsArguments) {
  RunResult r = run(guest_cmd(GetParam(), {"--rootfs-ro", default_rootfs_dir()},
                              {"/opt/gk/rebootcheck-musl"}));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "bad magic: EINVAL\nbad magic2: EINVAL\nbad command: EINVAL\ncad on: 0\n"
                   "as uid 1000: EPERM\nsethostname as uid 1000: EPERM\nsethostname too long: EINVAL\n"
                   "sethostname: 0 name=abc\nsetdomainname: 0 domain=example\n");
}

// syslog(2): its errnos, reading all and reading what is unread (in part),
// clearing, a reader waiting for the next message or interrupted, and what
// a user other than root may do. Guest only: the host's own log differs.
TEST_P(Boot, SyslogSyscallReadsAndClearsTheKernelLog) {
  for (const std::string libc : {"musl", "glibc"}) {
    RunResult r = run(guest_cmd(GetParam(), {"--rootfs-ro", default_rootfs_dir()}, {"/opt/gk/klogcheck-" + libc}));
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "size buffer: 131072\nread all, NULL: EINVAL\nread all, negative length: EINVAL\n"
                     "read all, no length: 0\nread all, bad buffer: EFAULT\nread, NULL: EINVAL\nbad type: EINVAL\n"
                     "console level 0: EINVAL\nconsole level 9: EINVAL\nconsole level 7: 0\nopen: 0\nclose: 0\n"
                     "the log begins with the banner: 1\na short read all is the newest whole records: 1\n"
                     "read 3 of some unread: 3 \"<5>\", now unread 3 less\nthe rest: 1\nunread now: 0\n"
                     "clear: 0\nread all after it: 0\nafter an unimplemented syscall: <4> 1, named 1\n"
                     "read clear: 1\nread all after it: 0\na waiting reader gets the next message: 1\n"
                     "interrupted wait: EINTR\nas uid 1000: read all ok\nas uid 1000: size 131072\n"
                     "as uid 1000: read EPERM\nas uid 1000: clear EPERM\nas uid 1000: read clear EPERM\n"
                     "as uid 1000: size unread EPERM\nas uid 1000: console level EPERM\nas uid 1000: bad type EPERM\n")
        << libc;
  }
}

// dmesg in the booted guest: the log from the banner on, what the kernel
// said on the console, and `dmesg -n` keeping messages off the console.
TEST_P(Boot, DmesgShowsTheKernelLog) {
  RunResult r = boot_with_input("dmesg | sed 's/^\\[ *[0-9]*\\.[0-9]*\\] //'\n"
                                "dmesg -n 1\n/opt/gk/klogcheck-musl nosys 500 && echo ENOSYS\n"
                                "dmesg | grep -c 'unimplemented syscall unknown (500)'\n"
                                "dmesg -c >/dev/null\ndmesg | wc -l\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("Linux version 6.1.0-guestkernel (guestkernel@guestkernel)"), 0u) << r.out;
  EXPECT_NE(r.out.find("\nCommand line: " + kernel_binary() + " --mmu=" + GetParam() + "\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nbooted 6.1.0-guestkernel in "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nRun /sbin/init as init process\n"), std::string::npos) << r.out;
  // An unimplemented syscall is in the log but, below level 1, not on the
  // console; `dmesg -c` empties what dmesg shows.
  EXPECT_NE(r.out.find("\nENOSYS\n1\n0\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("unimplemented"), std::string::npos) << r.err;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(Backends, Boot, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
