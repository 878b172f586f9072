// Clocks. The guest's wall and monotonic clocks are the host's; a process's
// CPU clock is its host child's.
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

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
    return clock_getcpuclockid(c.proc.child->pid(), &out) ? -EINVAL : 0;
  default:
    return -EINVAL;
  }
}

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

} // namespace

void register_time_syscalls(SyscallTable& t) {
  t.add(SYS_clock_gettime, sys_clock_gettime, "dx");
  t.add(SYS_clock_getres, sys_clock_getres, "dx");
  t.add(SYS_gettimeofday, sys_gettimeofday, "xx");
  t.add(SYS_time, sys_time, "x");
}

} // namespace gk
