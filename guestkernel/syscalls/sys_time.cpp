// Clocks, sleeps and timers. The guest's wall and monotonic clocks are the
// host's; a process's CPU clock is its host child's. Sleeps and timers are
// kernel timers served by the event loop.
#include <sched.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>

#include "guestkernel/kernel.h"
#include "guestkernel/sched/clock.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

constexpr int64_t kNs = kNsPerSec;

// The host clock that answers for a guest clock id, or -EINVAL.
int64_t host_clock(SyscallCtx& c, uint64_t id, clockid_t& out) {
  switch (int(id)) {
  case CLOCK_REALTIME:
  case CLOCK_MONOTONIC:
  case CLOCK_MONOTONIC_RAW:
  case CLOCK_REALTIME_COARSE:
  case CLOCK_MONOTONIC_COARSE:
  case CLOCK_BOOTTIME:
  case CLOCK_TAI:
    out = clockid_t(id);
    return 0;
  case CLOCK_PROCESS_CPUTIME_ID:
  case CLOCK_THREAD_CPUTIME_ID:
    return clock_getcpuclockid(c.task.mm->child->pid(), &out) ? -EINVAL : 0;
  default:
    return -EINVAL;
  }
}


int64_t read_ts(SyscallCtx& c, uint64_t p, int64_t& ns) {
  timespec ts;
  if (c.mm().copy_from_user(&ts, p, sizeof ts)) return -EFAULT;
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= kNs) return -EINVAL;
  ns = ts_ns(ts);
  return 0;
}

int64_t cpu_ns(SyscallCtx& c) { return int64_t(c.task.mm->child->cpu_ns()); }

int64_t sys_clock_gettime(SyscallCtx& c, const SyscallArgs& a) {
  clockid_t id;
  if (int64_t r = host_clock(c, a.a[0], id)) return r;
  timespec ts;
  if (clock_gettime(id, &ts)) return -EINVAL;
  return c.mm().copy_to_user(a.a[1], &ts, sizeof ts) ? -EFAULT : 0;
}

int64_t sys_clock_getres(SyscallCtx& c, const SyscallArgs& a) {
  clockid_t id;
  if (int64_t r = host_clock(c, a.a[0], id)) return r;
  timespec ts;
  if (clock_getres(id, &ts)) return -EINVAL;
  if (a.a[1] && c.mm().copy_to_user(a.a[1], &ts, sizeof ts)) return -EFAULT;
  return 0;
}

int64_t sys_gettimeofday(SyscallCtx& c, const SyscallArgs& a) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  if (a.a[0] && c.mm().copy_to_user(a.a[0], &tv, sizeof tv)) return -EFAULT;
  if (a.a[1]) {
    struct timezone tz {0, 0};
    if (c.mm().copy_to_user(a.a[1], &tz, sizeof tz)) return -EFAULT;
  }
  return 0;
}

int64_t sys_time(SyscallCtx& c, const SyscallArgs& a) {
  int64_t t = ::time(nullptr);
  if (a.a[0] && c.mm().copy_to_user(a.a[0], &t, sizeof t)) return -EFAULT;
  return t;
}

// Sleeps until `deadline` (monotonic ns). On a signal, writes the time left
// to `rem` (if any) and asks for a restart or EINTR.
int64_t sleep_until(SyscallCtx& c, int64_t deadline, uint64_t rem) {
  WakeReason why;
  do why = c.kernel.block(c.task, nullptr, deadline, true);
  while (why == WakeReason::Woken);
  if (why == WakeReason::Timeout) return 0;
  if (rem) {
    timespec left = ns_ts(std::max<int64_t>(0, deadline - int64_t(Kernel::now_ns())));
    if (c.mm().copy_to_user(rem, &left, sizeof left)) return -EFAULT;
  }
  return kErestartRestartBlock;
}

int64_t sys_nanosleep(SyscallCtx& c, const SyscallArgs& a) {
  int64_t ns;
  if (int64_t r = read_ts(c, a.a[0], ns)) return r;
  return sleep_until(c, int64_t(Kernel::now_ns()) + ns, a.a[1]);
}

int64_t sys_clock_nanosleep(SyscallCtx& c, const SyscallArgs& a) {
  clockid_t id;
  if (int64_t r = host_clock(c, a.a[0], id)) return r;
  if (a.a[0] == CLOCK_THREAD_CPUTIME_ID) return -EINVAL;
  int64_t ns;
  if (int64_t r = read_ts(c, a.a[2], ns)) return r;
  if (a.a[1] & TIMER_ABSTIME)
    return sleep_until(c, monotonic_deadline(id, ns, true), 0) == kErestartRestartBlock ? kErestartNoHand : 0;
  return sleep_until(c, monotonic_deadline(id, ns, false), a.a[3]);
}

