#include "drivers/console.h"

#include <asm/ioctls.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "drivers/host_terminal.h"
#include "guestkernel/kernel.h"
#include "mm/address_space.h"

namespace gk::drivers {

// ---- passthrough: the kernel's stdin is not a terminal ----

// The kernel's stdin, read only when a guest reader asks (so input the
// guest never reads stays for whoever shares it). Readers that find
// nothing wait on `wait`, which the event loop wakes once the host fd is
// readable.
struct HostInput {
  HostInput(Kernel& k, int host_fd) : kernel(k), fd(host_fd) {}
  Kernel& kernel;
  int fd;
  bool watched = false;
  bool pollable = true; // false: epoll refuses it (a regular file): always ready
  WaitQueue wait;
  uint64_t generation = 0;

  void arm() {
    if (watched || !pollable) return;
    int r = kernel.watch_fd(fd, EPOLLIN, [this](uint32_t) {
      kernel.unwatch_fd(fd);
      watched = false;
      ++generation;
      wait.wake_all();
    });
    if (r == 0) watched = true;
    else pollable = false;
  }
};

namespace {

Kernel* g_kernel = nullptr; // the one kernel, set by attach_console

std::shared_ptr<HostInput> stdin_input() {
  static auto in = std::make_shared<HostInput>(*g_kernel, STDIN_FILENO);
  return in;
}

KernelTermios std_termios() {
  KernelTermios t{};
  t.c_iflag = 0400 /*ICRNL*/ | 02000 /*IXON*/;
  t.c_oflag = 01 /*OPOST*/ | 04 /*ONLCR*/;
  t.c_cflag = 017 /*B38400*/ | 060 /*CS8*/ | 0200 /*CREAD*/ | 02000 /*HUPCL*/;
  t.c_lflag = 01 /*ISIG*/ | 02 /*ICANON*/ | 010 /*ECHO*/ | 020 /*ECHOE*/ | 040 /*ECHOK*/ | 01000 /*ECHOCTL*/ |
              04000 /*ECHOKE*/ | 0100000 /*IEXTEN*/;
  static const uint8_t cc[19] = {3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0};
  memcpy(t.c_cc, cc, sizeof cc);
  return t;
}

bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

void write_all(int fd, const uint8_t* p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; // the terminal is gone: a hangup follows on the input side
    done += size_t(w);
  }
}

int64_t char_device_stat(struct stat& st) {
  st = {};
  st.st_dev = makedev(0, 6);
  st.st_ino = 5;
  st.st_mode = S_IFCHR | 0600;
  st.st_nlink = 1;
  st.st_rdev = makedev(5, 1); // /dev/console
  st.st_blksize = 1024;
  return 0;
}

} // namespace

Console::Console(int host_fd, bool readable)
    : host_fd_(host_fd), input_(readable ? stdin_input() : nullptr), is_tty_(isatty(host_fd)),
      termios_(std_termios()) {
  flags = input_ ? O_RDWR : O_WRONLY;
}

int64_t Console::read(IoCtx& io, void* buf, size_t n) {
  if (!input_) return -EBADF;
  for (;;) {
    if (!input_->pollable || readable_now(input_->fd)) {
      ssize_t r = ::read(input_->fd, buf, n);
      if (r >= 0) return r;
      if (errno != EINTR && errno != EAGAIN) return -EIO;
    }
    if (flags & O_NONBLOCK) return -EAGAIN;
    input_->arm();
    // An fd epoll refuses is re-tried after a while instead.
    int64_t deadline = input_->pollable ? -1 : int64_t(Kernel::now_ns() + 5'000'000);
    if (io.kernel.block(io.task, input_->pollable ? &input_->wait : nullptr, deadline, true) == WakeReason::Signal)
      return kErestartSys;
  }
}

int64_t Console::write(IoCtx&, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(host_fd_, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (done) break;
      return errno == EPIPE ? -EPIPE : -EIO;
    }
    done += size_t(w);
  }
  return int64_t(done);
}

