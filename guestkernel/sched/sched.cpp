// The event loop and the fibers: run queue, block/wake, host stops.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <boost/context/protected_fixedsize_stack.hpp>

#include "arch-um/tsc.h"
#include "guestkernel/kernel.h"

namespace gk {

namespace {
Kernel* g_kernel = nullptr;
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
    uint64_t due = m->slice_start_ns + kTimeSliceNs;
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

void Kernel::loop() {
  start_waiting();
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
    wait_for_host(now, wait_ns);
    if (int sig = take_host_signal()) host_signal(sig);
    timers_.run_expired(now_ns());
    shutdown_progress();
  }
  stop_waiting();
}

} // namespace gk