// ITIMER_REAL: SIGALRM to the process, re-armed by its interval.
void arm_itimer_real(Kernel& k, Process& p, int64_t value_ns, int64_t interval_ns) {
  if (p.itimer_real) k.timers().cancel(p.itimer_real);
  p.itimer_real = 0;
  p.itimer_real_interval_ns = uint64_t(interval_ns);
  p.itimer_real_deadline_ns = 0;
  if (value_ns <= 0) return;
  p.itimer_real_deadline_ns = Kernel::now_ns() + uint64_t(value_ns);
  Process* pp = &p;
  p.itimer_real = k.timers().add(p.itimer_real_deadline_ns, [&k, pp] {
    pp->itimer_real = 0;
    siginfo_t info{};
    info.si_signo = SIGALRM;
    info.si_code = SI_KERNEL;
    k.send_signal(*pp, info);
    if (pp->itimer_real_interval_ns) arm_itimer_real(k, *pp, int64_t(pp->itimer_real_interval_ns), int64_t(pp->itimer_real_interval_ns));
  });
}

itimerval get_itimer_real(Process& p) {
  itimerval v{};
  if (p.itimer_real) {
    int64_t left = std::max<int64_t>(1000, int64_t(p.itimer_real_deadline_ns) - int64_t(Kernel::now_ns()));
    v.it_value = {left / kNs, (left % kNs) / 1000};
  }
  v.it_interval = {int64_t(p.itimer_real_interval_ns) / kNs, (int64_t(p.itimer_real_interval_ns) % kNs) / 1000};
  return v;
}

int64_t sys_setitimer(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[0] != ITIMER_REAL && a.a[0] != ITIMER_VIRTUAL && a.a[0] != ITIMER_PROF) return -EINVAL;
  itimerval nv{};
  if (a.a[1] && c.mm().copy_from_user(&nv, a.a[1], sizeof nv)) return -EFAULT;
  if (nv.it_value.tv_usec < 0 || nv.it_value.tv_usec >= 1000000 || nv.it_interval.tv_usec < 0 ||
      nv.it_interval.tv_usec >= 1000000)
    return -EINVAL;
  if (a.a[0] != ITIMER_REAL) return -EINVAL; // CPU-time itimers are not implemented
  itimerval old = get_itimer_real(c.proc());
  auto us = [](const timeval& tv) { return int64_t(tv.tv_sec) * kNs + int64_t(tv.tv_usec) * 1000; };
  if (a.a[1]) arm_itimer_real(c.kernel, c.proc(), us(nv.it_value), us(nv.it_interval));
  if (a.a[2] && c.mm().copy_to_user(a.a[2], &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_getitimer(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[0] != ITIMER_REAL && a.a[0] != ITIMER_VIRTUAL && a.a[0] != ITIMER_PROF) return -EINVAL;
  itimerval v = a.a[0] == ITIMER_REAL ? get_itimer_real(c.proc()) : itimerval{};
  return c.mm().copy_to_user(a.a[1], &v, sizeof v) ? -EFAULT : 0;
}

int64_t sys_alarm(SyscallCtx& c, const SyscallArgs& a) {
  itimerval old = get_itimer_real(c.proc());
  arm_itimer_real(c.kernel, c.proc(), int64_t(uint32_t(a.a[0])) * kNs, 0);
  int64_t left = old.it_value.tv_sec + (old.it_value.tv_usec >= 500000 ? 1 : 0);
  if (!left && (old.it_value.tv_sec || old.it_value.tv_usec)) left = 1;
  return left;
}

// ---- POSIX timers ----

void fire_posix_timer(Kernel& k, Process& p, int id);

void arm_posix_timer(Kernel& k, Process& p, int id, int64_t deadline) {
  PosixTimer& pt = *p.posix_timers[size_t(id)];
  if (pt.timer) k.timers().cancel(pt.timer);
  pt.timer = 0;
  pt.deadline_ns = deadline > 0 ? uint64_t(deadline) : 0;
  if (deadline <= 0) return;
  Process* pp = &p;
  pt.timer = k.timers().add(uint64_t(deadline), [&k, pp, id] { fire_posix_timer(k, *pp, id); });
}

void fire_posix_timer(Kernel& k, Process& p, int id) {
  PosixTimer& pt = *p.posix_timers[size_t(id)];
  pt.timer = 0;
  if (pt.notify != SIGEV_NONE) {
    siginfo_t info{};
    info.si_signo = pt.signo;
    info.si_code = SI_TIMER;
    info.si_timerid = id;
    info.si_overrun = 0;
    info.si_value.sival_ptr = reinterpret_cast<void*>(pt.sigval);
    Task* t = pt.notify == SIGEV_THREAD_ID ? k.find_task(pt.target_tid) : nullptr;
    if (t) k.send_signal(*t, info);
    else k.send_signal(p, info);
  }
  if (pt.interval_ns) arm_posix_timer(k, p, id, int64_t(pt.deadline_ns + pt.interval_ns));
  else pt.deadline_ns = 0;
}

struct KSigevent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t tid;
  int32_t pad[11];
};

