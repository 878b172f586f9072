#include "guestkernel/syscalls/fs_args.h"

namespace gk {

int64_t user_path(SyscallCtx& c, uint64_t upath, std::string& out) {
  char buf[4097];
  int64_t n = c.mm().strncpy_from_user(buf, upath, 4096);
  if (n < 0) return n;
  if (n == 4096) return -ENAMETOOLONG;
  out.assign(buf, size_t(n));
  return 0;
}

int64_t start_dir(SyscallCtx& c, int dirfd, const std::string& path, vfs::Path& start) {
  if ((!path.empty() && path[0] == '/') || dirfd == AT_FDCWD) {
    start = c.proc().fs->cwd;
    return 0;
  }
  auto f = c.proc().fds->get(dirfd);
  if (!f) return -EBADF;
  const vfs::Path* p = f->path();
  if (!p) return -ENOTDIR;
  if (!path.empty() && !S_ISDIR(p->inode().mode())) return -ENOTDIR;
  start = *p;
  return 0;
}

vfs::OpCtx op_ctx(SyscallCtx& c, vfs::Path start) {
  return vfs::OpCtx{c.kernel.vfs(), *c.proc().fs, c.proc().creds, std::move(start)};
}

int64_t op_at(SyscallCtx& c, uint64_t dirfd, uint64_t upath, std::string& path, std::optional<vfs::OpCtx>& out) {
  if (int64_t r = user_path(c, upath, path)) return r;
  vfs::Path start;
  if (int64_t r = start_dir(c, int(dirfd), path, start)) return r;
  out.emplace(op_ctx(c, std::move(start)));
  return 0;
}

int64_t resolve_at(SyscallCtx& c, uint64_t dirfd, uint64_t upath, int at_flags, bool follow, vfs::Path& out) {
  std::string path;
  if (int64_t r = user_path(c, upath, path)) return r;
  vfs::Path start;
  if (path.empty()) {
    if (!(at_flags & AT_EMPTY_PATH)) return -ENOENT;
    if (int32_t(dirfd) == AT_FDCWD) {
      out = c.proc().fs->cwd;
      return 0;
    }
    auto f = c.proc().fds->get(int(dirfd));
    if (!f) return -EBADF;
    if (!f->path()) return -ENOTDIR; // pipes and such have no name to act on
    out = *f->path();
    return 0;
  }
  if (int64_t r = start_dir(c, int(dirfd), path, start)) return r;
  if (at_flags & AT_SYMLINK_NOFOLLOW) follow = false;
  if (at_flags & AT_SYMLINK_FOLLOW) follow = true;
  vfs::WalkCtx w{*c.proc().fs, c.proc().creds};
  return c.kernel.vfs().resolve(w, start, path, follow ? vfs::kFollow : 0, out);
}

} // namespace gk
