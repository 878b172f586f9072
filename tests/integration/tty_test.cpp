// The console as a terminal: guestkernel on a pty (its stdin, stdout,
// stderr and controlling terminal), driven from the master side like a
// user at a keyboard, and compared with the same program run natively on a
// pty. Also: the host terminal's settings survive the kernel, and a stdin
// that is not a terminal still passes bytes through unchanged.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"
#include "tests/integration/pty.h"

using namespace gk::test;

namespace {

const std::vector<std::string> kShellEnv = {"HOME=/", "TERM=linux", "PATH=/sbin:/bin:/usr/sbin:/usr/bin", "PS1=P> "};

std::vector<std::string> guest_env_args() {
  std::vector<std::string> v;
  for (auto& e : kShellEnv) v.push_back("--env=" + e);
  return v;
}

class Tty : public GuestTest {
protected:
  std::vector<std::string> guest_shell() {
    return guest_cmd(GetParam(), guest_env_args(), {"/usr/bin/busybox", "sh", "-i"});
  }
};

// The interactive session the issue asks for, the same natively and in the
// guest; returns the transcript.
std::string shell_session(const std::vector<std::string>& argv, const std::string& who) {
  SCOPED_TRACE(who);
  PtyRun r(argv, kShellEnv);
  auto step = [&](bool ok, const char* what) {
    EXPECT_TRUE(ok) << what << "; so far:\n" << visible(r.out());
    return ok;
  };
  if (!step(r.expect("P> "), "first prompt")) return r.transcript();
  r.send("echo hi\r");
  if (!step(r.expect("echo hi\r\nhi\r\nP> "), "echo hi is echoed and runs")) return r.transcript();

  // Ctrl-C kills the foreground job at once; the shell sees SIGINT (130).
  r.send("busybox sleep 100\r");
  r.drain(500);
  auto t0 = std::chrono::steady_clock::now();
  r.send("\x03");
  if (!step(r.expect("^C\r\nP> ", 5000), "Ctrl-C ends sleep and the prompt returns")) return r.transcript();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  r.send("echo $?\r");
  if (!step(r.expect("echo $?\r\n130\r\nP> "), "$? after Ctrl-C is 130")) return r.transcript();

  // Ctrl-Z stops it, fg brings it back, Ctrl-C ends it.
  r.send("busybox sleep 100\r");
  r.drain(500);
  r.send("\x1a");
  if (!step(r.expect("Stopped") && r.expect("P> "), "Ctrl-Z stops sleep")) return r.transcript();
  r.send("fg\r");
  if (!step(r.expect("fg\r\nbusybox sleep 100\r\n"), "fg resumes it")) return r.transcript();
  r.drain(500);
  r.send("\x03");
  if (!step(r.expect("^C\r\nP> ", 5000), "Ctrl-C after fg")) return r.transcript();

  // Line editing: backspace.
  r.send("echo abX\x7f" "c\r");
  if (!step(r.expect("\r\nabc\r\nP> "), "backspace edits the line")) return r.transcript();

  // The terminal is resized: the guest's size follows (the host's SIGWINCH).
  // Not at once: busybox installs its SIGWINCH handler after the prompt.
  r.drain(300);
  r.resize(30, 100);
  r.drain(300);
  r.send("stty size\r");
  if (!step(r.expect("stty size\r\n30 100\r\n") && r.expect("P> "), "stty size after a resize")) return r.transcript();

  // Ctrl-D at an empty prompt ends the shell, and with it the kernel.
  r.send("\x04");
  EXPECT_EQ(r.wait_exit(), 0) << visible(r.out());
  EXPECT_TRUE(r.termios_unchanged()) << "the terminal's settings changed";
  return r.transcript();
}

} // namespace

TEST_P(Tty, BusyboxShellEditsLinesAndControlsJobsAsNatively) {
  std::string native = shell_session({"/usr/bin/busybox", "sh", "-i"}, "native");
  std::string guest = shell_session(guest_shell(), "guest");
  EXPECT_EQ(visible(guest), visible(native));
}

// ttyldisc asks for each input with a "<<NAME>>" marker.
TEST_P(Tty, LineDisciplineAndJobControlEqualNative) {
  const std::map<std::string, std::vector<std::string>> input = {
      {"erase", {"ab\x7f" "c\r"}}, {"kill", {"junk\x15ok\r"}}, {"werase", {"one two\x17three\r"}},
      {"eof", {"xy\x04"}}, {"eof0", {"\x04"}}, {"lnext", {"a\x16\x7f" "b\r"}}, {"short", {"hello\r"}},
      {"partial", {"abc"}}, {"enter", {"\r"}}, {"min3", {"12", "", "34"}}, {"interbyte", {"z"}},
      {"pollin", {"q"}}, {"flush", {"junk"}}, {"flush2", {"more"}}, {"icrnl", {"\r"}}, {"inlcr", {"\n"}},
      {"igncr", {"\rx"}}, {"intr", {"ab\x03"}}, {"noflsh", {"cd\x1c"}}, {"susp", {"\x1a"}}};
  auto session = [&](const std::vector<std::string>& argv) {
    PtyRun r(argv, default_guest_env());
    for (;;) {
      if (r.expect_one_of({"<<", "ttyldisc: PASS", "ttyldisc: FAIL"}, 20000) != 0) break; // a marker, or the end
      size_t name_at = r.consumed();
      if (!r.expect(">>", 5000)) break;
      auto it = input.find(r.out().substr(name_at, r.consumed() - 2 - name_at));
      if (it == input.end()) break;
      for (const auto& s : it->second) {
        if (s.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(300)); // "" is a pause
        else r.send(s);
      }
    }
    int status = r.wait_exit(20000);
    EXPECT_TRUE(r.termios_unchanged());
    return std::make_pair(status, r.transcript());
  };
  for (const std::string libc : {"musl", "glibc"}) {
    SCOPED_TRACE(libc);
    std::string prog = guest_program("ttyldisc-" + libc);
    auto native = session({prog});
    ASSERT_EQ(native.first, 0) << "fails natively:\n" << visible(native.second);
    auto guest = session(guest_cmd(GetParam(), {}, {prog}));
    EXPECT_EQ(guest.first, 0);
    EXPECT_EQ(visible(guest.second), visible(native.second));
  }
}

TEST_P(Tty, TheTerminalIsRestoredWhenTheKernelIsKilled) {
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    PtyRun r(guest_shell(), kShellEnv);
    ASSERT_TRUE(r.expect("P> ")) << visible(r.out());
    EXPECT_FALSE(r.termios_unchanged()) << "raw while the guest runs";
    kill(r.pid(), sig);
    EXPECT_EQ(r.wait_exit(), 128 + sig);
    EXPECT_TRUE(r.termios_unchanged()) << "signal " << sig;
  }
}

TEST_P(Tty, StdinThatIsNotATerminalPassesBytesThrough) {
  RunOptions o;
  o.stdin_data = "hello\n";
  RunResult r = run(guest_cmd(GetParam(), {}, {"/usr/bin/busybox", "cat"}), o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  // No line discipline: control characters and CRs arrive as sent.
  o.stdin_data = std::string("a\x7f" "b\x03\x04\r\n\x1a", 8);
  r = run(guest_cmd(GetParam(), {}, {"/usr/bin/busybox", "cat"}), o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, o.stdin_data);
  // The guest still sees no terminal on it.
  r = run(guest_cmd(GetParam(), {}, {"/usr/bin/busybox", "sh", "-c", "test -t 0 && echo tty || echo notty"}));
  EXPECT_EQ(r.out, "notty\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, Tty, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
