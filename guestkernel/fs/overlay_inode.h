// The overlay's inode and file system objects (internal to guestkernel/fs/overlay_*.cpp).
//
// An OvInode stands for one name in the merged tree and holds the layer
// inodes behind it: `upper` (after creation or copy-up) and `lower` (a file
// or directory the read-only layer has). Each directory keeps its live
// children by name and each child keeps its parent and name, so a walk
// finds the same OvInode again while anyone holds it (mount points and
// open files compare inodes by identity), and copy-up knows where a file
// lives.
//
// Whiteouts and opaque directories are overlay state, not upper-layer
// files: a set of hidden lower names per upper directory, kept by the file
// system for as long as that directory exists.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "guestkernel/fs/overlayfs.h"

namespace gk::fs {

class OverlayFs;

class OvInode : public vfs::Inode {
public:
  OvInode(OverlayFs& fs, uint64_t ino, std::shared_ptr<OvInode> parent, std::string name,
          std::shared_ptr<vfs::Inode> upper, std::shared_ptr<vfs::Inode> lower);

  int64_t getattr(struct stat& st) override;
  int64_t setattr(const vfs::SetAttr& a) override;
  int64_t lookup(const std::string& name, std::shared_ptr<vfs::Inode>& out) override;
  int64_t mknod(const std::string& name, mode_t mode, dev_t rdev, const vfs::Owner& o,
                std::shared_ptr<vfs::Inode>& out) override;
  int64_t mkdir(const std::string& name, mode_t mode, const vfs::Owner& o) override;
  int64_t symlink(const std::string& name, const std::string& target, const vfs::Owner& o) override;
  int64_t link(const std::string& name, vfs::Inode& target) override;
  int64_t unlink(const std::string& name) override;
  int64_t rmdir(const std::string& name) override;
  int64_t rename(const std::string& name, vfs::Inode& newdir, const std::string& newname, unsigned flags) override;
  int64_t readdir(std::vector<vfs::DirEntry>& out) override;
  int64_t readlink(std::string& out) override { return real().readlink(out); }
  int64_t open(const vfs::Path& path, int flags, std::shared_ptr<File>& out) override;
  int64_t read(void* buf, size_t n, uint64_t off) override { return real().read(buf, n, off); }
  int64_t write(const void* buf, size_t n, uint64_t off) override;
  int64_t fsync() override { return upper ? upper->fsync() : 0; }
  mm::PageCache* page_cache() override { return real().page_cache(); }

  // Makes this file exist in the upper layer (parents first), copying at
  // most `limit` bytes of data (a truncate copies only what it keeps).
  int64_t copy_up(uint64_t limit = UINT64_MAX);

  // The layer that answers for this file now.
  vfs::Inode& real() const { return upper ? *upper : *lower; }
  bool is_dir() { return S_ISDIR(real().mode()); }

  std::shared_ptr<vfs::Inode> upper, lower;
  std::shared_ptr<OvInode> parent; // null for the root and for removed names
  std::string name;                // in parent
  bool removed = false;            // its name is gone (it lives on in open files)

private:
  OverlayFs& ofs_;
  std::shared_ptr<OvInode> self() { return std::static_pointer_cast<OvInode>(shared_from_this()); }
  // The child for `name` from its layer inodes, remembered by name.
  std::shared_ptr<OvInode> adopt(const std::string& name, std::shared_ptr<vfs::Inode> up,
                                 std::shared_ptr<vfs::Inode> low);
  // A live child by name (null if none); forget() detaches it (removed or replaced).
  std::shared_ptr<OvInode> cached(const std::string& name);
  void forget(const std::string& name);
  // Whether the lower layer has a visible `name` under this directory.
  bool lower_has(const std::string& name);
  int64_t child(const std::string& name, std::shared_ptr<OvInode>& out);
  int64_t check_empty();
  std::map<std::string, std::weak_ptr<OvInode>> children_;
  size_t live_after_sweep_ = 0;
};

class OverlayFs : public vfs::Filesystem {
public:
  OverlayFs(std::shared_ptr<vfs::Filesystem> lower, std::shared_ptr<vfs::Filesystem> upper);
  std::shared_ptr<vfs::Inode> root() override { return root_; }
  const char* type() const override { return "overlay"; }
  int64_t statfs(struct statfs& st) override;
  void sync() override { upper_->sync(); }

  // Per upper directory: lower names hidden by a removal, and whether the
  // whole lower directory is hidden (a directory made where one was removed).
  bool whited_out(const OvInode& dir, const std::string& name) const;
  void whiteout(OvInode& dir, const std::string& name);
  void unwhiteout(OvInode& dir, const std::string& name);
  bool opaque(const vfs::Inode& upper_dir) const;
  void set_opaque(const std::shared_ptr<vfs::Inode>& upper_dir);
  void drop_dir(const vfs::Inode& upper_dir); // the upper directory is gone

  // The overlay inode number of an upper inode number: the lower file's
  // number if it was copied up, else the upper number tagged kUpperInoBit.
  uint64_t ino_of_upper(uint64_t upper_ino) const;
  void set_origin(uint64_t upper_ino, uint64_t ino) { origin_[upper_ino] = ino; }
  void drop_origin(uint64_t upper_ino) { origin_.erase(upper_ino); }

private:
  struct DirState {
    std::shared_ptr<vfs::Inode> keep; // the state lives as long as the directory
    std::set<std::string> whiteouts;
    bool opaque = false;
  };
  std::shared_ptr<vfs::Filesystem> lower_, upper_;
  std::shared_ptr<OvInode> root_;
  std::map<const vfs::Inode*, DirState> dirs_;
  std::map<uint64_t, uint64_t> origin_;
};

} // namespace gk::fs
