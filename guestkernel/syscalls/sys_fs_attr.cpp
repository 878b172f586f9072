// Changing what a file is: chmod, chown, utimes, truncate; and sync, statfs,
// extended attributes.
#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <utime.h>

#include "guestkernel/syscalls/fs_args.h"

namespace gk {

namespace {

constexpr uint64_t kCwd = uint64_t(AT_FDCWD);

// The named file behind an fd (-EBADF for pipes and other nameless files
// where the operation needs an inode).
int64_t fd_path(SyscallCtx& c, uint64_t fd, vfs::Path& out, std::shared_ptr<File>* file = nullptr) {
  auto f = c.proc().fds->get(int(fd));
  if (!f) return -EBADF;
  if (file) *file = f;
  if (!f->path()) return -EINVAL;
  out = *f->path();
  return 0;
}

int64_t chmod_path(SyscallCtx& c, const vfs::Path& p, uint64_t mode) {
  vfs::SetAttr a;
  a.mask = vfs::SetAttr::kMode | vfs::SetAttr::kCtime;
  a.mode = mode_t(mode) & 07777;
  return vfs::setattr(p, c.proc().creds, a);
}

int64_t sys_chmod(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, kCwd, a.a[0], 0, true, p)) return r;
  return chmod_path(c, p, a.a[1]);
}
int64_t sys_fchmodat(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, a.a[0], a.a[1], 0, true, p)) return r;
  return chmod_path(c, p, a.a[2]);
}
int64_t sys_fchmod(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = fd_path(c, a.a[0], p)) return r == -EINVAL ? 0 : r; // a pipe: nothing to change
  return chmod_path(c, p, a.a[1]);
}

int64_t chown_path(SyscallCtx& c, const vfs::Path& p, uint64_t uid, uint64_t gid) {
  vfs::SetAttr a;
  a.mask = vfs::SetAttr::kCtime;
  if (uint32_t(uid) != uint32_t(-1)) {
    a.mask |= vfs::SetAttr::kUid;
    a.uid = uint32_t(uid);
  }
  if (uint32_t(gid) != uint32_t(-1)) {
    a.mask |= vfs::SetAttr::kGid;
    a.gid = uint32_t(gid);
  }
  if (a.mask == vfs::SetAttr::kCtime) return p.mnt->read_only() ? -EROFS : 0;
  return vfs::setattr(p, c.proc().creds, a);
}

int64_t sys_chown(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, kCwd, a.a[0], 0, true, p)) return r;
  return chown_path(c, p, a.a[1], a.a[2]);
}
int64_t sys_lchown(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, kCwd, a.a[0], 0, false, p)) return r;
  return chown_path(c, p, a.a[1], a.a[2]);
}
int64_t sys_fchown(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = fd_path(c, a.a[0], p)) return r == -EINVAL ? 0 : r;
  return chown_path(c, p, a.a[1], a.a[2]);
}
int64_t sys_fchownat(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[4]);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  vfs::Path p;
  if (int64_t r = resolve_at(c, a.a[0], a.a[1], flags, true, p)) return r;
  return chown_path(c, p, a.a[2], a.a[3]);
}

// utimensat's rules: NULL times means now; UTIME_NOW/UTIME_OMIT per field.
// Setting explicit times needs ownership; "now" needs ownership or write access.
int64_t set_times(SyscallCtx& c, const vfs::Path& p, const timespec* ts) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  vfs::SetAttr a;
  a.mask = vfs::SetAttr::kCtime;
  a.ctime = now;
  bool explicit_time = false;
  for (int i = 0; i < 2; ++i) {
    timespec t = ts ? ts[i] : timespec{0, UTIME_NOW};
    if (t.tv_nsec == UTIME_OMIT) continue;
    if (t.tv_nsec == UTIME_NOW) {
      t = now;
    } else {
      if (t.tv_nsec < 0 || t.tv_nsec >= 1000000000) return -EINVAL;
      explicit_time = true;
    }
    a.mask |= i == 0 ? vfs::SetAttr::kAtime : vfs::SetAttr::kMtime;
    (i == 0 ? a.atime : a.mtime) = t;
  }
  if (p.mnt->read_only()) return -EROFS;
  struct stat st;
  if (int64_t r = p.inode().getattr(st)) return r;
  const Creds& cr = c.proc().creds;
  if (cr.euid != 0 && cr.euid != st.st_uid) {
    if (explicit_time) return -EPERM;
    if (vfs::permission(p.inode(), cr, 2)) return -EACCES;
  }
  return p.inode().setattr(a);
}

