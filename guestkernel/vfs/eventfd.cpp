// eventfd: a 64-bit counter that reads and writes wake each other.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include <cstring>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

class EventFd : public File {
public:
  EventFd(uint64_t initial, bool semaphore) : count_(initial), semaphore_(semaphore) { flags = O_RDWR; }

  int64_t read(IoCtx& io, void* buf, size_t n) override {
    if (n < 8) return -EINVAL;
    while (count_ == 0) {
      if (flags & O_NONBLOCK) return -EAGAIN;
      if (io.kernel.block(io.task, &wait_, -1, true) == WakeReason::Signal) return kErestartSys;
    }
    uint64_t v = semaphore_ ? 1 : count_;
    count_ -= v;
    memcpy(buf, &v, 8);
    changed();
    return 8;
  }

  int64_t write(IoCtx& io, const void* buf, size_t n) override {
    if (n < 8) return -EINVAL;
    uint64_t v;
    memcpy(&v, buf, 8);
    if (v == UINT64_MAX) return -EINVAL;
    while (UINT64_MAX - 1 - count_ < v) {
      if (flags & O_NONBLOCK) return -EAGAIN;
      if (io.kernel.block(io.task, &wait_, -1, true) == WakeReason::Signal) return kErestartSys;
    }
    count_ += v;
    if (v) changed();
    return 8;
  }

  unsigned poll_events() override {
    return (count_ ? POLLIN | POLLRDNORM : 0u) | (count_ < UINT64_MAX - 1 ? POLLOUT | POLLWRNORM : 0u);
  }
  void poll_queues(std::vector<WaitQueue*>& q) override { q.push_back(&wait_); }
  uint64_t poll_generation() override { return generation_; }
  std::string describe() const override { return "anon_inode:[eventfd]"; }

private:
  void changed() {
    ++generation_;
    wait_.wake_all();
  }
  uint64_t count_;
  bool semaphore_;
  WaitQueue wait_;
  uint64_t generation_ = 0;
};

int64_t sys_eventfd2(SyscallCtx& c, const SyscallArgs& a) {
  int fl = int(a.a[1]);
  if (fl & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) return -EINVAL;
  auto f = std::make_shared<EventFd>(uint32_t(a.a[0]), fl & EFD_SEMAPHORE);
  if (fl & EFD_NONBLOCK) f->flags |= O_NONBLOCK;
  return c.proc().fds->install(f, 0, fl & EFD_CLOEXEC);
}

int64_t sys_eventfd(SyscallCtx& c, const SyscallArgs& a) {
  SyscallArgs b{SYS_eventfd2, {a.a[0], 0, 0, 0, 0, 0}};
  return sys_eventfd2(c, b);
}

} // namespace

void register_eventfd_syscalls(SyscallTable& t) {
  t.add(SYS_eventfd, sys_eventfd, "u");
  t.add(SYS_eventfd2, sys_eventfd2, "ux");
}

} // namespace gk
