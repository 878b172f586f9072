// epoll: an interest list over other files' readiness, level- or
// edge-triggered, with one-shot entries.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include <map>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"
#include "guestkernel/vfs/poll_wait.h"

namespace gk {

namespace {

class Epoll : public File {
public:
  struct Entry {
    std::weak_ptr<File> file;
    uint32_t events;
    uint64_t data;
    bool disarmed = false;   // EPOLLONESHOT fired
    uint64_t seen_gen = ~0ULL; // EPOLLET: the file's generation last reported
  };
  // Linux keys an entry by (file, fd).
  std::map<std::pair<File*, int>, Entry> interest;

  Epoll() { flags = O_RDWR; }
  std::string describe() const override { return "anon_inode:[eventpoll]"; }

  // Ready events of one entry now (0: nothing to report).
  static uint32_t ready(Entry& e, File& f) {
    if (e.disarmed) return 0;
    uint32_t ev = f.poll_events() & (e.events | EPOLLERR | EPOLLHUP);
    if (ev && (e.events & EPOLLET) && f.poll_generation() == e.seen_gen) return 0;
    return ev;
  }

  unsigned poll_events() override {
    for (auto& [key, e] : interest)
      if (auto f = e.file.lock(); f && f.get() != this && ready(e, *f)) return POLLIN | POLLRDNORM;
    return 0;
  }
  void poll_queues(std::vector<WaitQueue*>& q) override {
    for (auto& [key, e] : interest)
      if (auto f = e.file.lock(); f && f.get() != this) f->poll_queues(q);
  }
};

std::shared_ptr<Epoll> epoll_of(SyscallCtx& c, uint64_t fd, int64_t& err) {
  auto f = c.proc().fds->get(int(fd));
  err = f ? -EINVAL : -EBADF;
  return std::dynamic_pointer_cast<Epoll>(f);
}

int64_t sys_epoll_create1(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[0] & ~uint64_t(EPOLL_CLOEXEC)) return -EINVAL;
  return c.proc().fds->install(std::make_shared<Epoll>(), 0, a.a[0] & EPOLL_CLOEXEC);
}

int64_t sys_epoll_create(SyscallCtx& c, const SyscallArgs& a) {
  if (int(a.a[0]) <= 0) return -EINVAL;
  return c.proc().fds->install(std::make_shared<Epoll>());
}

int64_t sys_epoll_ctl(SyscallCtx& c, const SyscallArgs& a) {
  int64_t err;
  auto ep = epoll_of(c, a.a[0], err);
  if (!ep) return err;
  int op = int(a.a[1]), fd = int(a.a[2]);
  auto f = c.proc().fds->get(fd);
  if (!f) return -EBADF;
  if (f == ep) return -EINVAL;
  epoll_event ev{};
  if (op != EPOLL_CTL_DEL && c.mm().copy_from_user(&ev, a.a[3], sizeof ev)) return -EFAULT;
  auto key = std::make_pair(f.get(), fd);
  auto it = ep->interest.find(key);
  switch (op) {
  case EPOLL_CTL_ADD:
    if (it != ep->interest.end()) return -EEXIST;
    ep->interest[key] = Epoll::Entry{f, ev.events, ev.data.u64};
    return 0;
  case EPOLL_CTL_MOD:
    if (it == ep->interest.end()) return -ENOENT;
    it->second = Epoll::Entry{f, ev.events, ev.data.u64};
    return 0;
  case EPOLL_CTL_DEL:
    if (it == ep->interest.end()) return -ENOENT;
    ep->interest.erase(it);
    return 0;
  default:
    return -EINVAL;
  }
}

int64_t do_epoll_wait(SyscallCtx& c, uint64_t epfd, uint64_t uevents, int maxevents, int timeout,
                      const uint64_t* mask) {
  int64_t err;
  auto ep = epoll_of(c, epfd, err);
  if (!ep) return err;
  if (maxevents <= 0 || size_t(maxevents) > INT32_MAX / sizeof(epoll_event)) return -EINVAL;
  int64_t deadline = timeout < 0 ? -1 : int64_t(Kernel::now_ns()) + int64_t(timeout) * 1000000;
  TemporarySigmask sm(c.task, mask);
  for (;;) {
    std::vector<epoll_event> out;
    std::vector<std::shared_ptr<File>> files;
    for (auto it = ep->interest.begin(); it != ep->interest.end() && int(out.size()) < maxevents;) {
      auto f = it->second.file.lock();
      if (!f) { // the file is gone everywhere: the entry goes with it
        it = ep->interest.erase(it);
        continue;
      }
      files.push_back(f);
      Epoll::Entry& e = it->second;
      if (uint32_t ev = Epoll::ready(e, *f)) {
        epoll_event x{};
        x.events = ev;
        x.data.u64 = e.data;
        out.push_back(x);
        if (e.events & EPOLLONESHOT) e.disarmed = true;
        e.seen_gen = f->poll_generation();
      }
      ++it;
    }
    bool expired = deadline >= 0 && int64_t(Kernel::now_ns()) >= deadline;
    if (!out.empty() || expired) {
      if (!out.empty() && c.mm().copy_to_user(uevents, out.data(), out.size() * sizeof(epoll_event))) return -EFAULT;
      return int64_t(out.size());
    }
    if (wait_for_files(c.kernel, c.task, files, deadline) == WakeReason::Signal) {
      sm.keep_for_handler();
      return -EINTR; // epoll_wait is never restarted
    }
  }
}

int64_t sys_epoll_wait(SyscallCtx& c, const SyscallArgs& a) {
  return do_epoll_wait(c, a.a[0], a.a[1], int(a.a[2]), int(a.a[3]), nullptr);
}

int64_t sys_epoll_pwait(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t mask = 0;
  const uint64_t* use = nullptr;
  if (a.a[4]) {
    if (a.a[5] != 8) return -EINVAL;
    if (c.mm().copy_from_user(&mask, a.a[4], 8)) return -EFAULT;
    use = &mask;
  }
  return do_epoll_wait(c, a.a[0], a.a[1], int(a.a[2]), int(a.a[3]), use);
}

} // namespace

void register_epoll_syscalls(SyscallTable& t) {
  t.add(SYS_epoll_create, sys_epoll_create, "d");
  t.add(SYS_epoll_create1, sys_epoll_create1, "x");
  t.add(SYS_epoll_ctl, sys_epoll_ctl, "dddx");
  t.add(SYS_epoll_wait, sys_epoll_wait, "dxdd");
  t.add(SYS_epoll_pwait, sys_epoll_pwait, "dxddxu");
}

} // namespace gk