int64_t sys_utimensat(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[3]);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  timespec ts[2];
  if (a.a[2] && c.mm().copy_from_user(ts, a.a[2], sizeof ts)) return -EFAULT;
  vfs::Path p;
  if (a.a[1] == 0) { // Linux's extension: the fd itself
    if (flags & AT_SYMLINK_NOFOLLOW) return -EINVAL;
    if (int32_t(a.a[0]) == AT_FDCWD) return -EFAULT;
    if (int64_t r = fd_path(c, a.a[0], p)) return r == -EINVAL ? 0 : r;
  } else if (int64_t r = resolve_at(c, a.a[0], a.a[1], flags, true, p)) {
    return r;
  }
  return set_times(c, p, a.a[2] ? ts : nullptr);
}

int64_t timeval_times(SyscallCtx& c, uint64_t dirfd, uint64_t upath, uint64_t utv) {
  timespec ts[2];
  if (utv) {
    timeval tv[2];
    if (c.mm().copy_from_user(tv, utv, sizeof tv)) return -EFAULT;
    for (int i = 0; i < 2; ++i) {
      if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) return -EINVAL;
      ts[i] = {tv[i].tv_sec, tv[i].tv_usec * 1000};
    }
  }
  vfs::Path p;
  if (int64_t r = resolve_at(c, dirfd, upath, 0, true, p)) return r;
  return set_times(c, p, utv ? ts : nullptr);
}
int64_t sys_utimes(SyscallCtx& c, const SyscallArgs& a) { return timeval_times(c, kCwd, a.a[0], a.a[1]); }
int64_t sys_futimesat(SyscallCtx& c, const SyscallArgs& a) { return timeval_times(c, a.a[0], a.a[1], a.a[2]); }
int64_t sys_utime(SyscallCtx& c, const SyscallArgs& a) {
  timespec ts[2];
  if (a.a[1]) {
    utimbuf u;
    if (c.mm().copy_from_user(&u, a.a[1], sizeof u)) return -EFAULT;
    ts[0] = {u.actime, 0};
    ts[1] = {u.modtime, 0};
  }
  vfs::Path p;
  if (int64_t r = resolve_at(c, kCwd, a.a[0], 0, true, p)) return r;
  return set_times(c, p, a.a[1] ? ts : nullptr);
}

int64_t truncate_path(SyscallCtx& c, const vfs::Path& p, int64_t len) {
  if (len < 0) return -EINVAL;
  vfs::SetAttr a;
  a.mask = vfs::SetAttr::kSize | vfs::SetAttr::kMtime | vfs::SetAttr::kCtime;
  a.size = uint64_t(len);
  clock_gettime(CLOCK_REALTIME, &a.mtime);
  a.ctime = a.mtime;
  return vfs::setattr(p, c.proc().creds, a);
}

int64_t sys_truncate(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, kCwd, a.a[0], 0, true, p)) return r;
  if (S_ISDIR(p.inode().mode())) return -EISDIR;
  if (int64_t r = vfs::permission(p.inode(), c.proc().creds, 2)) return r;
  return truncate_path(c, p, int64_t(a.a[1]));
}
int64_t sys_ftruncate(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  std::shared_ptr<File> f;
  if (int64_t r = fd_path(c, a.a[0], p, &f)) return r;
  if ((f->flags & O_PATH)) return -EBADF;
  if ((f->flags & O_ACCMODE) == O_RDONLY || !S_ISREG(p.inode().mode())) return -EINVAL;
  if (int64_t(a.a[1]) < 0) return -EINVAL;
  // The fd grants the write: no permission check on the inode.
  vfs::SetAttr at;
  at.mask = vfs::SetAttr::kSize | vfs::SetAttr::kMtime | vfs::SetAttr::kCtime;
  at.size = a.a[1];
  clock_gettime(CLOCK_REALTIME, &at.mtime);
  at.ctime = at.mtime;
  return p.inode().setattr(at);
}

int64_t sys_fsync(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = fd_path(c, a.a[0], p)) return r;
  return p.inode().fsync();
}

int64_t sys_sync(SyscallCtx& c, const SyscallArgs&) {
  c.kernel.vfs().sync_all();
  return 0;
}
int64_t sys_syncfs(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = fd_path(c, a.a[0], p)) return r == -EINVAL ? 0 : r;
  p.mnt->fs->sync();
  return 0;
}

