// The open file description of a named file: a position over an inode.
// Regular files read and write through the inode; directories list through
// readdir (a snapshot taken at the first getdents64 and at rewind).
#pragma once
#include <memory>
#include <vector>

#include "guestkernel/vfs/file.h"
#include "guestkernel/vfs/vfs.h"

namespace gk::vfs {

class InodeFile : public File {
public:
  InodeFile(Path p, int open_flags) : path_(std::move(p)) { flags = open_flags; }
  int64_t read(IoCtx&, void* buf, size_t n) override;
  int64_t write(IoCtx&, const void* buf, size_t n) override;
  int64_t pread(void* buf, size_t n, uint64_t off) override;
  int64_t pwrite(const void* buf, size_t n, uint64_t off) override;
  int64_t lseek(int64_t off, int whence) override;
  int64_t stat(struct stat& st) override { return path_.inode().getattr(st); }
  int64_t getdents64(uint8_t* buf, size_t n) override;
  int64_t ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) override;
  const Path* path() const override { return &path_; }
  std::string describe() const override;

protected:
  int64_t append_offset(uint64_t& off); // moves `off` to the end for O_APPEND
  Path path_;
  uint64_t pos_ = 0;
  std::vector<DirEntry> dir_; // directory snapshot
  bool dir_loaded_ = false;
};

} // namespace gk::vfs
