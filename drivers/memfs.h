// memfs: a small file system kept entirely in kernel memory (directories,
// symlinks, device nodes, FIFOs and small regular files). devtmpfs is one;
// its files' data is not in guest frames, so they cannot be mmapped.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "guestkernel/vfs/inode.h"

namespace gk::drivers {

class MemFs : public vfs::Filesystem {
public:
  explicit MemFs(const char* type);
  std::shared_ptr<vfs::Inode> root() override { return root_; }
  const char* type() const override { return type_; }
  int64_t statfs(struct statfs& st) override; // as tmpfs's, with no blocks: the data is not in guest memory
  uint64_t next_ino() { return next_ino_++; }

  // Kernel-side population (no permission checks): `path` is relative to the
  // root, its parent directories exist.
  int64_t add_dir(const std::string& path, mode_t perms);
  int64_t add_node(const std::string& path, mode_t mode, dev_t rdev);
  int64_t add_symlink(const std::string& path, const std::string& target);

private:
  const char* type_;
  uint64_t next_ino_ = 2;
  std::shared_ptr<vfs::Inode> root_;
};

class MemInode : public vfs::Inode {
public:
  MemInode(MemFs& fs, mode_t mode, const vfs::Owner& o, dev_t rdev = 0);
  int64_t getattr(struct stat& st) override;
  int64_t setattr(const vfs::SetAttr& a) override;
  int64_t lookup(const std::string& name, std::shared_ptr<Inode>& out) override;
  int64_t mknod(const std::string& name, mode_t mode, dev_t rdev, const vfs::Owner& o,
                std::shared_ptr<Inode>& out) override;
  int64_t mkdir(const std::string& name, mode_t mode, const vfs::Owner& o) override;
  int64_t symlink(const std::string& name, const std::string& target, const vfs::Owner& o) override;
  int64_t link(const std::string& name, Inode& target) override;
  int64_t unlink(const std::string& name) override;
  int64_t rmdir(const std::string& name) override;
  int64_t rename(const std::string& name, Inode& newdir, const std::string& newname, unsigned flags) override;
  int64_t readdir(std::vector<vfs::DirEntry>& out) override;
  int64_t readlink(std::string& out) override;
  int64_t read(void* buf, size_t n, uint64_t off) override;
  int64_t write(const void* buf, size_t n, uint64_t off) override;

  std::string target; // a symlink's

private:
  int64_t add(const std::string& name, std::shared_ptr<MemInode> child);
  void touch(bool meta_only = false);
  MemFs& mfs_;
  mode_t mode_;
  uint32_t uid_, gid_;
  dev_t rdev_;
  nlink_t nlink_ = 1;
  timespec atime_{}, mtime_{}, ctime_{};
  std::map<std::string, std::shared_ptr<MemInode>> children_; // a directory's
  std::vector<uint8_t> data_;                                  // a regular file's
};

} // namespace gk::drivers