int64_t sys_timer_create(SyscallCtx& c, const SyscallArgs& a) {
  clockid_t id;
  if (int64_t r = host_clock(c, a.a[0], id)) return r;
  auto pt = std::make_unique<PosixTimer>();
  pt->clock = int(a.a[0]);
  Process& p = c.proc();
  size_t slot = 0;
  while (slot < p.posix_timers.size() && p.posix_timers[slot]) ++slot;
  if (slot >= 1024) return -EAGAIN;
  if (a.a[1]) {
    KSigevent ev;
    if (c.mm().copy_from_user(&ev, a.a[1], sizeof ev)) return -EFAULT;
    if (ev.notify != SIGEV_NONE && ev.notify != SIGEV_SIGNAL && ev.notify != SIGEV_THREAD_ID) return -EINVAL;
    if (ev.notify != SIGEV_NONE && (ev.signo < 1 || ev.signo > 64)) return -EINVAL;
    if (ev.notify == SIGEV_THREAD_ID && !c.kernel.find_task(ev.tid)) return -EINVAL;
    pt->notify = ev.notify;
    pt->signo = ev.signo;
    pt->sigval = ev.value;
    pt->target_tid = ev.tid;
  } else {
    pt->notify = SIGEV_SIGNAL;
    pt->signo = SIGALRM;
    pt->sigval = slot;
  }
  int32_t tid = int32_t(slot);
  if (c.mm().copy_to_user(a.a[2], &tid, 4)) return -EFAULT;
  if (slot == p.posix_timers.size()) p.posix_timers.emplace_back();
  p.posix_timers[slot] = std::move(pt);
  return 0;
}

PosixTimer* find_timer(SyscallCtx& c, uint64_t id) {
  auto& v = c.proc().posix_timers;
  return id < v.size() ? v[id].get() : nullptr;
}

itimerspec timer_value(const PosixTimer& pt) {
  itimerspec v{};
  if (pt.timer) v.it_value = ns_ts(std::max<int64_t>(1, int64_t(pt.deadline_ns) - int64_t(Kernel::now_ns())));
  v.it_interval = ns_ts(int64_t(pt.interval_ns));
  return v;
}

