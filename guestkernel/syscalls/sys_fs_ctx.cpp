// A process's place in the file tree: cwd, root, umask; and mount/umount.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "guestkernel/syscalls/fs_args.h"

namespace gk {

namespace {

int64_t enter_dir(SyscallCtx& c, const vfs::Path& p, vfs::Path& slot) {
  if (!S_ISDIR(p.inode().mode())) return -ENOTDIR;
  if (int64_t r = vfs::permission(p.inode(), c.proc().creds, 1)) return r;
  slot = p;
  return 0;
}

int64_t sys_chdir(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, uint64_t(AT_FDCWD), a.a[0], 0, true, p)) return r;
  return enter_dir(c, p, c.proc().fs->cwd);
}

int64_t sys_fchdir(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  if (!f->path()) return -ENOTDIR;
  return enter_dir(c, *f->path(), c.proc().fs->cwd);
}

int64_t sys_chroot(SyscallCtx& c, const SyscallArgs& a) {
  vfs::Path p;
  if (int64_t r = resolve_at(c, uint64_t(AT_FDCWD), a.a[0], 0, true, p)) return r;
  if (c.proc().creds.euid != 0) return -EPERM;
  return enter_dir(c, p, c.proc().fs->root);
}

int64_t sys_getcwd(SyscallCtx& c, const SyscallArgs& a) {
  const vfs::FsContext& fs = *c.proc().fs;
  // A removed directory has no name left: rmdir leaves it with no links.
  struct stat st;
  if (fs.cwd.inode().getattr(st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 0) return -ENOENT;
  std::string cwd;
  if (!vfs::Vfs::path_of(fs.cwd, fs.root, cwd)) { // outside the root (after chroot)
    vfs::Vfs::path_of(fs.cwd, vfs::Path{}, cwd);
    cwd = "(unreachable)" + cwd;
  }
  if (a.a[1] < cwd.size() + 1) return -ERANGE;
  return c.mm().copy_to_user(a.a[0], cwd.c_str(), cwd.size() + 1) ? -EFAULT : int64_t(cwd.size() + 1);
}

int64_t sys_umask(SyscallCtx& c, const SyscallArgs& a) {
  mode_t old = c.proc().fs->umask;
  c.proc().fs->umask = mode_t(a.a[0]) & 0777;
  return old;
}

int64_t user_string_or_empty(SyscallCtx& c, uint64_t p, std::string& out) {
  out.clear();
  return p ? user_path(c, p, out) : 0;
}

int64_t sys_mount(SyscallCtx& c, const SyscallArgs& a) {
  if (c.proc().creds.euid != 0) return -EPERM;
  std::string source, type, data;
  if (int64_t r = user_string_or_empty(c, a.a[0], source)) return r;
  if (int64_t r = user_string_or_empty(c, a.a[2], type)) return r;
  if (a.a[4]) {
    char buf[4096];
    int64_t n = c.mm().strncpy_from_user(buf, a.a[4], sizeof buf - 1);
    if (n < 0) return n;
    data.assign(buf, size_t(n));
  }
  vfs::Path at;
  if (int64_t r = resolve_at(c, uint64_t(AT_FDCWD), a.a[1], 0, true, at)) return r;
  unsigned long flags = a.a[3];
  if ((flags & MS_MGC_MSK) == MS_MGC_VAL) flags &= ~MS_MGC_MSK;
  if (flags & MS_REMOUNT) { // only the read-only and per-mount flags change
    if (at.dentry != at.mnt->root) return -EINVAL;
    at.mnt->flags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
    return 0;
  }
  if (flags & (MS_BIND | MS_MOVE | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)) return -EINVAL;
  std::shared_ptr<vfs::Filesystem> fs;
  if (int64_t r = vfs::make_fs(type, source, data, fs)) return r;
  return c.kernel.vfs().mount(std::move(fs), at, flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
}

int64_t sys_umount2(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[1]);
  if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) return -EINVAL;
  if (c.proc().creds.euid != 0) return -EPERM;
  vfs::Path at;
  if (int64_t r = resolve_at(c, uint64_t(AT_FDCWD), a.a[0], 0, !(flags & UMOUNT_NOFOLLOW), at)) return r;
  return c.kernel.vfs().umount(at);
}

} // namespace

void register_fs_ctx_syscalls(SyscallTable& t) {
  t.add(SYS_chdir, sys_chdir, "s");
  t.add(SYS_fchdir, sys_fchdir, "d");
  t.add(SYS_chroot, sys_chroot, "s");
  t.add(SYS_getcwd, sys_getcwd, "xu");
  t.add(SYS_umask, sys_umask, "o");
  t.add(SYS_mount, sys_mount, "sssxx");
  t.add(SYS_umount2, sys_umount2, "sx");
}

} // namespace gk