// A host terminal that is not the console tty (stdout on a terminal while
// stdin is a pipe): it answers as a terminal, without a line discipline.
int64_t Console::ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) {
  if (!is_tty_) return -ENOTTY;
  switch (cmd) {
  case TCGETS:
    return as.copy_to_user(arg, &termios_, sizeof termios_) ? -EFAULT : 0;
  case TCSETS:
  case TCSETSW:
  case TCSETSF: {
    KernelTermios t;
    if (as.copy_from_user(&t, arg, sizeof t)) return -EFAULT;
    termios_ = t;
    return 0;
  }
  case TIOCGWINSZ: {
    struct winsize ws {};
    if (::ioctl(host_fd_, TIOCGWINSZ, &ws) != 0) ws = {24, 80, 0, 0};
    return as.copy_to_user(arg, &ws, sizeof ws) ? -EFAULT : 0;
  }
  default:
    return -ENOTTY;
  }
}

unsigned Console::poll_events() {
  pollfd p[2] = {{host_fd_, POLLOUT, 0}, {input_ ? input_->fd : -1, POLLIN, 0}};
  if (::poll(p, 2, 0) < 0) return POLLERR;
  unsigned ev = unsigned(p[0].revents | p[1].revents);
  return ev | ((ev & POLLIN) ? POLLRDNORM : 0u) | ((ev & POLLOUT) ? POLLWRNORM : 0u);
}

void Console::poll_queues(std::vector<WaitQueue*>& q) {
  if (!input_) return;
  input_->arm();
  q.push_back(&input_->wait);
}

uint64_t Console::poll_generation() { return input_ ? input_->generation : 0; }

int64_t Console::stat(struct stat& st) { return char_device_stat(st); }

// ---- the host terminal as the console tty ----

namespace {

// Feeds the host terminal's input to the tty and takes its output. Lives as
// long as the kernel.
class HostTerminal : public TtyDriver {
public:
  HostTerminal(Kernel& k, int in_fd, int out_fd) : kernel_(k), in_(in_fd), out_(out_fd) {
    tty = std::make_shared<Tty>(k, *this);
  }

  void start() {
    winsize ws;
    if (::ioctl(in_, TIOCGWINSZ, &ws) == 0) tty->resize(ws);
    watch_input();
    // The host's SIGWINCH arrives through the loop too.
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    sigprocmask(SIG_BLOCK, &winch, nullptr);
    winch_fd_ = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
    if (winch_fd_ >= 0) kernel_.watch_fd(winch_fd_, EPOLLIN, [this](uint32_t) { window_changed(); });
  }

  void stop() {
    if (watching_) kernel_.unwatch_fd(in_);
    watching_ = false;
    if (winch_fd_ >= 0) {
      kernel_.unwatch_fd(winch_fd_);
      close(winch_fd_);
      winch_fd_ = -1;
    }
  }

  void write(const uint8_t* p, size_t n) override { write_all(out_, p, n); }

  // The tty has room again: take what it refused, in the loop (not inside
  // the tty call that made the room).
  void unthrottle() override {
    kernel_.timers().add(Kernel::now_ns(), [this] {
      if (feed_pending()) watch_input();
    });
  }

  std::shared_ptr<Tty> tty;

private:
  void watch_input() {
    if (watching_ || hung_up_) return;
    watching_ = kernel_.watch_fd(in_, EPOLLIN, [this](uint32_t) { input_ready(); }) == 0;
  }

