#include "drivers/console.h"

#include <asm/ioctls.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guestkernel/kernel.h"
#include "mm/address_space.h"

namespace gk::drivers {

Console::Console(int host_fd, bool readable) : host_fd_(host_fd), is_tty_(isatty(host_fd)) {
  flags = readable ? O_RDWR : O_WRONLY;
  // Linux's tty_std_termios.
  termios_ = {};
  termios_.c_iflag = 0400 /*ICRNL*/ | 02000 /*IXON*/;
  termios_.c_oflag = 01 /*OPOST*/ | 04 /*ONLCR*/;
  termios_.c_cflag = 017 /*B38400*/ | 060 /*CS8*/ | 0200 /*CREAD*/ | 02000 /*HUPCL*/;
  termios_.c_lflag = 01 /*ISIG*/ | 02 /*ICANON*/ | 010 /*ECHO*/ | 020 /*ECHOE*/ | 040 /*ECHOK*/ |
                     01000 /*ECHOCTL*/ | 04000 /*ECHOKE*/ | 0100000 /*IEXTEN*/;
  static const uint8_t cc[19] = {3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0};
  memcpy(termios_.c_cc, cc, sizeof cc);
}

// Until the tty line discipline lands, a reader polls the host fd and sleeps
// between polls, so it never stalls the kernel's event loop.
int64_t Console::read(IoCtx& io, void* buf, size_t n) {
  for (;;) {
    pollfd p{host_fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      ssize_t r = ::read(host_fd_, buf, n);
      if (r >= 0) return r;
      if (errno != EINTR && errno != EAGAIN) return -EIO;
    }
    if (io.kernel.block(io.task, nullptr, int64_t(Kernel::now_ns() + 5'000'000), true) == WakeReason::Signal)
      return -512; // ERESTARTSYS
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

int64_t Console::ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) {
  if (!is_tty_) return -ENOTTY;
  switch (cmd) {
  case TCGETS:
    return as.copy_to_user(arg, &termios_, sizeof termios_);
  case TCSETS:
  case TCSETSW:
  case TCSETSF: {
    KernelTermios t;
    if (int r = as.copy_from_user(&t, arg, sizeof t)) return r;
    termios_ = t;
    return 0;
  }
  case TIOCGWINSZ: {
    struct winsize ws {};
    if (::ioctl(host_fd_, TIOCGWINSZ, &ws) != 0) ws = {24, 80, 0, 0};
    return as.copy_to_user(arg, &ws, sizeof ws);
  }
  default:
    return -ENOTTY;
  }
}

} // namespace gk::drivers

namespace gk::drivers {

unsigned Console::poll_events() {
  pollfd p{host_fd_, short((flags & O_ACCMODE) == O_WRONLY ? POLLOUT : POLLIN | POLLOUT), 0};
  if (::poll(&p, 1, 0) < 0) return POLLERR;
  return unsigned(p.revents) | ((p.revents & POLLIN) ? POLLRDNORM : 0u) | ((p.revents & POLLOUT) ? POLLWRNORM : 0u);
}

// /dev/console: character device 5:1.
int64_t Console::stat(struct stat& st) {
  st = {};
  st.st_dev = makedev(0, 6);
  st.st_ino = 5;
  st.st_mode = S_IFCHR | 0600;
  st.st_nlink = 1;
  st.st_rdev = makedev(5, 1);
  st.st_blksize = 1024;
  return 0;
}

} // namespace gk::drivers
