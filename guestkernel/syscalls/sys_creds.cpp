// User and group ids: the get/set families with Linux's rules (root may set
// anything; others only swap among their real, effective and saved ids),
// supplementary groups, and the fs ids that track the effective ones.
#include <sys/syscall.h>

#include <algorithm>

#include "guestkernel/syscalls/syscall.h"

namespace gk {

bool Creds::in_group(uint32_t g) const { return g == egid || std::find(groups.begin(), groups.end(), g) != groups.end(); }

namespace {

constexpr uint32_t kUnchanged = uint32_t(-1);
constexpr size_t kNgroupsMax = 65536;

bool privileged(const Creds& c) { return c.euid == 0; }
// An unprivileged process may use one of its own three ids.
bool own(uint32_t id, uint32_t r, uint32_t e, uint32_t s) { return id == r || id == e || id == s; }

int64_t sys_getuid(SyscallCtx& c, const SyscallArgs&) { return c.proc().creds.uid; }
int64_t sys_geteuid(SyscallCtx& c, const SyscallArgs&) { return c.proc().creds.euid; }
int64_t sys_getgid(SyscallCtx& c, const SyscallArgs&) { return c.proc().creds.gid; }
int64_t sys_getegid(SyscallCtx& c, const SyscallArgs&) { return c.proc().creds.egid; }

// setresuid/setresgid core; -1 leaves an id as it is.
int64_t set_res(Creds& cr, bool user, uint32_t r, uint32_t e, uint32_t s) {
  uint32_t& R = user ? cr.uid : cr.gid;
  uint32_t& E = user ? cr.euid : cr.egid;
  uint32_t& S = user ? cr.suid : cr.sgid;
  if (!privileged(cr))
    for (uint32_t id : {r, e, s})
      if (id != kUnchanged && !own(id, R, E, S)) return -EPERM;
  if (r != kUnchanged) R = r;
  if (e != kUnchanged) E = e;
  if (s != kUnchanged) S = s;
  (user ? cr.fsuid : cr.fsgid) = E;
  return 0;
}

int64_t sys_setresuid(SyscallCtx& c, const SyscallArgs& a) {
  return set_res(c.proc().creds, true, uint32_t(a.a[0]), uint32_t(a.a[1]), uint32_t(a.a[2]));
}
int64_t sys_setresgid(SyscallCtx& c, const SyscallArgs& a) {
  return set_res(c.proc().creds, false, uint32_t(a.a[0]), uint32_t(a.a[1]), uint32_t(a.a[2]));
}

// setreuid: the saved id follows the effective one when the real id is set
// or the effective one moves away from the real one.
int64_t set_re(Creds& cr, bool user, uint32_t r, uint32_t e) {
  uint32_t R = user ? cr.uid : cr.gid, E = user ? cr.euid : cr.egid, S = user ? cr.suid : cr.sgid;
  if (!privileged(cr)) {
    if (r != kUnchanged && r != R && r != E) return -EPERM;
    if (e != kUnchanged && !own(e, R, E, S)) return -EPERM;
  }
  uint32_t nr = r == kUnchanged ? R : r, ne = e == kUnchanged ? E : e;
  uint32_t ns = (r != kUnchanged || (e != kUnchanged && ne != R)) ? ne : S;
  return set_res(cr, user, nr, ne, ns); // each id is one of the caller's own: allowed
}

int64_t sys_setreuid(SyscallCtx& c, const SyscallArgs& a) { return set_re(c.proc().creds, true, uint32_t(a.a[0]), uint32_t(a.a[1])); }
int64_t sys_setregid(SyscallCtx& c, const SyscallArgs& a) { return set_re(c.proc().creds, false, uint32_t(a.a[0]), uint32_t(a.a[1])); }

// setuid: root sets all three; others only the effective id, to one of their own.
int64_t set_one(Creds& cr, bool user, uint32_t id) {
  if (id == kUnchanged) return -EINVAL;
  if (privileged(cr)) return set_res(cr, user, id, id, id);
  uint32_t R = user ? cr.uid : cr.gid, S = user ? cr.suid : cr.sgid;
  if (id != R && id != S) return -EPERM;
  return set_res(cr, user, kUnchanged, id, kUnchanged);
}
int64_t sys_setuid(SyscallCtx& c, const SyscallArgs& a) { return set_one(c.proc().creds, true, uint32_t(a.a[0])); }
int64_t sys_setgid(SyscallCtx& c, const SyscallArgs& a) { return set_one(c.proc().creds, false, uint32_t(a.a[0])); }

int64_t get_res(SyscallCtx& c, bool user, const SyscallArgs& a) {
  const Creds& cr = c.proc().creds;
  uint32_t ids[3] = {user ? cr.uid : cr.gid, user ? cr.euid : cr.egid, user ? cr.suid : cr.sgid};
  for (int i = 0; i < 3; ++i)
    if (c.mm().copy_to_user(a.a[i], &ids[i], 4)) return -EFAULT;
  return 0;
}
int64_t sys_getresuid(SyscallCtx& c, const SyscallArgs& a) { return get_res(c, true, a); }
int64_t sys_getresgid(SyscallCtx& c, const SyscallArgs& a) { return get_res(c, false, a); }

// setfsuid/setfsgid return the old value whether or not the change happened.
int64_t set_fs(Creds& cr, bool user, uint32_t id) {
  uint32_t& F = user ? cr.fsuid : cr.fsgid;
  uint32_t old = F;
  uint32_t R = user ? cr.uid : cr.gid, E = user ? cr.euid : cr.egid, S = user ? cr.suid : cr.sgid;
  if (id != kUnchanged && (privileged(cr) || own(id, R, E, S) || id == F)) F = id;
  return old;
}
int64_t sys_setfsuid(SyscallCtx& c, const SyscallArgs& a) { return set_fs(c.proc().creds, true, uint32_t(a.a[0])); }
int64_t sys_setfsgid(SyscallCtx& c, const SyscallArgs& a) { return set_fs(c.proc().creds, false, uint32_t(a.a[0])); }

int64_t sys_getgroups(SyscallCtx& c, const SyscallArgs& a) {
  const auto& g = c.proc().creds.groups;
  int size = int(a.a[0]);
  if (size < 0) return -EINVAL;
  if (size == 0) return int64_t(g.size());
  if (size_t(size) < g.size()) return -EINVAL;
  if (!g.empty() && c.mm().copy_to_user(a.a[1], g.data(), g.size() * 4)) return -EFAULT;
  return int64_t(g.size());
}

int64_t sys_setgroups(SyscallCtx& c, const SyscallArgs& a) {
  if (!privileged(c.proc().creds)) return -EPERM;
  if (a.a[0] > kNgroupsMax) return -EINVAL;
  std::vector<uint32_t> g(a.a[0]);
  if (!g.empty() && c.mm().copy_from_user(g.data(), a.a[1], g.size() * 4)) return -EFAULT;
  std::sort(g.begin(), g.end()); // Linux keeps them sorted
  c.proc().creds.groups = std::move(g);
  return 0;
}

} // namespace

void register_creds_syscalls(SyscallTable& t) {
  t.add(SYS_getuid, sys_getuid, "");
  t.add(SYS_geteuid, sys_geteuid, "");
  t.add(SYS_getgid, sys_getgid, "");
  t.add(SYS_getegid, sys_getegid, "");
  t.add(SYS_setuid, sys_setuid, "d");
  t.add(SYS_setgid, sys_setgid, "d");
  t.add(SYS_setreuid, sys_setreuid, "dd");
  t.add(SYS_setregid, sys_setregid, "dd");
  t.add(SYS_setresuid, sys_setresuid, "ddd");
  t.add(SYS_setresgid, sys_setresgid, "ddd");
  t.add(SYS_getresuid, sys_getresuid, "xxx");
  t.add(SYS_getresgid, sys_getresgid, "xxx");
  t.add(SYS_setfsuid, sys_setfsuid, "d");
  t.add(SYS_setfsgid, sys_setfsgid, "d");
  t.add(SYS_getgroups, sys_getgroups, "dx");
  t.add(SYS_setgroups, sys_setgroups, "dx");
}

} // namespace gk
