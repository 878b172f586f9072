// open, stat, access, readlink, getdents64: looking files up by name.
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "guestkernel/syscalls/fs_args.h"

namespace gk {

namespace {

constexpr int kOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |
                           O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |
                           O_SYNC | O_PATH | O_TMPFILE;

int64_t do_open(SyscallCtx& c, uint64_t dirfd, uint64_t upath, int flags, mode_t mode) {
  std::optional<vfs::OpCtx> op;
  std::string path;
  if (int64_t r = op_at(c, dirfd, upath, path, op)) return r;
  flags &= kOpenFlags; // open(2) ignores unknown flags
  IoCtx io{c.kernel, c.task};
  op->io = &io;
  std::shared_ptr<File> f;
  if (int64_t r = vfs::open(*op, path, flags, mode, f)) return r;
  return c.proc().fds->install(std::move(f), 0, flags & O_CLOEXEC);
}

int64_t sys_open(SyscallCtx& c, const SyscallArgs& a) {
  return do_open(c, uint64_t(AT_FDCWD), a.a[0], int(a.a[1]), mode_t(a.a[2]));
}
int64_t sys_openat(SyscallCtx& c, const SyscallArgs& a) { return do_open(c, a.a[0], a.a[1], int(a.a[2]), mode_t(a.a[3])); }
int64_t sys_creat(SyscallCtx& c, const SyscallArgs& a) {
  return do_open(c, uint64_t(AT_FDCWD), a.a[0], O_CREAT | O_WRONLY | O_TRUNC, mode_t(a.a[1]));
}

// newfstatat/statx core: fills `st` for (dirfd, path, flags).
int64_t stat_at(SyscallCtx& c, uint64_t dirfd, uint64_t upath, int flags, struct stat& st) {
  // An empty path with AT_EMPTY_PATH names the fd itself, which may be a pipe.
  if ((flags & AT_EMPTY_PATH) && int32_t(dirfd) != AT_FDCWD) {
    char first;
    if (c.mm().copy_from_user(&first, upath, 1)) return -EFAULT;
    if (first == 0) {
      auto f = c.proc().fds->get(int(dirfd));
      return f ? f->stat(st) : -EBADF;
    }
  }
  vfs::Path p;
  if (int64_t r = resolve_at(c, dirfd, upath, flags, true, p)) return r;
  return p.inode().getattr(st);
}

int64_t put_stat(SyscallCtx& c, int64_t r, const struct stat& st, uint64_t ubuf) {
  if (r) return r;
  return c.mm().copy_to_user(ubuf, &st, sizeof st) ? -EFAULT : 0;
}

int64_t sys_stat(SyscallCtx& c, const SyscallArgs& a) {
  struct stat st;
  return put_stat(c, stat_at(c, uint64_t(AT_FDCWD), a.a[0], 0, st), st, a.a[1]);
}
int64_t sys_lstat(SyscallCtx& c, const SyscallArgs& a) {
  struct stat st;
  return put_stat(c, stat_at(c, uint64_t(AT_FDCWD), a.a[0], AT_SYMLINK_NOFOLLOW, st), st, a.a[1]);
}
int64_t sys_fstat(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  struct stat st;
  return put_stat(c, f->stat(st), st, a.a[1]);
}
int64_t sys_newfstatat(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[3]);
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT)) return -EINVAL;
  struct stat st;
  return put_stat(c, stat_at(c, a.a[0], a.a[1], flags, st), st, a.a[2]);
}

int64_t sys_statx(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[2]);
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) return -EINVAL;
  if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE) return -EINVAL;
  if (a.a[3] & STATX__RESERVED) return -EINVAL;
  struct stat st;
  if (int64_t r = stat_at(c, a.a[0], a.a[1], flags, st)) return r;
  struct statx x {};
  x.stx_mask = STATX_BASIC_STATS;
  x.stx_blksize = uint32_t(st.st_blksize);
  x.stx_nlink = uint32_t(st.st_nlink);
  x.stx_uid = st.st_uid;
  x.stx_gid = st.st_gid;
  x.stx_mode = uint16_t(st.st_mode);
  x.stx_ino = st.st_ino;
  x.stx_size = uint64_t(st.st_size);
  x.stx_blocks = uint64_t(st.st_blocks);
  x.stx_atime = {st.st_atim.tv_sec, uint32_t(st.st_atim.tv_nsec), 0};
  x.stx_mtime = {st.st_mtim.tv_sec, uint32_t(st.st_mtim.tv_nsec), 0};
  x.stx_ctime = {st.st_ctim.tv_sec, uint32_t(st.st_ctim.tv_nsec), 0};
  x.stx_rdev_major = major(st.st_rdev);
  x.stx_rdev_minor = minor(st.st_rdev);
  x.stx_dev_major = major(st.st_dev);
  x.stx_dev_minor = minor(st.st_dev);
  return c.mm().copy_to_user(a.a[4], &x, sizeof x) ? -EFAULT : 0;
}

