#include "drivers/host_terminal.h"

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace gk::drivers::host_terminal {

namespace {

int g_fd = -1;
struct termios g_saved, g_raw;
volatile sig_atomic_t g_is_raw = 0;

// Signals whose default action ends the process.
constexpr int kFatal[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGABRT,   SIGBUS,  SIGFPE,    SIGUSR1,
                          SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,   SIGXCPU, SIGXFSZ,   SIGVTALRM,
                          SIGPROF, SIGIO,   SIGPWR,  SIGSYS,  SIGSTKFLT};

bool foreground() { return tcgetpgrp(g_fd) == getpgrp(); }

void apply_raw() {
  if (foreground() && tcsetattr(g_fd, TCSANOW, &g_raw) == 0) g_is_raw = 1;
}

// Restores the terminal, then dies of the signal as if nobody had caught it
// (SA_RESETHAND put the default back; SA_NODEFER lets raise() deliver it).
void on_fatal(int sig) {
  int saved = errno;
  restore();
  raise(sig);
  errno = saved;
}

// SIGTSTP: give the terminal back while stopped, take it again after.
void on_stop(int) {
  int saved = errno;
  bool was_raw = g_is_raw;
  restore();
  kill(getpid(), SIGSTOP);
  if (was_raw) apply_raw();
  errno = saved;
}

void install_handlers() {
  // Handlers run on their own stack: a fatal SIGSEGV may be a fiber's
  // stack overflow.
  static char altstack[64 << 10];
  stack_t ss{};
  ss.ss_sp = altstack;
  ss.ss_size = sizeof altstack;
  sigaltstack(&ss, nullptr);
  for (int sig : kFatal) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (old.sa_handler != SIG_DFL) continue; // ignored (nohup) or handled: not ours
    struct sigaction sa {};
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
  struct sigaction old {};
  sigaction(SIGTSTP, nullptr, &old);
  if (old.sa_handler == SIG_DFL) {
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTSTP, &sa, nullptr);
  }
}

ssize_t write_all(int fd, const char* p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return done ? ssize_t(done) : -1;
    done += size_t(w);
  }
  return ssize_t(done);
}

// stderr while the terminal is raw: "\n" becomes "\r\n", as OPOST|ONLCR
// would have made it, so the kernel's messages start at column 0.
ssize_t crlf_write(void*, const char* buf, size_t n) {
  if (!g_is_raw) return write_all(STDERR_FILENO, buf, n);
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (buf[i] != '\n') continue;
    if (write_all(STDERR_FILENO, buf + start, i - start) < 0 || write_all(STDERR_FILENO, "\r\n", 2) < 0)
      return -1;
    start = i + 1;
  }
  if (start < n && write_all(STDERR_FILENO, buf + start, n - start) < 0) return -1;
  return ssize_t(n);
}

void translate_stderr() {
  cookie_io_functions_t io{};
  io.write = crlf_write;
  FILE* f = fopencookie(nullptr, "w", io);
  if (!f) return;
  setvbuf(f, nullptr, _IONBF, 0);
  fflush(stderr);
  stderr = f;
}

} // namespace

bool enter_raw(int fd) {
  if (g_fd >= 0) return g_is_raw;
  g_fd = fd;
  if (!foreground() || tcgetattr(fd, &g_saved) != 0) {
    g_fd = -1;
    return false;
  }
  // cfmakeraw, keeping the character size and parity the terminal has.
  g_raw = g_saved;
  g_raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
  g_raw.c_oflag &= ~OPOST;
  g_raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  g_raw.c_cc[VMIN] = 1;
  g_raw.c_cc[VTIME] = 0;
  install_handlers();
  atexit(restore);
  apply_raw();
  if (!g_is_raw) return false;
  struct stat term, err;
  if (fstat(fd, &term) == 0 && fstat(STDERR_FILENO, &err) == 0 && S_ISCHR(err.st_mode) && err.st_rdev == term.st_rdev)
    translate_stderr();
  return true;
}

void restore() {
  if (!g_is_raw) return;
  g_is_raw = 0;
  // Even from the background (SIGTTOU would stop us halfway out).
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, &old);
  tcsetattr(g_fd, TCSANOW, &g_saved);
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

} // namespace gk::drivers::host_terminal
