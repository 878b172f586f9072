// The event loop and the fibers: run queue, block/wake, host stops.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <boost/context/protected_fixedsize_stack.hpp>

#include "arch-um/tsc.h"
#include "guestkernel/kernel.h"

namespace gk {

namespace {
Kernel* g_kernel = nullptr;
constexpr uint64_t kTimeSliceNs = 10'000'000; // a thread may hog its child this long
constexpr size_t kKernelStack = 256 << 10;
} // namespace

void wake_waiter(Task* t) { g_kernel->wake(*t, WakeReason::Woken); }

void WaitQueue::wake_all() {
  auto w = std::move(waiters_);
  waiters_.clear();
  for (Task* t : w) wake_waiter(t);
}

int WaitQueue::wake(int n) {
  int done = 0;
  while (done < n && !waiters_.empty()) {
    Task* t = waiters_.front();
    waiters_.erase(waiters_.begin());
    wake_waiter(t);
    ++done;
  }
  return done;
}

uint64_t Kernel::now_ns() { return arch::monotonic_ns(); }

void Kernel::spawn_fiber(Task& t) {
  g_kernel = this;
  Task* tp = &t;
  t.fiber = boost::context::fiber(std::allocator_arg, boost::context::protected_fixedsize_stack(kKernelStack),
                                  [this, tp](boost::context::fiber&& loop) {
                                    tp->loop = std::move(loop);
                                    task_main(*tp);
                                    return std::move(tp->loop);
                                  });
  t.state = TaskState::Runnable;
  runq_.push_back(&t);
}

void Kernel::park(Task& t) { t.loop = std::move(t.loop).resume(); }

WakeReason Kernel::block(Task& t, WaitQueue* q, int64_t deadline_ns, bool interruptible) {
  if (interruptible && signal_pending(t)) return WakeReason::Signal;
  if (t.exiting) return WakeReason::Signal;
  t.state = TaskState::Blocked;
  t.blocked_on = q;
  t.interruptible = interruptible;
  t.wake_reason = WakeReason::None;
  if (q) q->add(&t);
  if (deadline_ns >= 0) {
    Task* tp = &t;
    t.block_timer = timers_.add(uint64_t(deadline_ns), [this, tp] { wake(*tp, WakeReason::Timeout); });
  }
  park(t);
  if (t.blocked_on) t.blocked_on->remove(&t);
  t.blocked_on = nullptr;
  if (t.block_timer) timers_.cancel(t.block_timer);
  t.block_timer = 0;
  return t.wake_reason;
}

void Kernel::wake(Task& t, WakeReason why) {
  if (t.state != TaskState::Blocked) return;
  t.wake_reason = why;
  t.state = TaskState::Runnable;
  runq_.push_back(&t);
}

void Kernel::yield(Task& t) {
  t.state = TaskState::Runnable;
  runq_.push_back(&t);
  park(t);
}

void Kernel::dispatch_host_stop(pid_t pid, int status) {
  auto it = by_host_pid_.find(pid);
  if (it == by_host_pid_.end()) return; // a child being torn down
  MmContext& m = *it->second;
  Task* t = m.owner;
  arch::Stop s = m.child->decode(status);
  if (!t || t->state != TaskState::InGuest) return; // nobody waits for it: stray interrupt
  t->stop = s;
  t->state = TaskState::Runnable;
  runq_.push_back(t);
}

// A thread waiting for a child that another thread has been running in for
// longer than a time slice gets it by interrupting the runner.
int64_t Kernel::preempt_check(uint64_t now) {
  int64_t next = -1;
  for (auto& [pid, m] : by_host_pid_) {
    if (m->child_free.empty() || !m->owner || m->owner->state != TaskState::InGuest || m->interrupt_sent)
      continue;
    uint64_t due = m->owner_since_ns + kTimeSliceNs;
    if (now >= due) {
      m->child->interrupt();
      m->interrupt_sent = true;
      ++stats_.preemptions;
    } else if (next < 0 || int64_t(due - now) < next) {
      next = int64_t(due - now);
    }
  }
  return next;
}

int Kernel::watch_fd(int fd, uint32_t events, std::function<void(uint32_t)> ready) {
  if (epoll_fd_ < 0) epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  bool known = fd_watchers_.count(fd);
  if (epoll_ctl(epoll_fd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) return -errno;
  fd_watchers_[fd] = std::move(ready);
  return 0;
}

void Kernel::unwatch_fd(int fd) {
  if (!fd_watchers_.erase(fd)) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void Kernel::loop() {
  // SIGCHLD: some child stopped. The termination signals (blocked since
  // main) are the host asking for a shutdown.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&sigs, sig);
  sigprocmask(SIG_BLOCK, &sigs, nullptr);
  sigchld_fd_ = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  if (epoll_fd_ < 0) epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = sigchld_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, sigchld_fd_, &ev);

  while (!shutdown_) {
    while (!runq_.empty() && !shutdown_) {
      Task* t = runq_.front();
      runq_.pop_front();
      if (t->state != TaskState::Runnable) continue;
      t->state = TaskState::Running;
      current_ = t;
      t->fiber = std::move(t->fiber).resume();
      current_ = nullptr;
      for (Task* d : dead_) destroy_task(d);
      dead_.clear();
    }
    if (shutdown_) break;
    uint64_t now = now_ns();
    timers_.run_expired(now);
    if (!runq_.empty()) continue;
    int64_t wait_ns = timers_.until_next(now);
    int64_t pre = preempt_check(now);
    if (pre >= 0 && (wait_ns < 0 || pre < wait_ns)) wait_ns = pre;
    int timeout_ms = wait_ns < 0 ? -1 : int((wait_ns + 999'999) / 1'000'000);
    epoll_event evs[8];
    int n = epoll_wait(epoll_fd_, evs, 8, timeout_ms);
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.fd == sigchld_fd_) {
        // Four standard signals, none of which queues: one read of room for
        // all of them drains the fd (reading until EAGAIN would cost every
        // guest syscall one more host syscall). A signal after it makes the
        // fd readable again; waitpid below finds every stopped child.
        signalfd_siginfo si[4];
        ssize_t got = read(sigchld_fd_, si, sizeof si);
        for (ssize_t k = 0; got > 0 && k < got / ssize_t(sizeof si[0]); ++k)
          if (si[k].ssi_signo != SIGCHLD) host_signal(int(si[k].ssi_signo));
      } else if (auto w = fd_watchers_.find(evs[i].data.fd); w != fd_watchers_.end()) {
        auto ready = w->second; // the callback may unwatch (and so destroy) itself
        ready(evs[i].events);
      }
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) dispatch_host_stop(pid, status);
    timers_.run_expired(now_ns());
    shutdown_progress();
  }
}

} // namespace gk