int64_t sys_timer_settime(SyscallCtx& c, const SyscallArgs& a) {
  PosixTimer* pt = find_timer(c, a.a[0]);
  if (!pt) return -EINVAL;
  itimerspec nv;
  if (c.mm().copy_from_user(&nv, a.a[2], sizeof nv)) return -EFAULT;
  if (nv.it_value.tv_nsec < 0 || nv.it_value.tv_nsec >= kNs || nv.it_interval.tv_nsec < 0 ||
      nv.it_interval.tv_nsec >= kNs)
    return -EINVAL;
  itimerspec old = timer_value(*pt);
  pt->interval_ns = uint64_t(ts_ns(nv.it_interval));
  int64_t value = ts_ns(nv.it_value);
  int64_t deadline = 0;
  if (value) {
    clockid_t id;
    host_clock(c, uint64_t(pt->clock), id);
    deadline = std::max<int64_t>(monotonic_deadline(id, value, a.a[1] & TIMER_ABSTIME), 1);
  }
  arm_posix_timer(c.kernel, c.proc(), int(a.a[0]), deadline);
  if (a.a[3] && c.mm().copy_to_user(a.a[3], &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_timer_gettime(SyscallCtx& c, const SyscallArgs& a) {
  PosixTimer* pt = find_timer(c, a.a[0]);
  if (!pt) return -EINVAL;
  itimerspec v = timer_value(*pt);
  return c.mm().copy_to_user(a.a[1], &v, sizeof v) ? -EFAULT : 0;
}

int64_t sys_timer_getoverrun(SyscallCtx& c, const SyscallArgs& a) {
  PosixTimer* pt = find_timer(c, a.a[0]);
  return pt ? pt->overrun : -EINVAL;
}

int64_t sys_timer_delete(SyscallCtx& c, const SyscallArgs& a) {
  PosixTimer* pt = find_timer(c, a.a[0]);
  if (!pt) return -EINVAL;
  if (pt->timer) c.kernel.timers().cancel(pt->timer);
  c.proc().posix_timers[a.a[0]].reset();
  return 0;
}

// ---- accounting and scheduling ----

int64_t sys_times(SyscallCtx& c, const SyscallArgs& a) {
  int64_t tick = kNs / 100;
  if (a.a[0]) {
    tms t{};
    t.tms_utime = clock_t(cpu_ns(c) / tick);
    t.tms_cutime = clock_t(c.proc().children_utime_ns / uint64_t(tick));
    if (c.mm().copy_to_user(a.a[0], &t, sizeof t)) return -EFAULT;
  }
  return int64_t(Kernel::now_ns()) / tick;
}

int64_t sys_getrusage(SyscallCtx& c, const SyscallArgs& a) {
  int who = int(a.a[0]);
  if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD) return -EINVAL;
  rusage ru{};
  int64_t ns = who == RUSAGE_CHILDREN ? int64_t(c.proc().children_utime_ns) : cpu_ns(c);
  ru.ru_utime = {ns / kNs, (ns % kNs) / 1000};
  return c.mm().copy_to_user(a.a[1], &ru, sizeof ru) ? -EFAULT : 0;
}

int64_t sys_sched_yield(SyscallCtx& c, const SyscallArgs&) {
  c.kernel.yield(c.task);
  return 0;
}

// The guest has one CPU: every thread of a process shares one host child.
int64_t sys_sched_getaffinity(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[0] && !c.kernel.find_task(int(a.a[0]))) return -ESRCH;
  if (a.a[1] < 8 || (a.a[1] & 7)) return -EINVAL;
  uint64_t mask = 1;
  if (c.mm().copy_to_user(a.a[2], &mask, 8)) return -EFAULT;
  return 8;
}

int64_t sys_sched_setaffinity(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[0] && !c.kernel.find_task(int(a.a[0]))) return -ESRCH;
  uint64_t mask = 0;
  if (c.mm().copy_from_user(&mask, a.a[2], std::min<uint64_t>(a.a[1], 8))) return -EFAULT;
  return (mask & 1) ? 0 : -EINVAL;
}

int64_t sys_getcpu(SyscallCtx& c, const SyscallArgs& a) {
  uint32_t zero = 0;
  if (a.a[0] && c.mm().copy_to_user(a.a[0], &zero, 4)) return -EFAULT;
  if (a.a[1] && c.mm().copy_to_user(a.a[1], &zero, 4)) return -EFAULT;
  return 0;
}

} // namespace

void register_time_syscalls(SyscallTable& t) {
  t.add(SYS_clock_gettime, sys_clock_gettime, "dx");
  t.add(SYS_clock_getres, sys_clock_getres, "dx");
  t.add(SYS_gettimeofday, sys_gettimeofday, "xx");
  t.add(SYS_time, sys_time, "x");
  t.add(SYS_nanosleep, sys_nanosleep, "xx");
  t.add(SYS_clock_nanosleep, sys_clock_nanosleep, "dxxx");
  t.add(SYS_alarm, sys_alarm, "u");
  t.add(SYS_setitimer, sys_setitimer, "dxx");
  t.add(SYS_getitimer, sys_getitimer, "dx");
  t.add(SYS_timer_create, sys_timer_create, "dxx");
  t.add(SYS_timer_settime, sys_timer_settime, "dxxx");
  t.add(SYS_timer_gettime, sys_timer_gettime, "dx");
  t.add(SYS_timer_getoverrun, sys_timer_getoverrun, "d");
  t.add(SYS_timer_delete, sys_timer_delete, "d");
  t.add(SYS_times, sys_times, "x");
  t.add(SYS_getrusage, sys_getrusage, "dx");
  t.add(SYS_sched_yield, sys_sched_yield, "");
  t.add(SYS_sched_getaffinity, sys_sched_getaffinity, "dux");
  t.add(SYS_sched_setaffinity, sys_sched_setaffinity, "dux");
  t.add(SYS_getcpu, sys_getcpu, "xxx");
}

} // namespace gk
