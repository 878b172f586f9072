// Inodes and file systems: what every guest file system (hostfs, tmpfs,
// procfs, devfs, overlay) implements. The path walk (path_walk.cpp) and the
// file syscalls see only this interface.
//
// Directory operations take a name in this directory (never a path, never
// "." or ".."); the VFS has already checked permissions and read-only mounts.
// Every call returns 0 (or a count) or -errno.
#pragma once
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gk {
class File;
}

namespace gk::mm {
class PageCache;
}

namespace gk::vfs {

class Filesystem;
struct Path;

struct DirEntry {
  std::string name;
  uint64_t ino = 0;
  unsigned char type = 0; // DT_*
};

// Who creates a file: the new inode's owner.
struct Owner {
  uint32_t uid = 0, gid = 0;
};

// chmod/chown/truncate/utimensat in one request; `mask` says which fields count.
struct SetAttr {
  enum : unsigned { kMode = 1, kUid = 2, kGid = 4, kSize = 8, kAtime = 16, kMtime = 32, kCtime = 64 };
  unsigned mask = 0;
  mode_t mode = 0; // permission bits only
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  timespec atime{}, mtime{}, ctime{};
};

class Inode : public std::enable_shared_from_this<Inode> {
public:
  Inode(Filesystem& fs, uint64_t ino) : fs_(fs), ino_(ino) {}
  virtual ~Inode() = default;
  Filesystem& fs() const { return fs_; }
  uint64_t ino() const { return ino_; }

  virtual int64_t getattr(struct stat& st) = 0;
  virtual int64_t setattr(const SetAttr&) { return -EPERM; }
  mode_t mode(); // st_mode from getattr (0 on error)

  // ---- directories ----
  virtual int64_t lookup(const std::string&, std::shared_ptr<Inode>&) { return -ENOTDIR; }
  // Regular files, FIFOs, device nodes and sockets (`mode` carries S_IF*).
  virtual int64_t mknod(const std::string& /*name*/, mode_t /*mode*/, dev_t /*rdev*/, const Owner&,
                        std::shared_ptr<Inode>& /*out*/) { return -EPERM; }
  virtual int64_t mkdir(const std::string&, mode_t, const Owner&) { return -EPERM; }
  virtual int64_t symlink(const std::string&, const std::string&, const Owner&) { return -EPERM; }
  virtual int64_t link(const std::string&, Inode&) { return -EPERM; }
  virtual int64_t unlink(const std::string&) { return -EPERM; }
  virtual int64_t rmdir(const std::string&) { return -EPERM; }
  // Moves `name` here to `newname` in `newdir` (same file system); flags are
  // renameat2's RENAME_NOREPLACE / RENAME_EXCHANGE.
  virtual int64_t rename(const std::string& /*name*/, Inode& /*newdir*/, const std::string& /*newname*/,
                         unsigned /*flags*/) {
    return -EPERM;
  }
  // Every entry except "." and "..", which the directory file adds.
  virtual int64_t readdir(std::vector<DirEntry>&) { return -ENOTDIR; }

  // ---- symlinks ----
  virtual int64_t readlink(std::string&) { return -EINVAL; }
  // procfs's magic links (/proc/self/exe, /proc/PID/fd/N) jump to a path
  // instead of being read as text: true and `out` set.
  virtual bool follow_link(Path& /*out*/) { return false; }

  // ---- open ----
  // A file description for this inode; the default serves regular files and
  // directories through read/write/readdir below. `path` is where it was
  // found (for /proc/PID/fd and getcwd-like uses).
  virtual int64_t open(const Path& path, int flags, std::shared_ptr<File>& out);
  // The inode's open() serves its file type itself, even a FIFO's (procfs's
  // /proc/PID/fd links to pipes reopen the pipe, not a named FIFO).
  virtual bool opens_itself() const { return false; }

  // ---- file data (regular files) ----
  virtual int64_t read(void*, size_t, uint64_t) { return -EINVAL; }
  virtual int64_t write(const void*, size_t, uint64_t) { return -EINVAL; }
  virtual int64_t fsync() { return 0; }
  // The page cache of this file's data, for mmap (null: not mappable).
  virtual mm::PageCache* page_cache() { return nullptr; }

private:
  Filesystem& fs_;
  uint64_t ino_;
};

class Filesystem {
public:
  virtual ~Filesystem() = default;
  virtual std::shared_ptr<Inode> root() = 0;
  virtual const char* type() const = 0;
  virtual int64_t statfs(struct statfs& st);
  // Write back what is cached (sync, syncfs, unmount, shutdown).
  virtual void sync() {}
  bool read_only = false;
  dev_t dev = 0; // st_dev of every inode here
  std::string source = "none";
};

// Distinct st_dev numbers for the guest's file systems (anonymous majors, like Linux's 0:N).
dev_t next_anon_dev();

} // namespace gk::vfs