int64_t put_statfs(SyscallCtx& c, const vfs::Path& p, uint64_t ubuf) {
  struct statfs st;
  if (int64_t r = p.mnt->fs->statfs(st)) return r;
  if (p.mnt->read_only()) st.f_flags |= ST_RDONLY;
  return c.mm().copy_to_user(ubuf, &st, sizeof st) ? -EFAULT : 0;
}
int64_t sys_statfs(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, kCwd, a.a[0], 0, true, p)) return r;
  return put_statfs(c, p, a.a[1]);
}
int64_t sys_fstatfs(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = fd_path(c, a.a[0], p)) return r == -EINVAL ? -ENOSYS : r;
  return put_statfs(c, p, a.a[1]);
}

// Extended attributes: no guest file system stores any yet, so every file
// behaves as on a file system without xattr support (what ls -l and cp -a
// expect to cope with): get/set/remove give EOPNOTSUPP, the list is empty.
// The file must still exist, and the name must be readable.
int64_t xattr_target(SyscallCtx& c, uint64_t upath, uint64_t uname, bool follow) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, kCwd, upath, 0, follow, p)) return r;
  if (!uname) return 0;
  char name[256];
  int64_t n = c.mm().strncpy_from_user(name, uname, sizeof name);
  if (n < 0) return n;
  return n == 0 || n == int64_t(sizeof name) ? -ERANGE : 0;
}
int64_t xattr_fd(SyscallCtx& c, uint64_t fd) { return c.proc().fds->get(int(fd)) ? 0 : -EBADF; }

int64_t sys_getxattr(SyscallCtx& c, const SyscallArgs& a) {
  if (int64_t r = xattr_target(c, a.a[0], a.a[1], true)) return r;
  return -EOPNOTSUPP;
}
int64_t sys_lgetxattr(SyscallCtx& c, const SyscallArgs& a) {
  if (int64_t r = xattr_target(c, a.a[0], a.a[1], false)) return r;
  return -EOPNOTSUPP;
}
int64_t sys_fxattr(SyscallCtx& c, const SyscallArgs& a) {
  if (int64_t r = xattr_fd(c, a.a[0])) return r;
  return -EOPNOTSUPP;
}
int64_t sys_listxattr(SyscallCtx& c, const SyscallArgs& a) { return xattr_target(c, a.a[0], 0, true); }
int64_t sys_llistxattr(SyscallCtx& c, const SyscallArgs& a) { return xattr_target(c, a.a[0], 0, false); }
int64_t sys_flistxattr(SyscallCtx& c, const SyscallArgs& a) { return xattr_fd(c, a.a[0]); }

} // namespace

void register_fs_attr_syscalls(SyscallTable& t) {
  t.add(SYS_getxattr, sys_getxattr, "ssxu");
  t.add(SYS_lgetxattr, sys_lgetxattr, "ssxu");
  t.add(SYS_fgetxattr, sys_fxattr, "dsxu");
  t.add(SYS_setxattr, sys_getxattr, "ssxud");
  t.add(SYS_lsetxattr, sys_lgetxattr, "ssxud");
  t.add(SYS_fsetxattr, sys_fxattr, "dsxud");
  t.add(SYS_removexattr, sys_getxattr, "ss");
  t.add(SYS_lremovexattr, sys_lgetxattr, "ss");
  t.add(SYS_fremovexattr, sys_fxattr, "ds");
  t.add(SYS_listxattr, sys_listxattr, "sxu");
  t.add(SYS_llistxattr, sys_llistxattr, "sxu");
  t.add(SYS_flistxattr, sys_flistxattr, "dxu");
  t.add(SYS_chmod, sys_chmod, "so");
  t.add(SYS_fchmod, sys_fchmod, "do");
  t.add(SYS_fchmodat, sys_fchmodat, "dso");
  t.add(SYS_chown, sys_chown, "sdd");
  t.add(SYS_lchown, sys_lchown, "sdd");
  t.add(SYS_fchown, sys_fchown, "ddd");
  t.add(SYS_fchownat, sys_fchownat, "dsddx");
  t.add(SYS_utimensat, sys_utimensat, "dsxx");
  t.add(SYS_utimes, sys_utimes, "sx");
  t.add(SYS_futimesat, sys_futimesat, "dsx");
  t.add(SYS_utime, sys_utime, "sx");
  t.add(SYS_truncate, sys_truncate, "sl");
  t.add(SYS_ftruncate, sys_ftruncate, "dl");
  t.add(SYS_fsync, sys_fsync, "d");
  t.add(SYS_fdatasync, sys_fsync, "d");
  t.add(SYS_sync, sys_sync, "");
  t.add(SYS_syncfs, sys_syncfs, "d");
  t.add(SYS_statfs, sys_statfs, "sx");
  t.add(SYS_fstatfs, sys_fstatfs, "dx");
}

} // namespace gk
