// Changing overlay directories: every change is made in the upper layer
// (after copying the directory up), and removing a name the lower layer
// has leaves a whiteout. The VFS has already checked permissions and that
// names exist or not (through lookup here).
#include <linux/fs.h>

#include "guestkernel/fs/overlay_inode.h"

namespace gk::fs {

int64_t OvInode::mknod(const std::string& n, mode_t mode, dev_t rdev, const vfs::Owner& o,
                       std::shared_ptr<vfs::Inode>& out) {
  if (int64_t r = copy_up()) return r;
  std::shared_ptr<vfs::Inode> up;
  if (int64_t r = upper->mknod(n, mode, rdev, o, up)) return r;
  ofs_.unwhiteout(*this, n);
  out = adopt(n, std::move(up), nullptr);
  return 0;
}

int64_t OvInode::mkdir(const std::string& n, mode_t mode, const vfs::Owner& o) {
  if (int64_t r = copy_up()) return r;
  bool was_removed = ofs_.whited_out(*this, n);
  if (int64_t r = upper->mkdir(n, mode, o)) return r;
  if (was_removed) { // the lower directory of that name stays hidden
    ofs_.unwhiteout(*this, n);
    std::shared_ptr<vfs::Inode> up;
    if (upper->lookup(n, up) == 0) ofs_.set_opaque(up);
  }
  return 0;
}

int64_t OvInode::symlink(const std::string& n, const std::string& target, const vfs::Owner& o) {
  if (int64_t r = copy_up()) return r;
  if (int64_t r = upper->symlink(n, target, o)) return r;
  ofs_.unwhiteout(*this, n);
  return 0;
}

int64_t OvInode::link(const std::string& n, vfs::Inode& target) {
  auto& t = static_cast<OvInode&>(target); // the VFS links within one mount only
  if (int64_t r = t.copy_up()) return r;
  if (int64_t r = copy_up()) return r;
  if (int64_t r = upper->link(n, *t.upper)) return r;
  ofs_.unwhiteout(*this, n);
  return 0;
}

int64_t OvInode::unlink(const std::string& n) {
  std::shared_ptr<OvInode> c;
  if (int64_t r = child(n, c)) return r;
  if (int64_t r = copy_up()) return r;
  bool hide = lower_has(n);
  if (c->upper) {
    struct stat st;
    bool last = c->upper->getattr(st) == 0 && st.st_nlink <= 1;
    if (int64_t r = upper->unlink(n)) return r;
    if (last) ofs_.drop_origin(st.st_ino);
  }
  if (hide) ofs_.whiteout(*this, n);
  forget(n);
  return 0;
}

// A directory can go when nothing shows in it (whited-out lower names don't count).
int64_t OvInode::check_empty() {
  std::vector<vfs::DirEntry> entries;
  if (int64_t r = readdir(entries)) return r;
  return entries.empty() ? 0 : -ENOTEMPTY;
}

int64_t OvInode::rmdir(const std::string& n) {
  std::shared_ptr<OvInode> c;
  if (int64_t r = child(n, c)) return r;
  if (!c->is_dir()) return -ENOTDIR;
  if (int64_t r = c->check_empty()) return r;
  if (int64_t r = copy_up()) return r;
  bool hide = lower_has(n);
  if (c->upper) {
    if (int64_t r = upper->rmdir(n)) return r;
    ofs_.drop_dir(*c->upper);
  }
  if (hide) ofs_.whiteout(*this, n);
  forget(n);
  return 0;
}

int64_t OvInode::rename(const std::string& n, vfs::Inode& newdir, const std::string& newname, unsigned flags) {
  auto& nd = static_cast<OvInode&>(newdir);
  bool exchange = flags & RENAME_EXCHANGE;
  std::shared_ptr<OvInode> src, dst;
  if (int64_t r = child(n, src)) return r;
  int64_t dr = nd.child(newname, dst);
  if (dr && dr != -ENOENT) return dr;
  bool src_dir = src->is_dir(), dst_dir = dst && dst->is_dir();
  // Moving a directory that has lower contents would need redirects: EXDEV,
  // as Linux without redirect_dir (mv copies instead).
  if ((src_dir && src->lower) || (exchange && dst_dir && dst->lower)) return -EXDEV;
  if (dst && dst_dir && !exchange)
    if (int64_t r = dst->check_empty()) return r;
  if (int64_t r = copy_up()) return r;
  if (int64_t r = nd.copy_up()) return r;
  if (int64_t r = src->copy_up()) return r;
  if (exchange)
    if (int64_t r = dst->copy_up()) return r;
  bool src_hide = lower_has(n);
  if (int64_t r = upper->rename(n, *nd.upper, newname, flags)) return r;
  if (exchange) {
    // Both names stay taken; a directory that lands on a lower directory's
    // name must not merge with it.
    if (src_dir && nd.lower_has(newname)) ofs_.set_opaque(src->upper);
    if (dst_dir && lower_has(n)) ofs_.set_opaque(dst->upper);
    forget(n);
    nd.forget(newname);
    dst->name = n;
    dst->parent = self();
    dst->removed = false;
    children_[n] = dst;
  } else {
    if (dst && dst_dir && dst->upper) ofs_.drop_dir(*dst->upper);
    if (src_hide) ofs_.whiteout(*this, n);
    ofs_.unwhiteout(nd, newname);
    if (src_dir && nd.lower_has(newname)) ofs_.set_opaque(src->upper);
    forget(n);
    nd.forget(newname);
  }
  src->name = newname;
  src->parent = std::static_pointer_cast<OvInode>(nd.shared_from_this());
  src->removed = false;
  nd.children_[newname] = src;
  return 0;
}

} // namespace gk::fs
