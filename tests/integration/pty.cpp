#include "tests/integration/pty.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <thread>

namespace gk::test {

namespace {

int shell_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

std::vector<char*> cstrs(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

} // namespace

std::string visible(const std::string& s) {
  std::string v;
  for (unsigned char c : s) {
    if (c == '\n') v += "\\n\n";
    else if (c == '\r') v += "\\r";
    else if (c < 32 || c == 127) v += "\\x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
    else v += char(c);
  }
  return v;
}

PtyRun::PtyRun(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master_ < 0 || grantpt(master_) || unlockpt(master_)) throw std::runtime_error("posix_openpt");
  std::string name = ptsname(master_);
  slave_ = open(name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave_ < 0) throw std::runtime_error("open " + name);
  tcgetattr(slave_, &before_);
  auto a = cstrs(argv);
  auto e = cstrs(env);
  pid_ = fork();
  if (pid_ == 0) {
    setsid();
    int fd = open(name.c_str(), O_RDWR); // a session leader's first terminal: its controlling one
    if (fd < 0) _exit(126);
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2) close(fd);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
}

PtyRun::~PtyRun() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(master_);
  close(slave_);
}

int PtyRun::expect_one_of(const std::vector<std::string>& whats, int timeout_ms) {
  auto deadline = now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    size_t best = std::string::npos;
    int which = -1;
    for (size_t i = 0; i < whats.size(); ++i)
      if (size_t at = out_.find(whats[i], pos_); at < best) {
        best = at;
        which = int(i);
      }
    if (which >= 0) {
      pos_ = best + whats[size_t(which)].size();
      return which;
    }
    if (!read_some(deadline)) return -1;
  }
}

void PtyRun::send(const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    ssize_t w = write(master_, s.data() + done, s.size() - done);
    if (w <= 0) return;
    done += size_t(w);
  }
}

void PtyRun::resize(unsigned short rows, unsigned short cols) {
  winsize ws{rows, cols, 0, 0};
  ioctl(master_, TIOCSWINSZ, &ws);
}

void PtyRun::drain(int ms) {
  auto deadline = now() + std::chrono::milliseconds(ms);
  while (read_some(deadline)) {}
}

int PtyRun::wait_exit(int timeout_ms) {
  auto deadline = now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      drain(100);
      return shell_status(st);
    }
    if (now() > deadline) return -1;
    read_some(now() + std::chrono::milliseconds(20));
  }
}

bool PtyRun::termios_unchanged() const {
  termios t{};
  return tcgetattr(slave_, &t) == 0 && t.c_iflag == before_.c_iflag && t.c_oflag == before_.c_oflag &&
         t.c_cflag == before_.c_cflag && t.c_lflag == before_.c_lflag && t.c_line == before_.c_line &&
         !memcmp(t.c_cc, before_.c_cc, sizeof t.c_cc) && cfgetispeed(&t) == cfgetispeed(&before_) &&
         cfgetospeed(&t) == cfgetospeed(&before_);
}

std::string PtyRun::transcript() const {
  std::string s = out_;
  for (size_t at; (at = s.find("\x1b[6n")) != std::string::npos;) s.erase(at, 4);
  return s;
}

bool PtyRun::read_some(std::chrono::steady_clock::time_point deadline) {
  int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now()).count());
  if (left <= 0) return false;
  pollfd p{master_, POLLIN, 0};
  if (poll(&p, 1, left) <= 0) return false;
  char buf[4096];
  ssize_t n = read(master_, buf, sizeof buf);
  if (n <= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // EIO: nobody has the slave open
    return false;
  }
  out_.append(buf, size_t(n));
  return true;
}

} // namespace gk::test
