// syslog(2) (glibc's klogctl): reading and clearing the kernel's log, and
// the console level, with Linux's checks in Linux's order.
#include <sys/syscall.h>

#include <cerrno>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"
#include "mm/address_space.h"

namespace gk {

namespace {

enum : int {
  kClose, kOpen, kRead, kReadAll, kReadClear, kClear, kConsoleOff, kConsoleOn, kConsoleLevel, kSizeUnread, kSizeBuffer
};

// Linux's access_ok: the buffer must lie in user space.
bool user_range(uint64_t buf, int len) { return buf < mm::kUserTop && uint64_t(len) <= mm::kUserTop - buf; }

// As with kernel.dmesg_restrict = 0 (Linux's default): anyone may read the
// whole log and ask its size; all else needs CAP_SYSLOG (root here).
bool restricted(int type) { return type != kReadAll && type != kSizeBuffer; }

int64_t copy_out(SyscallCtx& c, uint64_t buf, const std::string& text) {
  if (!text.empty() && c.mm().copy_to_user(buf, text.data(), text.size())) return -EFAULT;
  return int64_t(text.size());
}

int64_t sys_syslog(SyscallCtx& c, const SyscallArgs& a) {
  int type = int(a.a[0]), len = int(a.a[2]);
  uint64_t buf = a.a[1];
  KernelLog& log = c.kernel.log();
  if (restricted(type) && c.proc().creds.euid != 0) return -EPERM;
  switch (type) {
  case kClose:
  case kOpen: return 0;
  case kRead:
    if (!buf || len < 0) return -EINVAL;
    if (!len) return 0;
    if (!user_range(buf, len)) return -EFAULT;
    while (!log.has_unread())
      if (c.kernel.block(c.task, &log.readers(), -1, true) == WakeReason::Signal) return kErestartSys;
    return copy_out(c, buf, log.read_unread(size_t(len)));
  case kReadAll:
  case kReadClear: {
    if (!buf || len < 0) return -EINVAL;
    if (!len) return 0;
    if (!user_range(buf, len)) return -EFAULT;
    int64_t r = copy_out(c, buf, log.read_all(size_t(len)));
    if (type == kReadClear && r >= 0) log.clear();
    return r;
  }
  case kClear: log.clear(); return 0;
  case kConsoleOff: log.console_off(); return 0;
  case kConsoleOn: log.console_on(); return 0;
  case kConsoleLevel:
    if (len < 1 || len > 8) return -EINVAL;
    log.set_console_level(len);
    return 0;
  case kSizeUnread: return int64_t(log.unread_bytes());
  case kSizeBuffer: return int64_t(KernelLog::kBufferSize);
  default: return -EINVAL;
  }
}

} // namespace

void register_syslog_syscalls(SyscallTable& t) { t.add(SYS_syslog, sys_syslog, "dxd"); }

} // namespace gk
