// poll, ppoll, select, pselect6 over any File's readiness.
#include <poll.h>
#include <sys/select.h>
#include <sys/syscall.h>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"
#include "guestkernel/vfs/poll_wait.h"

namespace gk {

WakeReason wait_for_files(Kernel& k, Task& t, const std::vector<std::shared_ptr<File>>& files, int64_t deadline) {
  std::vector<WaitQueue*> queues;
  bool tick = false;
  for (const auto& f : files) {
    f->poll_queues(queues);
    tick = tick || f->poll_by_polling();
  }
  int64_t until = deadline;
  if (tick) {
    int64_t soon = int64_t(Kernel::now_ns()) + 5'000'000;
    if (until < 0 || soon < until) until = soon;
  }
  for (WaitQueue* q : queues) q->add(&t);
  WakeReason why = k.block(t, nullptr, until, true);
  for (WaitQueue* q : queues) q->remove(&t);
  if (why == WakeReason::Timeout && until != deadline) why = WakeReason::Woken; // only a re-check tick
  return why;
}

TemporarySigmask::TemporarySigmask(Task& t, const uint64_t* mask) : t_(t) {
  if (!mask) return;
  active_ = true;
  old_ = t.sigmask;
  t.sigmask = *mask & ~(sigbit(SIGKILL) | sigbit(SIGSTOP));
}

TemporarySigmask::~TemporarySigmask() {
  if (!active_) return;
  if (keep_) {
    t_.saved_sigmask = old_;
    t_.restore_sigmask = true;
  } else {
    t_.sigmask = old_;
  }
}

namespace {

constexpr int64_t kNs = 1000000000LL;

// A deadline from a relative timespec in user memory (NULL: none).
int64_t read_deadline(SyscallCtx& c, uint64_t uts, int64_t& deadline) {
  deadline = -1;
  if (!uts) return 0;
  timespec ts;
  if (c.mm().copy_from_user(&ts, uts, sizeof ts)) return -EFAULT;
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= kNs) return -EINVAL;
  deadline = int64_t(Kernel::now_ns()) + ts.tv_sec * kNs + ts.tv_nsec;
  return 0;
}

int64_t read_sigmask(SyscallCtx& c, uint64_t umask, uint64_t size, uint64_t& mask, const uint64_t*& use) {
  use = nullptr;
  if (!umask) return 0;
  if (size != 8) return -EINVAL;
  if (c.mm().copy_from_user(&mask, umask, 8)) return -EFAULT;
  use = &mask;
  return 0;
}

int64_t do_poll(SyscallCtx& c, uint64_t ufds, uint64_t nfds, int64_t deadline, const uint64_t* mask) {
  if (nfds > c.proc().rlimits[RLIMIT_NOFILE].rlim_cur) return -EINVAL;
  std::vector<pollfd> fds(nfds);
  if (nfds && c.mm().copy_from_user(fds.data(), ufds, nfds * sizeof(pollfd))) return -EFAULT;
  TemporarySigmask sm(c.task, mask);
  for (;;) {
    int ready = 0;
    std::vector<std::shared_ptr<File>> files;
    for (auto& p : fds) {
      p.revents = 0;
      if (p.fd < 0) continue;
      auto f = c.proc().fds->get(p.fd);
      if (!f) {
        p.revents = POLLNVAL;
      } else {
        p.revents = short(f->poll_events() & (unsigned(uint16_t(p.events)) | POLLERR | POLLHUP));
        files.push_back(f);
      }
      if (p.revents) ++ready;
    }
    bool expired = deadline >= 0 && int64_t(Kernel::now_ns()) >= deadline;
    if (ready || expired) {
      if (nfds && c.mm().copy_to_user(ufds, fds.data(), nfds * sizeof(pollfd))) return -EFAULT;
      return ready;
    }
    if (wait_for_files(c.kernel, c.task, files, deadline) == WakeReason::Signal) {
      sm.keep_for_handler();
      return kErestartNoHand;
    }
  }
}

int64_t sys_poll(SyscallCtx& c, const SyscallArgs& a) {
  int timeout = int(a.a[2]);
  int64_t deadline = timeout < 0 ? -1 : int64_t(Kernel::now_ns()) + int64_t(timeout) * 1000000;
  return do_poll(c, a.a[0], a.a[1], deadline, nullptr);
}

int64_t sys_ppoll(SyscallCtx& c, const SyscallArgs& a) {
  int64_t deadline;
  if (int64_t r = read_deadline(c, a.a[2], deadline)) return r;
  uint64_t mask;
  const uint64_t* use;
  if (int64_t r = read_sigmask(c, a.a[3], a.a[4], mask, use)) return r;
  return do_poll(c, a.a[0], a.a[1], deadline, use);
}

int64_t do_select(SyscallCtx& c, int nfds, uint64_t ur, uint64_t uw, uint64_t ue, int64_t deadline,
                  const uint64_t* mask) {
  if (nfds < 0 || nfds > FdTable::kMaxFds) return -EINVAL;
  size_t words = (size_t(nfds) + 63) / 64;
  std::vector<uint64_t> in[3], out[3];
  uint64_t uptr[3] = {ur, uw, ue};
  for (int k = 0; k < 3; ++k) {
    in[k].assign(words, 0);
    if (uptr[k] && words && c.mm().copy_from_user(in[k].data(), uptr[k], words * 8)) return -EFAULT;
    if (nfds % 64 && words) in[k].back() &= (1ULL << (nfds % 64)) - 1;
  }
  TemporarySigmask sm(c.task, mask);
  for (;;) {
    int ready = 0;
    std::vector<std::shared_ptr<File>> files;
    for (int k = 0; k < 3; ++k) out[k].assign(words, 0);
    for (int fd = 0; fd < nfds; ++fd) {
      uint64_t bit = 1ULL << (fd % 64);
      bool any = false;
      for (int k = 0; k < 3; ++k) any = any || (in[k][size_t(fd / 64)] & bit);
      if (!any) continue;
      auto f = c.proc().fds->get(fd);
      if (!f) return -EBADF;
      files.push_back(f);
      unsigned ev = f->poll_events();
      const unsigned want[3] = {POLLIN | POLLRDNORM | POLLHUP | POLLERR, POLLOUT | POLLWRNORM | POLLERR, POLLPRI};
      for (int k = 0; k < 3; ++k)
        if ((in[k][size_t(fd / 64)] & bit) && (ev & want[k])) {
          out[k][size_t(fd / 64)] |= bit;
          ++ready;
        }
    }
    bool expired = deadline >= 0 && int64_t(Kernel::now_ns()) >= deadline;
    if (ready || expired) {
      for (int k = 0; k < 3; ++k)
        if (uptr[k] && words && c.mm().copy_to_user(uptr[k], out[k].data(), words * 8)) return -EFAULT;
      return ready;
    }
    if (wait_for_files(c.kernel, c.task, files, deadline) == WakeReason::Signal) {
      sm.keep_for_handler();
      return kErestartNoHand;
    }
  }
}

int64_t sys_select(SyscallCtx& c, const SyscallArgs& a) {
  int64_t deadline = -1;
  if (a.a[4]) {
    timeval tv;
    if (c.mm().copy_from_user(&tv, a.a[4], sizeof tv)) return -EFAULT;
    if (tv.tv_sec < 0 || tv.tv_usec < 0) return -EINVAL;
    deadline = int64_t(Kernel::now_ns()) + tv.tv_sec * kNs + (tv.tv_usec % 1000000) * 1000 + (tv.tv_usec / 1000000) * kNs;
  }
  int64_t r = do_select(c, int(a.a[0]), a.a[1], a.a[2], a.a[3], deadline, nullptr);
  if (a.a[4] && r >= 0) { // Linux writes back the time left
    int64_t left = std::max<int64_t>(0, deadline - int64_t(Kernel::now_ns()));
    timeval tv{left / kNs, (left % kNs) / 1000};
    c.mm().copy_to_user(a.a[4], &tv, sizeof tv);
  }
  return r;
}

int64_t sys_pselect6(SyscallCtx& c, const SyscallArgs& a) {
  int64_t deadline;
  if (int64_t r = read_deadline(c, a.a[4], deadline)) return r;
  uint64_t mask = 0;
  const uint64_t* use = nullptr;
  if (a.a[5]) { // struct { const sigset_t* ss; size_t ss_len; }
    uint64_t pair[2];
    if (c.mm().copy_from_user(pair, a.a[5], sizeof pair)) return -EFAULT;
    if (int64_t r = read_sigmask(c, pair[0], pair[1], mask, use)) return r;
  }
  return do_select(c, int(a.a[0]), a.a[1], a.a[2], a.a[3], deadline, use);
}

} // namespace

void register_poll_syscalls(SyscallTable& t) {
  t.add(SYS_poll, sys_poll, "xud");
  t.add(SYS_ppoll, sys_ppoll, "xuxxu");
  t.add(SYS_select, sys_select, "dxxxx");
  t.add(SYS_pselect6, sys_pselect6, "dxxxxx");
}

} // namespace gk
