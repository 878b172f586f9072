// The overlay file system: lookup, readdir, attributes and I/O of merged
// files (changes to directories are in overlay_dir_ops.cpp, copy-up in
// overlay_copy_up.cpp).
#include <fcntl.h>

#include "drivers/hostfs.h"
#include "guestkernel/fs/overlay_inode.h"
#include "guestkernel/vfs/vfs.h"

namespace gk::fs {

OvInode::OvInode(OverlayFs& fs, uint64_t ino, std::shared_ptr<OvInode> parent_dir, std::string n,
                 std::shared_ptr<vfs::Inode> up, std::shared_ptr<vfs::Inode> low)
    : Inode(fs, ino), upper(std::move(up)), lower(std::move(low)), parent(std::move(parent_dir)), name(std::move(n)),
      ofs_(fs) {}

int64_t OvInode::getattr(struct stat& st) {
  if (int64_t r = real().getattr(st)) return r;
  st.st_dev = fs().dev;
  st.st_ino = ino();
  // As Linux: counting the subdirectories of both layers is not worth it,
  // and 1 tells find and friends not to rely on the count.
  if (S_ISDIR(st.st_mode) && upper && lower) st.st_nlink = 1;
  // A removed lower file or merged directory: the layers still have it, the overlay does not.
  if (removed && (!upper || S_ISDIR(st.st_mode))) st.st_nlink = 0;
  return 0;
}

int64_t OvInode::setattr(const vfs::SetAttr& a) {
  if (int64_t r = copy_up((a.mask & vfs::SetAttr::kSize) ? a.size : UINT64_MAX)) return r;
  return upper->setattr(a);
}

std::shared_ptr<OvInode> OvInode::cached(const std::string& n) {
  auto it = children_.find(n);
  return it == children_.end() ? nullptr : it->second.lock();
}

void OvInode::forget(const std::string& n) {
  auto it = children_.find(n);
  if (it == children_.end()) return;
  if (auto c = it->second.lock()) {
    c->parent = nullptr;
    c->removed = true;
  }
  children_.erase(it);
}

std::shared_ptr<OvInode> OvInode::adopt(const std::string& n, std::shared_ptr<vfs::Inode> up,
                                        std::shared_ptr<vfs::Inode> low) {
  uint64_t ino = low ? low->ino() : ofs_.ino_of_upper(up->ino());
  auto c = std::make_shared<OvInode>(ofs_, ino, self(), n, std::move(up), std::move(low));
  // Names looked up once and then dropped leave expired entries: sweep them
  // whenever the map has doubled since the last sweep.
  if (children_.size() >= 64 && children_.size() >= 2 * live_after_sweep_) {
    std::erase_if(children_, [](auto& e) { return e.second.expired(); });
    live_after_sweep_ = children_.size();
  }
  children_[n] = c;
  return c;
}

bool OvInode::lower_has(const std::string& n) {
  if (!lower || (upper && ofs_.opaque(*upper)) || ofs_.whited_out(*this, n)) return false;
  std::shared_ptr<vfs::Inode> low;
  return lower->lookup(n, low) == 0;
}

int64_t OvInode::lookup(const std::string& n, std::shared_ptr<vfs::Inode>& out) {
  if (auto c = cached(n)) {
    out = std::move(c);
    return 0;
  }
  std::shared_ptr<vfs::Inode> up, low;
  if (upper) {
    int64_t r = upper->lookup(n, up);
    if (r && r != -ENOENT) return r;
  }
  // The lower entry counts unless hidden, or covered by an upper non-directory.
  bool up_dir = up && S_ISDIR(up->mode());
  if ((!up || up_dir) && lower && !(upper && ofs_.opaque(*upper)) && !ofs_.whited_out(*this, n)) {
    int64_t r = lower->lookup(n, low);
    if (r && r != -ENOENT) return r;
    // An upper directory merges only with a lower directory, and not when opaque.
    if (low && up && (!S_ISDIR(low->mode()) || ofs_.opaque(*up))) low = nullptr;
  }
  if (!up && !low) return -ENOENT;
  out = adopt(n, std::move(up), std::move(low));
  return 0;
}

int64_t OvInode::child(const std::string& n, std::shared_ptr<OvInode>& out) {
  std::shared_ptr<vfs::Inode> c;
  if (int64_t r = lookup(n, c)) return r;
  out = std::static_pointer_cast<OvInode>(c);
  return 0;
}

int64_t OvInode::readdir(std::vector<vfs::DirEntry>& out) {
  size_t first = out.size();
  if (upper) {
    if (int64_t r = upper->readdir(out)) return r;
    for (size_t i = first; i < out.size(); ++i) out[i].ino = ofs_.ino_of_upper(out[i].ino);
  }
  if (!lower || (upper && ofs_.opaque(*upper))) return 0;
  std::vector<vfs::DirEntry> low;
  if (int64_t r = lower->readdir(low)) return r;
  if (!upper) {
    out.insert(out.end(), low.begin(), low.end());
    return 0;
  }
  std::set<std::string> seen;
  for (size_t i = first; i < out.size(); ++i) seen.insert(out[i].name);
  for (auto& e : low)
    if (!seen.count(e.name) && !ofs_.whited_out(*this, e.name)) out.push_back(e);
  return 0;
}

int64_t OvInode::open(const vfs::Path& p, int flags, std::shared_ptr<File>& out) {
  struct stat st;
  if (int64_t r = getattr(st)) return r;
  bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  if (S_ISREG(st.st_mode) && writes)
    if (int64_t r = copy_up()) return r;
  // Files and directories are served through this inode, so I/O follows
  // a later copy-up and directories list merged; others by their layer.
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return Inode::open(p, flags, out);
  return real().open(p, flags, out);
}

int64_t OvInode::write(const void* buf, size_t n, uint64_t off) {
  if (int64_t r = copy_up()) return r;
  return upper->write(buf, n, off);
}

// ---- the file system ----

OverlayFs::OverlayFs(std::shared_ptr<vfs::Filesystem> lower, std::shared_ptr<vfs::Filesystem> upper)
    : lower_(std::move(lower)), upper_(std::move(upper)) {
  dev = vfs::next_anon_dev();
  auto low = lower_->root();
  root_ = std::make_shared<OvInode>(*this, low->ino(), nullptr, "/", upper_->root(), low);
}

int64_t OverlayFs::statfs(struct statfs& st) {
  if (int64_t r = upper_->statfs(st)) return r;
  st.f_type = kOverlayMagic;
  return 0;
}

bool OverlayFs::whited_out(const OvInode& dir, const std::string& name) const {
  if (!dir.upper) return false;
  auto it = dirs_.find(dir.upper.get());
  return it != dirs_.end() && it->second.whiteouts.count(name);
}

void OverlayFs::whiteout(OvInode& dir, const std::string& name) {
  auto& s = dirs_[dir.upper.get()];
  s.keep = dir.upper;
  s.whiteouts.insert(name);
}

void OverlayFs::unwhiteout(OvInode& dir, const std::string& name) {
  auto it = dirs_.find(dir.upper.get());
  if (it != dirs_.end()) it->second.whiteouts.erase(name);
}

bool OverlayFs::opaque(const vfs::Inode& upper_dir) const {
  auto it = dirs_.find(&upper_dir);
  return it != dirs_.end() && it->second.opaque;
}

void OverlayFs::set_opaque(const std::shared_ptr<vfs::Inode>& upper_dir) {
  auto& s = dirs_[upper_dir.get()];
  s.keep = upper_dir;
  s.opaque = true;
  s.whiteouts.clear(); // nothing below to hide
}

void OverlayFs::drop_dir(const vfs::Inode& upper_dir) { dirs_.erase(&upper_dir); }

uint64_t OverlayFs::ino_of_upper(uint64_t upper_ino) const {
  auto it = origin_.find(upper_ino);
  return it != origin_.end() ? it->second : upper_ino | kUpperInoBit;
}

int64_t make_overlay(std::shared_ptr<vfs::Filesystem> lower, std::shared_ptr<vfs::Filesystem> upper,
                     std::shared_ptr<vfs::Filesystem>& out) {
  // The upper root stands in for the lower root: same mode, owner and times.
  struct stat st;
  if (int64_t r = lower->root()->getattr(st)) return r;
  vfs::SetAttr a;
  a.mask = vfs::SetAttr::kMode | vfs::SetAttr::kUid | vfs::SetAttr::kGid | vfs::SetAttr::kAtime |
           vfs::SetAttr::kMtime;
  a.mode = st.st_mode & 07777;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.atime = st.st_atim;
  a.mtime = st.st_mtim;
  if (int64_t r = upper->root()->setattr(a)) return r;
  out = std::make_shared<OverlayFs>(std::move(lower), std::move(upper));
  return 0;
}

void register_overlayfs(const std::string& host_dir) {
  // The source must be the host directory the kernel was started on: a
  // guest's mount(2) must not name any other host directory.
  vfs::register_fs_type("overlay", [host_dir](const std::string& source, const std::string&,
                                              std::shared_ptr<vfs::Filesystem>& out) -> int64_t {
    if (source != host_dir) return -EPERM;
    std::shared_ptr<drivers::HostFs> lower;
    if (int64_t r = drivers::HostFs::create(source, true, lower)) return r;
    std::shared_ptr<vfs::Filesystem> upper;
    if (int64_t r = vfs::make_fs("tmpfs", "overlay", "", upper)) return r;
    return make_overlay(std::move(lower), std::move(upper), out);
  });
}

} // namespace gk::fs
