// Changing names: mkdir, mknod, rmdir, unlink, rename, link, symlink.
#include <fcntl.h>
#include <sys/syscall.h>

#include "guestkernel/syscalls/fs_args.h"

namespace gk {

namespace {

constexpr uint64_t kCwd = uint64_t(AT_FDCWD);

int64_t do_mkdir(SyscallCtx& c, uint64_t dirfd, uint64_t upath, mode_t mode) {
  std::optional<vfs::OpCtx> op;
  std::string path;
  if (int64_t r = op_at(c, dirfd, upath, path, op)) return r;
  return vfs::mkdir(*op, path, mode);
}
int64_t sys_mkdir(SyscallCtx& c, const SyscallArgs& a) { return do_mkdir(c, kCwd, a.a[0], mode_t(a.a[1])); }
int64_t sys_mkdirat(SyscallCtx& c, const SyscallArgs& a) { return do_mkdir(c, a.a[0], a.a[1], mode_t(a.a[2])); }

int64_t do_mknod(SyscallCtx& c, uint64_t dirfd, uint64_t upath, mode_t mode, uint64_t dev) {
  std::optional<vfs::OpCtx> op;
  std::string path;
  if (int64_t r = op_at(c, dirfd, upath, path, op)) return r;
  return vfs::mknod(*op, path, mode, dev_t(dev));
}
int64_t sys_mknod(SyscallCtx& c, const SyscallArgs& a) { return do_mknod(c, kCwd, a.a[0], mode_t(a.a[1]), a.a[2]); }
int64_t sys_mknodat(SyscallCtx& c, const SyscallArgs& a) { return do_mknod(c, a.a[0], a.a[1], mode_t(a.a[2]), a.a[3]); }

int64_t do_unlink(SyscallCtx& c, uint64_t dirfd, uint64_t upath, int flags) {
  if (flags & ~AT_REMOVEDIR) return -EINVAL;
  std::optional<vfs::OpCtx> op;
  std::string path;
  if (int64_t r = op_at(c, dirfd, upath, path, op)) return r;
  return (flags & AT_REMOVEDIR) ? vfs::rmdir(*op, path) : vfs::unlink(*op, path);
}
int64_t sys_unlink(SyscallCtx& c, const SyscallArgs& a) { return do_unlink(c, kCwd, a.a[0], 0); }
int64_t sys_rmdir(SyscallCtx& c, const SyscallArgs& a) { return do_unlink(c, kCwd, a.a[0], AT_REMOVEDIR); }
int64_t sys_unlinkat(SyscallCtx& c, const SyscallArgs& a) { return do_unlink(c, a.a[0], a.a[1], int(a.a[2])); }

int64_t do_rename(SyscallCtx& c, uint64_t olddir, uint64_t oldp, uint64_t newdir, uint64_t newp, unsigned flags) {
  std::optional<vfs::OpCtx> from, to;
  std::string op, np;
  if (int64_t r = op_at(c, olddir, oldp, op, from)) return r;
  if (int64_t r = op_at(c, newdir, newp, np, to)) return r;
  return vfs::rename(*from, op, *to, np, flags);
}
int64_t sys_rename(SyscallCtx& c, const SyscallArgs& a) { return do_rename(c, kCwd, a.a[0], kCwd, a.a[1], 0); }
int64_t sys_renameat(SyscallCtx& c, const SyscallArgs& a) { return do_rename(c, a.a[0], a.a[1], a.a[2], a.a[3], 0); }
int64_t sys_renameat2(SyscallCtx& c, const SyscallArgs& a) {
  return do_rename(c, a.a[0], a.a[1], a.a[2], a.a[3], unsigned(a.a[4]));
}

int64_t do_link(SyscallCtx& c, uint64_t olddir, uint64_t oldp, uint64_t newdir, uint64_t newp, int flags) {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  vfs::Path old;
  if (int64_t r = resolve_at(c, olddir, oldp, flags, false, old)) return r;
  std::optional<vfs::OpCtx> to;
  std::string np;
  if (int64_t r = op_at(c, newdir, newp, np, to)) return r;
  return vfs::link_path(old, *to, np);
}
int64_t sys_link(SyscallCtx& c, const SyscallArgs& a) { return do_link(c, kCwd, a.a[0], kCwd, a.a[1], 0); }
int64_t sys_linkat(SyscallCtx& c, const SyscallArgs& a) { return do_link(c, a.a[0], a.a[1], a.a[2], a.a[3], int(a.a[4])); }

int64_t do_symlink(SyscallCtx& c, uint64_t utarget, uint64_t dirfd, uint64_t upath) {
  std::string target;
  if (int64_t r = user_path(c, utarget, target)) return r;
  std::optional<vfs::OpCtx> op;
  std::string path;
  if (int64_t r = op_at(c, dirfd, upath, path, op)) return r;
  return vfs::symlink(*op, target, path);
}
int64_t sys_symlink(SyscallCtx& c, const SyscallArgs& a) { return do_symlink(c, a.a[0], kCwd, a.a[1]); }
int64_t sys_symlinkat(SyscallCtx& c, const SyscallArgs& a) { return do_symlink(c, a.a[0], a.a[1], a.a[2]); }

} // namespace

void register_fs_dir_syscalls(SyscallTable& t) {
  t.add(SYS_mkdir, sys_mkdir, "so");
  t.add(SYS_mkdirat, sys_mkdirat, "dso");
  t.add(SYS_mknod, sys_mknod, "sox");
  t.add(SYS_mknodat, sys_mknodat, "dsox");
  t.add(SYS_unlink, sys_unlink, "s");
  t.add(SYS_rmdir, sys_rmdir, "s");
  t.add(SYS_unlinkat, sys_unlinkat, "dsx");
  t.add(SYS_rename, sys_rename, "ss");
  t.add(SYS_renameat, sys_renameat, "dsds");
  t.add(SYS_renameat2, sys_renameat2, "dsdsx");
  t.add(SYS_link, sys_link, "ss");
  t.add(SYS_linkat, sys_linkat, "dsdsx");
  t.add(SYS_symlink, sys_symlink, "ss");
  t.add(SYS_symlinkat, sys_symlinkat, "sds");
}

} // namespace gk
