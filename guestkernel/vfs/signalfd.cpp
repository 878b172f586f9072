// signalfd: signals read as a file. A read takes pending signals in the
// file's mask from the reading thread (its own queue, then its process's),
// whether or not they are blocked, as struct signalfd_siginfo records; it
// waits while there are none. Readiness, as on Linux, is that of whoever
// asks: the current thread's pending signals in the mask.
#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include <cstring>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

constexpr uint64_t kUnblockable = sigbit(SIGKILL) | sigbit(SIGSTOP);

// Linux's signalfd_copyinfo: which fields a siginfo fills depends on its layout.
signalfd_siginfo to_record(const siginfo_t& in) {
  signalfd_siginfo r;
  memset(&r, 0, sizeof r);
  r.ssi_signo = uint32_t(in.si_signo);
  r.ssi_errno = in.si_errno;
  r.ssi_code = in.si_code;
  int sig = in.si_signo, code = in.si_code;
  bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
  if (code == SI_TIMER) {
    r.ssi_tid = uint32_t(in.si_timerid);
    r.ssi_overrun = uint32_t(in.si_overrun);
    r.ssi_ptr = uint64_t(in.si_value.sival_ptr);
    r.ssi_int = in.si_value.sival_int;
  } else if (code == SI_QUEUE || code == SI_MESGQ || code == SI_ASYNCIO) {
    r.ssi_pid = uint32_t(in.si_pid);
    r.ssi_uid = in.si_uid;
    r.ssi_ptr = uint64_t(in.si_value.sival_ptr);
    r.ssi_int = in.si_value.sival_int;
  } else if (code > 0 && code != SI_KERNEL && sig == SIGCHLD) {
    r.ssi_pid = uint32_t(in.si_pid);
    r.ssi_uid = in.si_uid;
    r.ssi_status = in.si_status;
    r.ssi_utime = uint64_t(in.si_utime);
    r.ssi_stime = uint64_t(in.si_stime);
  } else if (code > 0 && code != SI_KERNEL && fault) {
    r.ssi_addr = uint64_t(in.si_addr);
  } else if (code > 0 && code != SI_KERNEL && sig == SIGPOLL) {
    r.ssi_band = uint32_t(in.si_band);
    r.ssi_fd = in.si_fd;
  } else {
    r.ssi_pid = uint32_t(in.si_pid);
    r.ssi_uid = in.si_uid;
  }
  return r;
}

class SignalFd : public File {
public:
  SignalFd(Kernel& k, Process& creator, uint64_t mask) : kernel_(k), creator_pid_(creator.pid), mask(mask) {
    flags = O_RDWR;
  }

  int64_t read(IoCtx& io, void* buf, size_t n) override {
    size_t want = n / sizeof(signalfd_siginfo);
    if (!want) return -EINVAL;
    Task& t = io.task;
    auto* out = static_cast<signalfd_siginfo*>(buf);
    size_t got = 0;
    for (;;) {
      siginfo_t info;
      while (got < want && kernel_.dequeue_signal(t, mask, info)) out[got++] = to_record(info);
      if (got) return int64_t(got * sizeof(signalfd_siginfo));
      if (flags & O_NONBLOCK) return -EAGAIN;
      if (io.kernel.block(t, &t.proc->signal_queued, -1, true) == WakeReason::Signal) return kErestartSys;
    }
  }

  unsigned poll_events() override {
    Task* t = kernel_.current();
    if (!t) return 0;
    uint64_t pending = t->pending.pending | t->proc->shared_pending.pending;
    return pending & mask ? POLLIN | POLLRDNORM : 0u;
  }
  void poll_queues(std::vector<WaitQueue*>& q) override {
    if (Process* p = poller()) q.push_back(&p->signal_queued);
  }
  uint64_t poll_generation() override {
    Process* p = poller();
    return (p ? p->signals_queued : 0) + mask_changes_;
  }
  std::string describe() const override { return "anon_inode:[signalfd]"; }

  void set_mask(uint64_t m) {
    mask = m;
    ++mask_changes_;
    if (Process* p = poller()) p->signal_queued.wake_all();
  }

private:
  Process* poller() const {
    Task* t = kernel_.current();
    return t ? t->proc : kernel_.find_process(creator_pid_);
  }

  Kernel& kernel_;
  int creator_pid_;
  uint64_t mask_changes_ = 0;

public:
  uint64_t mask;
};

int64_t sys_signalfd4(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[2] != 8) return -EINVAL;
  uint64_t mask;
  if (c.mm().copy_from_user(&mask, a.a[1], 8)) return -EFAULT;
  int fl = int(a.a[3]);
  if (fl & ~(SFD_CLOEXEC | SFD_NONBLOCK)) return -EINVAL;
  mask &= ~kUnblockable;
  int fd = int(a.a[0]);
  if (fd == -1) {
    auto f = std::make_shared<SignalFd>(c.kernel, c.proc(), mask);
    if (fl & SFD_NONBLOCK) f->flags |= O_NONBLOCK;
    return c.proc().fds->install(f, 0, fl & SFD_CLOEXEC);
  }
  std::shared_ptr<File> f = c.proc().fds->get(fd);
  if (!f) return -EBADF;
  auto* s = dynamic_cast<SignalFd*>(f.get());
  if (!s) return -EINVAL;
  s->set_mask(mask);
  return fd;
}

int64_t sys_signalfd(SyscallCtx& c, const SyscallArgs& a) {
  SyscallArgs b{SYS_signalfd4, {a.a[0], a.a[1], a.a[2], 0, 0, 0}};
  return sys_signalfd4(c, b);
}

} // namespace

void register_signalfd_syscalls(SyscallTable& t) {
  t.add(SYS_signalfd, sys_signalfd, "dxu");
  t.add(SYS_signalfd4, sys_signalfd4, "dxux");
}

} // namespace gk
