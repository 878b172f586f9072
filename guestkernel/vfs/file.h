// An open file description, as the syscall layer sees it. Data crosses in
// kernel buffers; the syscall layer does the user copies.
#pragma once
#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "guestkernel/sched/wait_queue.h"

namespace gk::mm {
class AddressSpace;
}

namespace gk::vfs {
struct Path;
}

namespace gk {

class Kernel;
struct Task;

// Who is doing the I/O: a file that must wait blocks this task.
struct IoCtx {
  Kernel& kernel;
  Task& task;
};

class File {
public:
  virtual ~File() = default;
  virtual int64_t read(IoCtx&, void*, size_t) { return -EINVAL; }
  virtual int64_t write(IoCtx&, const void*, size_t) { return -EINVAL; }
  // `arg` is a guest pointer or value; the file copies through `as`.
  virtual int64_t ioctl(mm::AddressSpace&, unsigned long, uint64_t) { return -ENOTTY; }
  // The ioctl syscall's entry: files whose ioctls depend on the caller (a
  // tty's job control) override this one; others get the plain ioctl.
  virtual int64_t ioctl_by(IoCtx&, mm::AddressSpace& as, unsigned long cmd, uint64_t arg) {
    return ioctl(as, cmd, arg);
  }
  virtual int64_t stat(struct stat&) { return -EINVAL; }
  virtual int64_t pread(void*, size_t, uint64_t) { return -ESPIPE; }
  virtual int64_t pwrite(const void*, size_t, uint64_t) { return -ESPIPE; }
  // Fills `buf` with linux_dirent64 records from the current position.
  virtual int64_t getdents64(uint8_t*, size_t) { return -ENOTDIR; }
  // Where the file was opened, for files that have a name in the VFS
  // (fchdir, fstat-by-path, *at dirfds, /proc/PID/fd); null for pipes etc.
  virtual const vfs::Path* path() const { return nullptr; }
  // Readiness for poll/select/epoll: the POLL* events now (regular files
  // are always ready, as on Linux), the queues that are woken when that may
  // change, and a counter that moves on every such change (for EPOLLET).
  virtual unsigned poll_events() { return 0x1 | 0x4 | 0x40 | 0x100; } // POLLIN|POLLOUT|RDNORM|WRNORM
  virtual void poll_queues(std::vector<WaitQueue*>&) {}
  virtual uint64_t poll_generation() { return 0; }
  // Readiness the kernel cannot be told about (a host fd): re-check often.
  virtual bool poll_by_polling() { return false; }
  // Reads return all that was asked for unless the data ends (as regular
  // files do; memory devices say so here), so a large read may be served
  // in several chunks; other files return what one chunk got.
  virtual bool fills_reads() const;
  virtual int64_t lseek(int64_t, int) { return -ESPIPE; }
  virtual std::string describe() const = 0;
  int flags = 0; // O_* status flags (O_APPEND, O_NONBLOCK, access mode)
};

// A process's file descriptor table.
class FdTable {
public:
  static constexpr int kMaxFds = 1024;
  std::shared_ptr<File> get(int fd) const {
    if (fd < 0 || size_t(fd) >= fds_.size()) return nullptr;
    return fds_[size_t(fd)].file;
  }
  // Lowest free fd >= min, or -EMFILE.
  int install(std::shared_ptr<File> f, int min = 0, bool cloexec = false);
  int install_at(int fd, std::shared_ptr<File> f, bool cloexec = false);
  int close(int fd);
  bool cloexec(int fd) const { return fd >= 0 && size_t(fd) < fds_.size() && fds_[size_t(fd)].cloexec; }
  void set_cloexec(int fd, bool on) {
    if (get(fd)) fds_[size_t(fd)].cloexec = on;
  }
  void close_on_exec();
  // Every open file, in fd order (for /proc/PID/fd and exit).
  std::vector<std::pair<int, std::shared_ptr<File>>> files() const {
    std::vector<std::pair<int, std::shared_ptr<File>>> v;
    for (size_t i = 0; i < fds_.size(); ++i)
      if (fds_[i].file) v.emplace_back(int(i), fds_[i].file);
    return v;
  }

private:
  struct Slot {
    std::shared_ptr<File> file;
    bool cloexec = false;
  };
  std::vector<Slot> fds_;
};

} // namespace gk
