// Identity and system information: uname and the names it shows, sysinfo,
// randomness, and reboot(2).
#include <linux/reboot.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include <cstring>
#include <vector>

#include "guestkernel/kernel.h"
#include "guestkernel/procfs/figures.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

int64_t sys_uname(SyscallCtx& c, const SyscallArgs& a) {
  struct utsname u;
  memset(&u, 0, sizeof u);
  strncpy(u.sysname, "Linux", sizeof u.sysname - 1);
  strncpy(u.nodename, c.kernel.hostname().c_str(), sizeof u.nodename - 1);
  strncpy(u.release, kGuestRelease, sizeof u.release - 1);
  strncpy(u.version, "#1 SMP guestkernel", sizeof u.version - 1);
  strncpy(u.machine, "x86_64", sizeof u.machine - 1);
  strncpy(u.domainname, c.kernel.domainname().c_str(), sizeof u.domainname - 1);
  return c.mm().copy_to_user(a.a[0], &u, sizeof u) ? -EFAULT : 0;
}

// sethostname/setdomainname: root only, at most 64 bytes (__NEW_UTS_LEN).
int64_t set_uts_name(SyscallCtx& c, const SyscallArgs& a, void (Kernel::*set)(std::string)) {
  if (c.proc().creds.euid != 0) return -EPERM;
  if (a.a[1] > 64) return -EINVAL;
  std::string name(a.a[1], '\0');
  if (!name.empty() && c.mm().copy_from_user(name.data(), a.a[0], name.size())) return -EFAULT;
  (c.kernel.*set)(name.substr(0, name.find('\0')));
  return 0;
}
int64_t sys_sethostname(SyscallCtx& c, const SyscallArgs& a) { return set_uts_name(c, a, &Kernel::set_hostname); }
int64_t sys_setdomainname(SyscallCtx& c, const SyscallArgs& a) { return set_uts_name(c, a, &Kernel::set_domainname); }

// reboot(2) with Linux's checks: the magic numbers, then root, then the command.
int64_t sys_reboot(SyscallCtx& c, const SyscallArgs& a) {
  uint32_t magic1 = uint32_t(a.a[0]), magic2 = uint32_t(a.a[1]), cmd = uint32_t(a.a[2]);
  if (magic1 != LINUX_REBOOT_MAGIC1 || (magic2 != LINUX_REBOOT_MAGIC2 && magic2 != LINUX_REBOOT_MAGIC2A &&
                                        magic2 != LINUX_REBOOT_MAGIC2B && magic2 != LINUX_REBOOT_MAGIC2C))
    return -EINVAL;
  if (c.proc().creds.euid != 0) return -EPERM;
  switch (cmd) {
  case LINUX_REBOOT_CMD_POWER_OFF: c.kernel.power(c.task, PowerAction::PowerOff); return 0;
  case LINUX_REBOOT_CMD_HALT: c.kernel.power(c.task, PowerAction::Halt); return 0;
  case LINUX_REBOOT_CMD_RESTART:
  case LINUX_REBOOT_CMD_RESTART2: c.kernel.power(c.task, PowerAction::Restart); return 0;
  case LINUX_REBOOT_CMD_CAD_ON:
  case LINUX_REBOOT_CMD_CAD_OFF: return 0; // the guest has no Ctrl-Alt-Del key to configure
  case LINUX_REBOOT_CMD_SW_SUSPEND: return -ENOSYS; // no hibernation, as a kernel without it says
  default: return -EINVAL;                          // LINUX_REBOOT_CMD_KEXEC included: nothing loaded
  }
}

int64_t sys_getrandom(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[2] & ~uint64_t(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) return -EINVAL;
  size_t n = std::min<uint64_t>(a.a[1], 33554431); // Linux caps one call at 32 MiB - 1
  std::vector<uint8_t> buf(std::min<size_t>(n, 1 << 16));
  size_t done = 0;
  while (done < n) {
    size_t chunk = std::min(buf.size(), n - done);
    if (getrandom(buf.data(), chunk, 0) != ssize_t(chunk)) return done ? int64_t(done) : -EAGAIN;
    if (c.mm().copy_to_user(a.a[0] + done, buf.data(), chunk)) return done ? int64_t(done) : -EFAULT;
    done += chunk;
  }
  return int64_t(done);
}

// The guest's own figures: its memory is --mem, its processes are its tasks.
int64_t sys_sysinfo(SyscallCtx& c, const SyscallArgs& a) {
  struct sysinfo si;
  memset(&si, 0, sizeof si);
  si.uptime = long(procfs::uptime_ns(c.kernel) / 1000000000ULL);
  const mm::PhysMem& pm = c.kernel.physmem();
  si.totalram = pm.bytes();
  si.freeram = pm.buddy().free_frames() * mm::kPageSize;
  si.procs = uint16_t(std::min(c.kernel.task_count(), 65535));
  procfs::LoadAvg l = procfs::load_average(); // the same figures /proc/loadavg shows
  si.loads[0] = (unsigned long)(l.one * 65536);
  si.loads[1] = (unsigned long)(l.five * 65536);
  si.loads[2] = (unsigned long)(l.fifteen * 65536);
  si.mem_unit = 1;
  return c.mm().copy_to_user(a.a[0], &si, sizeof si) ? -EFAULT : 0;
}

} // namespace

void register_info_syscalls(SyscallTable& t) {
  t.add(SYS_sysinfo, sys_sysinfo, "x");
  t.add(SYS_uname, sys_uname, "x");
  t.add(SYS_sethostname, sys_sethostname, "su");
  t.add(SYS_setdomainname, sys_setdomainname, "su");
  t.add(SYS_reboot, sys_reboot, "xxxx");
  t.add(SYS_getrandom, sys_getrandom, "xux");
}

} // namespace gk