int64_t do_access(SyscallCtx& c, uint64_t dirfd, uint64_t upath, int mode, int flags) {
  if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  if (mode & ~7) return -EINVAL;
  vfs::Path p;
  if (int64_t r = resolve_at(c, dirfd, upath, flags & ~AT_EACCESS, true, p)) return r;
  Creds cr = c.proc().creds;
  if (!(flags & AT_EACCESS)) { // access(2) checks the real ids
    cr.euid = cr.uid;
    cr.egid = cr.gid;
  }
  return vfs::access(p, cr, mode);
}

int64_t sys_access(SyscallCtx& c, const SyscallArgs& a) { return do_access(c, uint64_t(AT_FDCWD), a.a[0], int(a.a[1]), 0); }
int64_t sys_faccessat(SyscallCtx& c, const SyscallArgs& a) { return do_access(c, a.a[0], a.a[1], int(a.a[2]), 0); }
int64_t sys_faccessat2(SyscallCtx& c, const SyscallArgs& a) { return do_access(c, a.a[0], a.a[1], int(a.a[2]), int(a.a[3])); }

int64_t do_readlink(SyscallCtx& c, uint64_t dirfd, uint64_t upath, uint64_t ubuf, uint64_t size) {
  if (int64_t(size) <= 0) return -EINVAL;
  vfs::Path p;
  if (int64_t r = resolve_at(c, dirfd, upath, AT_EMPTY_PATH, false, p)) return r;
  std::string target;
  if (int64_t r = p.inode().readlink(target)) return r;
  size_t len = std::min<size_t>(target.size(), size);
  return c.mm().copy_to_user(ubuf, target.data(), len) ? -EFAULT : int64_t(len);
}

int64_t sys_readlink(SyscallCtx& c, const SyscallArgs& a) {
  std::string path;
  if (int64_t r = user_path(c, a.a[0], path)) return r;
  if (path.empty()) return -ENOENT;
  return do_readlink(c, uint64_t(AT_FDCWD), a.a[0], a.a[1], a.a[2]);
}
int64_t sys_readlinkat(SyscallCtx& c, const SyscallArgs& a) { return do_readlink(c, a.a[0], a.a[1], a.a[2], a.a[3]); }

int64_t sys_getdents64(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f || (f->flags & O_PATH)) return -EBADF;
  std::vector<uint8_t> buf(std::min<uint64_t>(a.a[2], 1 << 16));
  int64_t n = f->getdents64(buf.data(), buf.size());
  if (n <= 0) return n;
  return c.mm().copy_to_user(a.a[1], buf.data(), size_t(n)) ? -EFAULT : n;
}

} // namespace

void register_fs_open_syscalls(SyscallTable& t) {
  t.add(SYS_open, sys_open, "sxo");
  t.add(SYS_openat, sys_openat, "dsxo");
  t.add(SYS_creat, sys_creat, "so");
  t.add(SYS_stat, sys_stat, "sx");
  t.add(SYS_lstat, sys_lstat, "sx");
  t.add(SYS_fstat, sys_fstat, "dx");
  t.add(SYS_newfstatat, sys_newfstatat, "dsxx");
  t.add(SYS_statx, sys_statx, "dsxxx");
  t.add(SYS_access, sys_access, "sd");
  t.add(SYS_faccessat, sys_faccessat, "dsd");
  t.add(SYS_faccessat2, sys_faccessat2, "dsdx");
  t.add(SYS_readlink, sys_readlink, "sxu");
  t.add(SYS_readlinkat, sys_readlinkat, "dsxu");
  t.add(SYS_getdents64, sys_getdents64, "dxu");
}

} // namespace gk
