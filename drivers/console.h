// The console: the guest's view of the kernel's stdin/stdout/stderr.
//
// When stdin is a terminal, the host terminal becomes the guest's console
// tty (drivers/tty.h): raw on the host while the kernel runs, with the
// guest's own line discipline, job control and window size (following the
// host's SIGWINCH). Otherwise (pipes, files, /dev/null, as in CI) bytes pass
// through unchanged, with no line discipline at all.
#pragma once
#include <cstdint>
#include <memory>

#include "drivers/tty.h"
#include "guestkernel/vfs/file.h"

namespace gk {
struct Process;
}

namespace gk::drivers {

struct HostInput;

// A passthrough console file over one of the kernel's own descriptors.
class Console : public File {
public:
  // host_fd: the kernel's descriptor this file writes; a `readable` one
  // reads the kernel's stdin (through the one HostInput all readers share).
  Console(int host_fd, bool readable);
  int64_t read(IoCtx& io, void* buf, size_t n) override;
  int64_t write(IoCtx& io, const void* buf, size_t n) override;
  int64_t ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) override;
  int64_t stat(struct stat& st) override;
  unsigned poll_events() override;
  void poll_queues(std::vector<WaitQueue*>& q) override;
  uint64_t poll_generation() override;
  // Output readiness of a host pipe cannot be waited for: re-check it.
  bool poll_by_polling() override { return !input_; }
  std::string describe() const override { return "/dev/console"; }

private:
  int host_fd_;
  std::shared_ptr<HostInput> input_; // null: write-only
  bool is_tty_;
  KernelTermios termios_; // what TCGETS/TCSETS see when the host fd is a terminal
};

// Gives the first process its console on fds 0, 1 and 2 (and, on a
// terminal and if `ctty`, the console tty as its controlling terminal: a
// program run as pid 1 gets job control; a booted init does not, as on
// Linux, where /dev/console is nobody's controlling terminal).
void attach_console(Kernel& k, Process& init, bool ctty);
// The kernel is done with the console: the host terminal is restored.
void detach_console();
// A new open of the console by p through the device node `node`: the tty, or
// a passthrough file. Opened as ttyS0 (`may_be_ctty`), it becomes the
// controlling terminal of a session leader that has none; as /dev/console
// never (Linux's rule: init's children find their terminal by its own name).
std::shared_ptr<File> console_file(Process& p, int open_flags, const vfs::Path& node, bool may_be_ctty);
// /dev/tty: p's controlling terminal, or null (ENXIO) if it has none.
std::shared_ptr<File> controlling_tty_file(Process& p, int open_flags, const vfs::Path& node = {});

} // namespace gk::drivers