  void input_ready() {
    if (!readable_now(in_)) return; // someone else took it
    uint8_t buf[4096];
    ssize_t r = ::read(in_, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (r <= 0) { // EOF or EIO: the terminal is gone
      kernel_.unwatch_fd(in_);
      watching_ = false;
      hung_up_ = true;
      tty->hangup();
      return;
    }
    pending_.append(reinterpret_cast<char*>(buf), size_t(r));
    if (!feed_pending()) { // the tty is full: stop reading until it drains
      kernel_.unwatch_fd(in_);
      watching_ = false;
    }
  }

  // True when everything read so far has been taken.
  bool feed_pending() {
    size_t took = tty->receive(reinterpret_cast<const uint8_t*>(pending_.data()), pending_.size());
    pending_.erase(0, took);
    return pending_.empty();
  }

  void window_changed() {
    signalfd_siginfo si;
    while (::read(winch_fd_, &si, sizeof si) == sizeof si) {}
    winsize ws;
    if (::ioctl(in_, TIOCGWINSZ, &ws) == 0) tty->resize(ws);
  }

  Kernel& kernel_;
  int in_, out_;
  int winch_fd_ = -1;
  bool watching_ = false, hung_up_ = false;
  std::string pending_; // read from the host, not yet taken by the tty
};

HostTerminal* g_terminal = nullptr;

// fd is the same terminal device as the console's.
bool same_terminal(int fd, int console_fd) {
  struct stat a, b;
  return isatty(fd) && fstat(fd, &a) == 0 && fstat(console_fd, &b) == 0 && a.st_rdev == b.st_rdev;
}

} // namespace

void attach_console(Kernel& k, Process& init, bool ctty) {
  g_kernel = &k;
  FdTable& fds = *init.fds;
  if (isatty(STDIN_FILENO) && host_terminal::enter_raw(STDIN_FILENO)) {
    // Output goes to the first of stdout, stderr, stdin that is this terminal.
    int out = STDIN_FILENO;
    for (int fd : {STDOUT_FILENO, STDERR_FILENO})
      if (same_terminal(fd, STDIN_FILENO)) {
        out = fd;
        break;
      }
    g_terminal = new HostTerminal(k, STDIN_FILENO, out);
    g_terminal->start();
    std::shared_ptr<Tty> tty = g_terminal->tty;
    if (ctty) tty->set_ctty_of(init);
    // As if init had opened /dev/console (when the guest has one).
    vfs::Path node;
    struct stat st;
    if (!init.fs ||
        k.vfs().resolve(vfs::WalkCtx{*init.fs, init.creds}, init.fs->root, "/dev/console", vfs::kFollow, node) ||
        node.inode().getattr(st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 1))
      node = {};
    fds.install_at(0, std::make_shared<TtyFile>(tty, O_RDWR, node));
    for (int fd : {STDOUT_FILENO, STDERR_FILENO})
      fds.install_at(fd, same_terminal(fd, STDIN_FILENO)
                             ? std::shared_ptr<File>(std::make_shared<TtyFile>(tty, O_RDWR, node))
                             : std::make_shared<Console>(fd, false));
    return;
  }
  fds.install_at(0, std::make_shared<Console>(STDIN_FILENO, true));
  fds.install_at(1, std::make_shared<Console>(STDOUT_FILENO, false));
  fds.install_at(2, std::make_shared<Console>(STDERR_FILENO, false));
}

void detach_console() {
  if (g_terminal) g_terminal->stop();
  host_terminal::restore();
}

std::shared_ptr<File> console_file(Process& p, int open_flags, const vfs::Path& node, bool may_be_ctty) {
  if (g_terminal) {
    if (may_be_ctty) g_terminal->tty->opened_by(p, open_flags);
    return std::make_shared<TtyFile>(g_terminal->tty, open_flags & (O_ACCMODE | O_NONBLOCK | O_APPEND), node);
  }
  // Reads from the kernel's stdin, writes to its stdout.
  return std::make_shared<Console>(STDOUT_FILENO, (open_flags & O_ACCMODE) != O_WRONLY);
}

std::shared_ptr<File> controlling_tty_file(Process& p, int open_flags, const vfs::Path& node) {
  if (!p.ctty) return nullptr;
  return std::make_shared<TtyFile>(p.ctty, open_flags & (O_ACCMODE | O_NONBLOCK | O_APPEND), node);
}

} // namespace gk::drivers
