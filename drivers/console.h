// The console: the guest's view of the host terminal (or of whatever the
// kernel's stdin/stdout/stderr are, such as pipes in CI). The console keeps
// its own termios, as a tty driver does; the host terminal itself is only
// read for its window size.
#pragma once
#include <cstdint>

#include "guestkernel/vfs/file.h"

namespace gk::drivers {

// struct termios as the Linux ioctl ABI has it (not glibc's larger one).
struct KernelTermios {
  uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36);

class Console : public File {
public:
  // host_fd: the kernel's own descriptor this console reads or writes.
  Console(int host_fd, bool readable);
  int64_t read(IoCtx& io, void* buf, size_t n) override;
  int64_t write(IoCtx& io, const void* buf, size_t n) override;
  int64_t ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) override;
  int64_t stat(struct stat& st) override;
  unsigned poll_events() override;
  bool poll_by_polling() override { return true; }
  std::string describe() const override { return "console"; }

private:
  int host_fd_;
  bool is_tty_;
  KernelTermios termios_;
};

} // namespace gk::drivers
