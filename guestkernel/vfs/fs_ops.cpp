#include "guestkernel/vfs/fs_ops.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include "guestkernel/task.h"
#include "guestkernel/vfs/fifo.h"
#include "guestkernel/vfs/inode_file.h"

namespace gk::vfs {

namespace {

bool is_dot(const std::string& n) { return n == "." || n == ".."; }

int64_t check_writable_dir(const Path& dir, const Creds& cr) {
  if (dir.mnt->read_only()) return -EROFS;
  // A removed directory (no links left) takes no new names, on any file system.
  struct stat st;
  if (dir.inode().getattr(st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 0) return -ENOENT;
  return permission(dir.inode(), cr, 3); // W|X
}

// The child `name` of `dir`, or -errno (ENOENT when absent).
int64_t child(const Path& dir, const std::string& name, Path& out) {
  std::shared_ptr<Inode> ino;
  if (int64_t r = dir.inode().lookup(name, ino)) return r;
  out = Path{dir.mnt, std::make_shared<Dentry>(Dentry{name, dir.dentry, std::move(ino)})};
  return 0;
}

// Sticky directories: only the owner of the file or of the directory (or
// root) may remove or rename entries.
int64_t check_sticky(const Path& dir, Inode& victim, const Creds& cr) {
  struct stat d, v;
  if (cr.euid == 0 || dir.inode().getattr(d) || !(d.st_mode & S_ISVTX)) return 0;
  if (victim.getattr(v)) return 0;
  return (v.st_uid == cr.euid || d.st_uid == cr.euid) ? 0 : -EPERM;
}

Owner owner_of(const Creds& cr) { return Owner{cr.euid, cr.egid}; }

} // namespace

int64_t open_path(const OpCtx& c, const Path& p, int flags, std::shared_ptr<File>& out) {
  struct stat st;
  if (int64_t r = p.inode().getattr(st)) return r;
  if (flags & O_PATH) { // a handle on the name only: no access checks, no I/O
    if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    out = std::make_shared<InodeFile>(p, flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    return 0;
  }
  if (S_ISLNK(st.st_mode)) return -ELOOP; // O_NOFOLLOW on a symlink
  if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) return -ENOTDIR;
  int acc = flags & O_ACCMODE;
  bool wants_write = acc != O_RDONLY || (flags & O_TRUNC);
  if (S_ISDIR(st.st_mode) && (acc != O_RDONLY || (flags & O_CREAT))) return -EISDIR;
  if (acc == 3) return -EINVAL;
  int mask = (acc == O_RDONLY ? 4 : acc == O_WRONLY ? 2 : 6) | ((flags & O_TRUNC) ? 2 : 0);
  if (int64_t r = permission(p.inode(), c.creds, mask)) return r;
  if (wants_write && p.mnt->read_only() && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) return -EROFS;
  if ((flags & O_TRUNC) && S_ISREG(st.st_mode) && st.st_size != 0) {
    SetAttr a;
    a.mask = SetAttr::kSize | SetAttr::kMtime | SetAttr::kCtime;
    a.size = 0;
    clock_gettime(CLOCK_REALTIME, &a.mtime);
    a.ctime = a.mtime;
    if (int64_t r = p.inode().setattr(a)) return r;
  }
  if (S_ISSOCK(st.st_mode)) return -ENXIO; // a socket is reached by connect(2), never opened
  if (S_ISFIFO(st.st_mode) && !p.inode().opens_itself()) {
    if (!c.io) return -ENXIO;
    return open_fifo(*c.io, p, flags & (O_ACCMODE | O_NONBLOCK | O_CLOEXEC), out);
  }
  constexpr int kKept = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_LARGEFILE | O_SYNC |
                        O_DSYNC | O_ASYNC | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  return p.inode().open(p, (flags & kKept) | O_LARGEFILE, out);
}

namespace {
int64_t open_at_depth(const OpCtx& c, const std::string& path, int flags, mode_t mode, std::shared_ptr<File>& out,
                      int links);
}

int64_t open(const OpCtx& c, const std::string& path, int flags, mode_t mode, std::shared_ptr<File>& out) {
  return open_at_depth(c, path, flags, mode, out, 0);
}

namespace {
// `links`: dangling symlinks followed so far by O_CREAT (each creates its target).
int64_t open_at_depth(const OpCtx& c, const std::string& path, int flags, mode_t mode, std::shared_ptr<File>& out,
                      int links) {
  if ((flags & O_TMPFILE) == O_TMPFILE) return -EOPNOTSUPP;
  bool follow = !(flags & O_NOFOLLOW);
  Path p;
  if (!(flags & O_CREAT)) {
    if (int64_t r = c.vfs.resolve(c.walk(), c.start, path, follow ? kFollow : 0, p)) return r;
    return open_path(c, p, flags, out);
  }
  Path dir;
  std::string last;
  bool slash = false;
  if (int64_t r = c.vfs.resolve_parent(c.walk(), c.start, path, dir, last, &slash)) return r;
  if (slash || is_dot(last)) return -EISDIR;
  int64_t r = child(dir, last, p);
  if (r == 0) {
    if (flags & O_EXCL) return -EEXIST;
    if (S_ISLNK(p.inode().mode())) {
      if (!follow) return -ELOOP;
      int64_t e = c.vfs.resolve(c.walk(), c.start, path, kFollow, p);
      if (e == -ENOENT) { // a dangling symlink: O_CREAT creates its target, as on Linux
        std::string target;
        if (++links > 40) return -ELOOP;
        if (int64_t t = p.inode().readlink(target)) return t;
        OpCtx from_link = c;
        from_link.start = dir;
        return open_at_depth(from_link, target, flags, mode, out, links);
      }
      if (e) return e;
    }
    if (S_ISDIR(p.inode().mode())) return -EISDIR;
    return open_path(c, p, flags & ~O_CREAT, out);
  }
  if (r != -ENOENT) return r;
  if (int64_t e = check_writable_dir(dir, c.creds)) return e;
  std::shared_ptr<Inode> ino;
  if (int64_t e = dir.inode().mknod(last, S_IFREG | (mode & ~c.fs.umask & 07777), 0, owner_of(c.creds), ino))
    return e;
  p = Path{dir.mnt, std::make_shared<Dentry>(Dentry{last, dir.dentry, std::move(ino)})};
  // A new file is opened with the access asked for, whatever mode it got.
  return p.inode().open(p, (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_LARGEFILE, out);
}
} // namespace

int64_t mknod(const OpCtx& c, const std::string& path, mode_t mode, dev_t dev, Path* made) {
  mode_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (type != S_IFREG && type != S_IFIFO && type != S_IFCHR && type != S_IFBLK && type != S_IFSOCK) return -EINVAL;
  if ((type == S_IFCHR || type == S_IFBLK) && c.creds.euid != 0) return -EPERM;
  Path dir, p;
  std::string last;
  bool slash = false;
  if (int64_t r = c.vfs.resolve_parent(c.walk(), c.start, path, dir, last, &slash)) return r;
  if (is_dot(last) || child(dir, last, p) == 0) return -EEXIST;
  if (slash) return -ENOENT;
  if (int64_t r = check_writable_dir(dir, c.creds)) return r;
  std::shared_ptr<Inode> ino;
  if (int64_t r = dir.inode().mknod(last, type | (mode & ~c.fs.umask & 07777), dev, owner_of(c.creds), ino)) return r;
  if (made) *made = Path{dir.mnt, std::make_shared<Dentry>(Dentry{last, dir.dentry, std::move(ino)})};
  return 0;
}

int64_t mkdir(const OpCtx& c, const std::string& path, mode_t mode) {
  Path dir, p;
  std::string last;
  if (int64_t r = c.vfs.resolve_parent(c.walk(), c.start, path, dir, last)) return r;
  if (is_dot(last) || child(dir, last, p) == 0) return -EEXIST;
  if (int64_t r = check_writable_dir(dir, c.creds)) return r;
  return dir.inode().mkdir(last, mode & ~c.fs.umask & 01777, owner_of(c.creds));
}

int64_t rmdir(const OpCtx& c, const std::string& path) {
  Path dir, p;
  std::string last;
  if (int64_t r = c.vfs.resolve_parent(c.walk(), c.start, path, dir, last)) return r;
  if (last == ".") return -EINVAL;
  if (last == "..") return -ENOTEMPTY;
  if (int64_t r = child(dir, last, p)) return r;
  if (!S_ISDIR(p.inode().mode())) return -ENOTDIR;
  if (c.vfs.mounted_on(p)) return -EBUSY;
  if (int64_t r = check_writable_dir(dir, c.creds)) return r;
  if (int64_t r = check_sticky(dir, p.inode(), c.creds)) return r;
  return dir.inode().rmdir(last);
}

int64_t unlink(const OpCtx& c, const std::string& path) {
  Path dir, p;
  std::string last;
  bool slash = false;
  if (int64_t r = c.vfs.resolve_parent(c.walk(), c.start, path, dir, last, &slash)) return r;
  if (is_dot(last)) return -EISDIR;
  if (int64_t r = child(dir, last, p)) return r;
  mode_t m = p.inode().mode();
  if (S_ISDIR(m)) return -EISDIR;
  if (slash) return -ENOTDIR;
  if (int64_t r = check_writable_dir(dir, c.creds)) return r;
  if (int64_t r = check_sticky(dir, p.inode(), c.creds)) return r;
  return dir.inode().unlink(last);
}

int64_t symlink(const OpCtx& c, const std::string& target, const std::string& path) {
  if (target.empty()) return -ENOENT;
  Path dir, p;
  std::string last;
  bool slash = false;
  if (int64_t r = c.vfs.resolve_parent(c.walk(), c.start, path, dir, last, &slash)) return r;
  if (is_dot(last) || child(dir, last, p) == 0) return -EEXIST;
  if (slash) return -ENOENT;
  if (int64_t r = check_writable_dir(dir, c.creds)) return r;
  return dir.inode().symlink(last, target, owner_of(c.creds));
}

int64_t link_path(const Path& old, const OpCtx& to, const std::string& newpath) {
  Path dir, p;
  std::string last;
  bool slash = false;
  if (int64_t r = to.vfs.resolve_parent(to.walk(), to.start, newpath, dir, last, &slash)) return r;
  if (is_dot(last) || child(dir, last, p) == 0) return -EEXIST;
  if (slash) return -ENOENT;
  if (S_ISDIR(old.inode().mode())) return -EPERM;
  if (dir.mnt != old.mnt) return -EXDEV;
  if (int64_t r = check_writable_dir(dir, to.creds)) return r;
  return dir.inode().link(last, old.inode());
}

int64_t link(const OpCtx& from, const std::string& oldpath, const OpCtx& to, const std::string& newpath,
             bool follow) {
  Path old;
  if (int64_t r = from.vfs.resolve(from.walk(), from.start, oldpath, follow ? kFollow : 0, old)) return r;
  return link_path(old, to, newpath);
}

int64_t rename(const OpCtx& from, const std::string& oldpath, const OpCtx& to, const std::string& newpath,
               unsigned flags) {
  if (flags & ~unsigned(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return -EINVAL;
  Path odir, ndir, op, np;
  std::string olast, nlast;
  bool oslash = false, nslash = false;
  if (int64_t r = from.vfs.resolve_parent(from.walk(), from.start, oldpath, odir, olast, &oslash)) return r;
  if (int64_t r = to.vfs.resolve_parent(to.walk(), to.start, newpath, ndir, nlast, &nslash)) return r;
  if (is_dot(olast) || is_dot(nlast)) return -EBUSY;
  if (odir.mnt != ndir.mnt) return -EXDEV;
  if (int64_t r = child(odir, olast, op)) return r;
  bool odir_is_dir = S_ISDIR(op.inode().mode());
  if ((oslash || nslash) && !odir_is_dir) return -ENOTDIR;
  int64_t nr = child(ndir, nlast, np);
  if (nr && nr != -ENOENT) return nr;
  bool exists = nr == 0;
  if ((flags & RENAME_EXCHANGE) && !exists) return -ENOENT;
  if ((flags & RENAME_NOREPLACE) && exists) return -EEXIST;
  // Before any type check, as Linux (lock_rename's trap): the source may not
  // be above the new name (EINVAL), nor the new name above the source
  // (ENOTEMPTY; EINVAL for an exchange).
  for (auto d = ndir.dentry; d; d = d->parent)
    if (d->inode.get() == &op.inode()) return -EINVAL;
  if (exists)
    for (auto d = odir.dentry; d; d = d->parent)
      if (d->inode.get() == &np.inode()) return (flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
  if (int64_t r = check_writable_dir(odir, from.creds)) return r;
  if (int64_t r = check_writable_dir(ndir, to.creds)) return r;
  if (int64_t r = check_sticky(odir, op.inode(), from.creds)) return r;
  if (exists && np.inode().ino() == op.inode().ino() && &np.inode() == &op.inode()) return 0; // the same file
  if (exists && !(flags & RENAME_EXCHANGE)) {
    bool ndir_is_dir = S_ISDIR(np.inode().mode());
    if (odir_is_dir && !ndir_is_dir) return -ENOTDIR;
    if (!odir_is_dir && ndir_is_dir) return -EISDIR;
    if (to.vfs.mounted_on(np)) return -EBUSY;
    if (int64_t r = check_sticky(ndir, np.inode(), to.creds)) return r;
  }
  if (from.vfs.mounted_on(op)) return -EBUSY;
  return odir.inode().rename(olast, ndir.inode(), nlast, flags);
}

int64_t setattr(const Path& p, const Creds& cr, const SetAttr& a) {
  struct stat st;
  if (int64_t r = p.inode().getattr(st)) return r;
  if (p.mnt->read_only()) return -EROFS;
  bool owner = cr.euid == 0 || cr.euid == st.st_uid;
  SetAttr b = a;
  if (a.mask & SetAttr::kMode) {
    if (!owner) return -EPERM;
    // A non-root owner outside the file's group loses the setgid bit.
    if (cr.euid != 0 && !cr.in_group(st.st_gid)) b.mode &= ~mode_t(S_ISGID);
  }
  if (a.mask & SetAttr::kUid)
    if (cr.euid != 0 && a.uid != st.st_uid) return -EPERM;
  if (a.mask & SetAttr::kGid)
    if (cr.euid != 0 && (cr.euid != st.st_uid || (a.gid != st.st_gid && !cr.in_group(a.gid)))) return -EPERM;
  if ((a.mask & (SetAttr::kUid | SetAttr::kGid)) && cr.euid != 0 && S_ISREG(st.st_mode) &&
      (st.st_mode & (S_ISUID | S_ISGID))) { // chown clears set-id bits, as Linux does
    b.mask |= SetAttr::kMode;
    b.mode = st.st_mode & 07777 & ~mode_t(S_ISUID | S_ISGID);
  }
  if (a.mask & SetAttr::kSize) {
    if (S_ISDIR(st.st_mode)) return -EISDIR;
    if (!S_ISREG(st.st_mode)) return -EINVAL;
  }
  return p.inode().setattr(b);
}

int64_t access(const Path& p, const Creds& cr, int mode) {
  if (mode & ~7) return -EINVAL;
  if (mode == F_OK) return 0;
  struct stat st;
  if (int64_t r = p.inode().getattr(st)) return r;
  if ((mode & W_OK) && p.mnt->read_only() && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)))
    return -EROFS;
  return permission(p.inode(), cr, mode);
}

} // namespace gk::vfs
