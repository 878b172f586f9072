// Copy-up: before a lower file changes, the upper layer gets a copy of it
// (directories: an empty directory that then merges with the lower one),
// with the lower file's mode, owner and times. Parents are copied first.
#include <vector>

#include "guestkernel/fs/overlay_inode.h"

namespace gk::fs {

namespace {

// Copies `limit` bytes at most of `from`'s data into `to`.
int64_t copy_data(vfs::Inode& from, vfs::Inode& to, uint64_t size) {
  std::vector<char> buf(1 << 16);
  for (uint64_t off = 0; off < size;) {
    int64_t n = from.read(buf.data(), std::min<uint64_t>(buf.size(), size - off), off);
    if (n < 0) return n;
    if (n == 0) break;
    for (int64_t done = 0; done < n;) {
      int64_t w = to.write(buf.data() + done, size_t(n - done), off + uint64_t(done));
      if (w < 0) return w;
      if (w == 0) return -EIO;
      done += w;
    }
    off += uint64_t(n);
  }
  return 0;
}

} // namespace

int64_t OvInode::copy_up(uint64_t limit) {
  if (upper) return 0;
  if (!parent) return -ENOENT; // removed while open: there is no name to copy it to
  if (int64_t r = parent->copy_up()) return r;
  struct stat st;
  if (int64_t r = lower->getattr(st)) return r;
  vfs::Inode& dir = *parent->upper;
  vfs::Owner owner{st.st_uid, st.st_gid};
  std::shared_ptr<vfs::Inode> up;
  int64_t r;
  if (S_ISREG(st.st_mode)) {
    r = dir.mknod(name, S_IFREG | (st.st_mode & 07777), 0, owner, up);
    if (r == 0) {
      r = copy_data(*lower, *up, std::min<uint64_t>(limit, uint64_t(st.st_size)));
      if (r) dir.unlink(name); // no half copies (e.g. the tmpfs is full)
    }
  } else if (S_ISDIR(st.st_mode)) {
    r = dir.mkdir(name, st.st_mode & 07777, owner);
  } else if (S_ISLNK(st.st_mode)) {
    std::string target;
    r = lower->readlink(target);
    if (r == 0) r = dir.symlink(name, target, owner);
  } else {
    r = dir.mknod(name, st.st_mode, st.st_rdev, owner, up);
  }
  if (r) return r;
  if (!up)
    if (int64_t e = dir.lookup(name, up)) return e;
  // Exact mode (set-id bits, no umask), owner and times of the lower file.
  vfs::SetAttr a;
  a.mask = vfs::SetAttr::kUid | vfs::SetAttr::kGid;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  if (!S_ISLNK(st.st_mode)) {
    a.mask |= vfs::SetAttr::kMode | vfs::SetAttr::kAtime | vfs::SetAttr::kMtime;
    a.mode = st.st_mode & 07777;
    a.atime = st.st_atim;
    a.mtime = st.st_mtim;
  }
  up->setattr(a);
  ofs_.set_origin(up->ino(), ino());
  upper = std::move(up);
  return 0;
}

} // namespace gk::fs
