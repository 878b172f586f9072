// timerfd: a timer read as a file. A read returns how many times it has
// expired since the last read (or blocks until it has); poll and epoll see
// it readable then. Deadlines are kept on the kernel's monotonic timers; an
// absolute CLOCK_REALTIME/BOOTTIME time is converted when it is set (the
// guest cannot set the clock, so TFD_TIMER_CANCEL_ON_SET never cancels).
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>

#include "guestkernel/kernel.h"
#include "guestkernel/sched/clock.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

bool valid(const timespec& ts) { return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSec; }

// What the kernel's timer callback and the file share: the file may be
// closed with the timer still queued.
struct TimerState : std::enable_shared_from_this<TimerState> {
  TimerState(Kernel& k, int c) : kernel(k), clock(c) {}
  Kernel& kernel;
  int clock;
  uint64_t ticks = 0;       // expirations not read yet
  uint64_t deadline_ns = 0; // next expiry on CLOCK_MONOTONIC; 0: disarmed
  uint64_t interval_ns = 0;
  Timers::Id timer = 0;
  WaitQueue wait;
  uint64_t generation = 0;

  void changed() {
    ++generation;
    wait.wake_all();
  }
  void arm(uint64_t deadline) {
    deadline_ns = deadline;
    std::weak_ptr<TimerState> w = weak_from_this();
    timer = kernel.timers().add(deadline, [w] {
      if (auto s = w.lock()) s->expire();
    });
  }
  void disarm() {
    if (timer) kernel.timers().cancel(timer);
    timer = 0;
    deadline_ns = 0;
  }
  void expire() {
    timer = 0;
    uint64_t n = 1;
    if (interval_ns) { // a late expiry counts the periods it missed too
      n += (Kernel::now_ns() - deadline_ns) / interval_ns;
      arm(deadline_ns + n * interval_ns);
    } else {
      deadline_ns = 0;
    }
    ticks += n;
    changed();
  }
};

class TimerFd : public File {
public:
  TimerFd(Kernel& k, int clock) : state_(std::make_shared<TimerState>(k, clock)) { flags = O_RDWR; }
  ~TimerFd() override { state_->disarm(); }

  int64_t read(IoCtx& io, void* buf, size_t n) override {
    if (n < 8) return -EINVAL;
    while (state_->ticks == 0) {
      if (flags & O_NONBLOCK) return -EAGAIN;
      if (io.kernel.block(io.task, &state_->wait, -1, true) == WakeReason::Signal) return kErestartSys;
    }
    memcpy(buf, &state_->ticks, 8);
    state_->ticks = 0;
    state_->changed();
    return 8;
  }
  unsigned poll_events() override { return state_->ticks ? POLLIN | POLLRDNORM : 0u; }
  void poll_queues(std::vector<WaitQueue*>& q) override { q.push_back(&state_->wait); }
  uint64_t poll_generation() override { return state_->generation; }
  std::string describe() const override { return "anon_inode:[timerfd]"; }

  itimerspec get() const {
    itimerspec v{};
    if (state_->deadline_ns)
      v.it_value = ns_ts(std::max<int64_t>(1, int64_t(state_->deadline_ns) - int64_t(Kernel::now_ns())));
    v.it_interval = ns_ts(int64_t(state_->interval_ns));
    return v;
  }

  void set(const itimerspec& nv, bool absolute) {
    state_->disarm();
    state_->ticks = 0;
    state_->interval_ns = uint64_t(ts_ns(nv.it_interval));
    if (int64_t value = ts_ns(nv.it_value))
      state_->arm(uint64_t(std::max<int64_t>(monotonic_deadline(host_clock(), value, absolute), 1)));
    state_->changed();
  }

private:
  clockid_t host_clock() const {
    switch (state_->clock) {
    case CLOCK_REALTIME_ALARM: return CLOCK_REALTIME;
    case CLOCK_BOOTTIME_ALARM: return CLOCK_BOOTTIME;
    default: return clockid_t(state_->clock);
    }
  }
  std::shared_ptr<TimerState> state_;
};

int64_t sys_timerfd_create(SyscallCtx& c, const SyscallArgs& a) {
  int clock = int(a.a[0]), fl = int(a.a[1]);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME &&
      clock != CLOCK_REALTIME_ALARM && clock != CLOCK_BOOTTIME_ALARM)
    return -EINVAL;
  if (fl & ~(TFD_CLOEXEC | TFD_NONBLOCK)) return -EINVAL;
  if ((clock == CLOCK_REALTIME_ALARM || clock == CLOCK_BOOTTIME_ALARM) && c.proc().creds.euid != 0)
    return -EPERM; // CAP_WAKE_ALARM
  auto f = std::make_shared<TimerFd>(c.kernel, clock);
  if (fl & TFD_NONBLOCK) f->flags |= O_NONBLOCK;
  return c.proc().fds->install(f, 0, fl & TFD_CLOEXEC);
}

// The timerfd behind `fd`: -EBADF if none is open there, -EINVAL if it is another file.
int64_t timerfd_of(SyscallCtx& c, uint64_t fd, TimerFd*& out) {
  std::shared_ptr<File> f = c.proc().fds->get(int(fd));
  if (!f) return -EBADF;
  out = dynamic_cast<TimerFd*>(f.get());
  return out ? 0 : -EINVAL;
}

int64_t sys_timerfd_settime(SyscallCtx& c, const SyscallArgs& a) {
  itimerspec nv;
  if (c.mm().copy_from_user(&nv, a.a[2], sizeof nv)) return -EFAULT;
  if ((a.a[1] & ~uint64_t(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) || !valid(nv.it_value) ||
      !valid(nv.it_interval))
    return -EINVAL;
  TimerFd* t;
  if (int64_t r = timerfd_of(c, a.a[0], t)) return r;
  itimerspec old = t->get();
  t->set(nv, a.a[1] & TFD_TIMER_ABSTIME);
  return a.a[3] && c.mm().copy_to_user(a.a[3], &old, sizeof old) ? -EFAULT : 0;
}

int64_t sys_timerfd_gettime(SyscallCtx& c, const SyscallArgs& a) {
  TimerFd* t;
  if (int64_t r = timerfd_of(c, a.a[0], t)) return r;
  itimerspec v = t->get();
  return c.mm().copy_to_user(a.a[1], &v, sizeof v) ? -EFAULT : 0;
}

} // namespace

void register_timerfd_syscalls(SyscallTable& t) {
  t.add(SYS_timerfd_create, sys_timerfd_create, "dx");
  t.add(SYS_timerfd_settime, sys_timerfd_settime, "dxxx");
  t.add(SYS_timerfd_gettime, sys_timerfd_gettime, "dx");
}

} // namespace gk
