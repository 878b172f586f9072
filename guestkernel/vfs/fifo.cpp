#include "guestkernel/vfs/fifo.h"

#include <fcntl.h>
#include <poll.h>

#include <map>

#include "guestkernel/kernel.h"
#include "guestkernel/vfs/pipe.h"

namespace gk::vfs {

namespace {

std::map<const Inode*, std::weak_ptr<Pipe>>& fifos() {
  static std::map<const Inode*, std::weak_ptr<Pipe>> m;
  return m;
}

// An open FIFO: one or both ends of the node's pipe, and the node's name.
class FifoFile : public File {
public:
  FifoFile(Path p, std::shared_ptr<PipeEnd> r, std::shared_ptr<PipeEnd> w, int f)
      : path_(std::move(p)), r_(std::move(r)), w_(std::move(w)) {
    flags = f;
  }
  ~FifoFile() override {
    auto& m = fifos();
    auto it = m.find(&path_.inode());
    r_.reset();
    w_.reset();
    if (it != m.end() && it->second.expired()) m.erase(it);
  }
  int64_t read(IoCtx& io, void* buf, size_t n) override { return r_ ? sync(*r_)->read(io, buf, n) : -EBADF; }
  int64_t write(IoCtx& io, const void* buf, size_t n) override { return w_ ? sync(*w_)->write(io, buf, n) : -EBADF; }
  int64_t ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) override {
    return (r_ ? r_ : w_)->ioctl(as, cmd, arg);
  }
  int64_t stat(struct stat& st) override { return path_.inode().getattr(st); }
  unsigned poll_events() override {
    return (r_ ? r_->poll_events() : 0u) | (w_ ? w_->poll_events() & ~unsigned(POLLHUP) : 0u);
  }
  void poll_queues(std::vector<WaitQueue*>& q) override {
    if (r_) r_->poll_queues(q);
    if (w_) w_->poll_queues(q);
  }
  uint64_t poll_generation() override { return (r_ ? r_ : w_)->poll_generation(); }
  const Path* path() const override { return &path_; }
  std::string describe() const override { return absolute_path(path_); }

private:
  // The end carries O_NONBLOCK from this file's flags (F_SETFL changes them).
  PipeEnd* sync(PipeEnd& e) {
    e.flags = (e.flags & ~O_NONBLOCK) | (flags & O_NONBLOCK);
    return &e;
  }
  Path path_;
  std::shared_ptr<PipeEnd> r_, w_;
};

} // namespace

int64_t open_fifo(IoCtx& io, const Path& node, int flags, std::shared_ptr<File>& out) {
  auto& slot = fifos()[&node.inode()];
  auto pipe = slot.lock();
  if (!pipe) slot = pipe = std::make_shared<Pipe>();
  int acc = flags & O_ACCMODE;
  bool nonblock = flags & O_NONBLOCK;
  if (acc == O_WRONLY && nonblock && pipe->readers == 0) return -ENXIO;
  uint64_t seen_readers = pipe->reader_opens, seen_writers = pipe->writer_opens;
  std::shared_ptr<PipeEnd> r, w;
  if (acc != O_WRONLY) r = std::make_shared<PipeEnd>(pipe, false);
  if (acc != O_RDONLY) w = std::make_shared<PipeEnd>(pipe, true);
  // One end alone waits until the other end has been opened (by anyone).
  if (!nonblock && acc == O_RDONLY)
    while (pipe->writers == 0 && pipe->writer_opens == seen_writers)
      if (io.kernel.block(io.task, &pipe->read_wait, -1, true) == WakeReason::Signal) return kErestartSys;
  if (!nonblock && acc == O_WRONLY)
    while (pipe->readers == 0 && pipe->reader_opens == seen_readers)
      if (io.kernel.block(io.task, &pipe->write_wait, -1, true) == WakeReason::Signal) return kErestartSys;
  out = std::make_shared<FifoFile>(node, std::move(r), std::move(w), flags);
  return 0;
}

} // namespace gk::vfs
