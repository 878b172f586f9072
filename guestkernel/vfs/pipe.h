// Pipes: a 64 KiB ring shared by a read end and a write end, with blocking,
// atomic writes up to PIPE_BUF, EOF when writers are gone and SIGPIPE/EPIPE
// when readers are.
#pragma once
#include <deque>
#include <memory>

#include "guestkernel/sched/wait_queue.h"
#include "guestkernel/vfs/file.h"

namespace gk {

struct Pipe {
  static constexpr size_t kCapacity = 65536;
  static constexpr size_t kAtomic = 4096; // PIPE_BUF
  std::deque<uint8_t> data;
  int readers = 0, writers = 0;
  WaitQueue read_wait, write_wait;
  uint64_t generation = 0; // moves on every change a poller may care about
  uint64_t reader_opens = 0, writer_opens = 0; // FIFO opens wait for the other side's
  void changed() {
    ++generation;
    read_wait.wake_all();
    write_wait.wake_all();
  }
};

class PipeEnd : public File {
public:
  PipeEnd(std::shared_ptr<Pipe> p, bool write_end);
  ~PipeEnd() override;
  int64_t read(IoCtx& io, void* buf, size_t n) override;
  int64_t write(IoCtx& io, const void* buf, size_t n) override;
  int64_t ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) override;
  int64_t stat(struct stat& st) override;
  unsigned poll_events() override;
  void poll_queues(std::vector<WaitQueue*>& q) override { q.push_back(write_end_ ? &pipe_->write_wait : &pipe_->read_wait); }
  uint64_t poll_generation() override { return pipe_->generation; }
  // "pipe:[N]", as /proc/PID/fd shows a pipe (N is its st_ino).
  std::string describe() const override { return "pipe:[" + std::to_string(ino()) + "]"; }

private:
  uint64_t ino() const { return uint64_t(reinterpret_cast<uintptr_t>(pipe_.get()) >> 4); }
  std::shared_ptr<Pipe> pipe_;
  bool write_end_;
};

} // namespace gk
