// A program on a pseudo-terminal, driven from the master side like a user
// at a keyboard (tests of the console: tty_test.cpp, boot_test.cpp).
#pragma once
#include <sys/types.h>
#include <termios.h>

#include <chrono>
#include <string>
#include <vector>

namespace gk::test {

// Control bytes shown, for failure messages.
std::string visible(const std::string& s);

// A program on a new pty, in a session of its own with the pty as its
// controlling terminal; the test holds the master (and keeps the slave
// open, so the terminal's settings outlive the program).
class PtyRun {
public:
  PtyRun(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  ~PtyRun();
  PtyRun(const PtyRun&) = delete;
  PtyRun& operator=(const PtyRun&) = delete;

  // Reads until `what` appears after what earlier expects consumed (true),
  // or until the timeout (false).
  bool expect(const std::string& what, int timeout_ms = 10000) { return expect_one_of({what}, timeout_ms) == 0; }
  // Which of `whats` appears first (its index), or -1 after the timeout.
  int expect_one_of(const std::vector<std::string>& whats, int timeout_ms);
  void send(const std::string& s);
  // The terminal's window changes size, as when the user resizes it.
  void resize(unsigned short rows, unsigned short cols);
  void drain(int ms);
  // The exit status as a shell shows it, or -1 if the program is still
  // running after timeout_ms (reading its output meanwhile, so it never
  // blocks on a full terminal).
  int wait_exit(int timeout_ms = 10000);
  bool termios_unchanged() const;
  pid_t pid() const { return pid_; }
  // Everything read, without the cursor-position queries busybox's line
  // editing sends (nobody answers them, natively or here).
  std::string transcript() const;
  const std::string& out() const { return out_; }
  size_t consumed() const { return pos_; } // how much of out() expect() has matched

private:
  static std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }
  bool read_some(std::chrono::steady_clock::time_point deadline);

  int master_ = -1, slave_ = -1;
  pid_t pid_ = -1;
  termios before_{};
  std::string out_;
  size_t pos_ = 0;
};

} // namespace gk::test
