#include "guestkernel/vfs/pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <algorithm>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

PipeEnd::PipeEnd(std::shared_ptr<Pipe> p, bool write_end) : pipe_(std::move(p)), write_end_(write_end) {
  flags = write_end ? O_WRONLY : O_RDONLY;
  (write_end ? pipe_->writers : pipe_->readers)++;
  (write_end ? pipe_->writer_opens : pipe_->reader_opens)++;
  pipe_->changed();
}

PipeEnd::~PipeEnd() {
  // The last writer gone means EOF for readers; the last reader, EPIPE.
  (write_end_ ? pipe_->writers : pipe_->readers)--;
  pipe_->changed();
}

unsigned PipeEnd::poll_events() {
  const Pipe& p = *pipe_;
  if (!write_end_) return (p.data.empty() ? 0u : POLLIN | POLLRDNORM) | (p.writers == 0 ? POLLHUP : 0u);
  return (Pipe::kCapacity - p.data.size() >= Pipe::kAtomic ? POLLOUT | POLLWRNORM : 0u) |
         (p.readers == 0 ? POLLERR : 0u);
}

int64_t PipeEnd::read(IoCtx& io, void* buf, size_t n) {
  if (write_end_) return -EBADF;
  Pipe& p = *pipe_;
  while (p.data.empty()) {
    if (p.writers == 0) return 0;
    if (flags & O_NONBLOCK) return -EAGAIN;
    if (io.kernel.block(io.task, &p.read_wait, -1, true) == WakeReason::Signal) return kErestartSys;
  }
  size_t take = std::min(n, p.data.size());
  std::copy_n(p.data.begin(), take, static_cast<uint8_t*>(buf));
  p.data.erase(p.data.begin(), p.data.begin() + long(take));
  p.changed();
  return int64_t(take);
}

int64_t PipeEnd::write(IoCtx& io, const void* buf, size_t n) {
  if (!write_end_) return -EBADF;
  Pipe& p = *pipe_;
  const uint8_t* in = static_cast<const uint8_t*>(buf);
  size_t done = 0;
  while (done < n) {
    if (p.readers == 0) {
      io.kernel.send_sigpipe(io.task);
      return done ? int64_t(done) : -EPIPE;
    }
    size_t room = Pipe::kCapacity - p.data.size();
    size_t want = n - done;
    // Writes up to PIPE_BUF go in whole or not at all.
    bool fits = n <= Pipe::kAtomic ? room >= want : room > 0;
    if (!fits) {
      if (flags & O_NONBLOCK) return done ? int64_t(done) : -EAGAIN;
      if (io.kernel.block(io.task, &p.write_wait, -1, true) == WakeReason::Signal)
        return done ? int64_t(done) : kErestartSys;
      continue;
    }
    size_t put = std::min(room, want);
    p.data.insert(p.data.end(), in + done, in + done + put);
    done += put;
    p.changed();
  }
  return int64_t(done);
}

int64_t PipeEnd::ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) {
  if (cmd != FIONREAD) return -ENOTTY;
  int n = int(pipe_->data.size());
  return as.copy_to_user(arg, &n, sizeof n) ? -EFAULT : 0;
}

int64_t PipeEnd::stat(struct stat& st) {
  st = {};
  st.st_mode = S_IFIFO | 0600;
  st.st_nlink = 1;
  st.st_blksize = 4096;
  st.st_ino = ino();
  return 0;
}

namespace {

int64_t sys_pipe2(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[1]);
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) return -EINVAL;
  auto p = std::make_shared<Pipe>();
  auto r = std::make_shared<PipeEnd>(p, false);
  auto w = std::make_shared<PipeEnd>(p, true);
  r->flags |= flags & O_NONBLOCK;
  w->flags |= flags & O_NONBLOCK;
  FdTable& fds = *c.proc().fds;
  int rfd = fds.install(r, 0, flags & O_CLOEXEC);
  if (rfd < 0) return rfd;
  int wfd = fds.install(w, 0, flags & O_CLOEXEC);
  if (wfd < 0) {
    fds.close(rfd);
    return wfd;
  }
  int32_t out[2] = {rfd, wfd};
  if (c.mm().copy_to_user(a.a[0], out, sizeof out)) {
    fds.close(rfd);
    fds.close(wfd);
    return -EFAULT;
  }
  return 0;
}

int64_t sys_pipe(SyscallCtx& c, const SyscallArgs& a) {
  SyscallArgs b{SYS_pipe2, {a.a[0], 0, 0, 0, 0, 0}};
  return sys_pipe2(c, b);
}

} // namespace

void register_pipe_syscalls(SyscallTable& t) {
  t.add(SYS_pipe, sys_pipe, "x");
  t.add(SYS_pipe2, sys_pipe2, "xx");
}

} // namespace gk
