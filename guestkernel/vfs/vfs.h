// The VFS core: dentries (names on the way to an inode), mounts, paths,
// per-process root/cwd/umask, and the path walk.
//
// Dentries are not cached: the walk makes them as it goes and they live as
// long as someone holds the path (an open file, a cwd, a mount). A dentry
// keeps its parent, so ".." and getcwd need no file system support.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "guestkernel/vfs/inode.h"

namespace gk {
struct Creds;
}

namespace gk::vfs {

struct Dentry {
  std::string name;               // "/" for a file system's root
  std::shared_ptr<Dentry> parent; // null at a file system's root
  std::shared_ptr<Inode> inode;
};

struct Mount {
  std::shared_ptr<Filesystem> fs;
  std::shared_ptr<Dentry> root;       // the file system's root dentry
  std::shared_ptr<Mount> parent;      // null for the root mount
  std::shared_ptr<Dentry> mountpoint; // in parent
  unsigned long flags = 0;            // MS_RDONLY, MS_NOSUID, ...
  bool read_only() const;
};

struct Path {
  std::shared_ptr<Mount> mnt;
  std::shared_ptr<Dentry> dentry;
  Inode& inode() const { return *dentry->inode; }
  bool valid() const { return mnt && dentry; }
  bool same(const Path& o) const; // same mount and same inode
};

// Per-process file system context (shared across CLONE_FS).
struct FsContext {
  Path root, cwd;
  mode_t umask = 022;
};

// Walk flags.
inline constexpr unsigned kFollow = 1;    // follow a symlink in the last component
inline constexpr unsigned kDirectory = 2; // the result must be a directory

// Who walks: its root, its cwd (for relative paths) and its credentials.
struct WalkCtx {
  const FsContext& fs;
  const Creds& creds;
};

class Vfs {
public:
  // The root mount; a path walk starts from a process's root.
  void mount_root(std::shared_ptr<Filesystem> fs);
  Path root() const;
  // Mounts `fs` on `at` (a directory).
  int64_t mount(std::shared_ptr<Filesystem> fs, const Path& at, unsigned long flags);
  // Detaches the mount whose root is `at`; -EBUSY if mounts sit below it.
  int64_t umount(const Path& at);
  const std::vector<std::shared_ptr<Mount>>& mounts() const { return mounts_; }
  // The mount on top of `p`, if any (mount points are entered going down).
  std::shared_ptr<Mount> mounted_on(const Path& p) const;

  // Resolves `path` from `start` (an absolute path restarts at the root).
  int64_t resolve(const WalkCtx& w, const Path& start, std::string_view path, unsigned flags, Path& out) const;
  // Resolves all but the last component: `parent` and the last name. The
  // name may be "." or ".." (the caller decides what that means), and
  // `trailing_slash` tells whether the path ended in '/'.
  int64_t resolve_parent(const WalkCtx& w, const Path& start, std::string_view path, Path& parent,
                         std::string& last, bool* trailing_slash = nullptr) const;
  // The path as a process whose root is `root` names it; false if `p` is not
  // below that root (getcwd's "(unreachable)"). An invalid `root` means the
  // root of everything.
  static bool path_of(const Path& p, const Path& root, std::string& out);
  // Calls sync() on every mounted file system.
  void sync_all();

private:
  int64_t walk(const WalkCtx& w, Path& cur, std::string_view path, unsigned flags, int& links, Path* parent,
               std::string* last, bool* trailing_slash) const;
  int64_t step(const WalkCtx& w, Path& cur, const std::string& name) const;
  Path up(const WalkCtx& w, const Path& cur) const;
  std::vector<std::shared_ptr<Mount>> mounts_; // in mount order; later mounts cover earlier ones
};

// Unix permission check of `mask` (R_OK/W_OK/X_OK bits as 4/2/1) on `ino`
// for `c`; root passes except for exec of a file with no x bit.
int64_t permission(Inode& ino, const Creds& c, int mask);
// Character devices by number, for device nodes on any file system: the
// driver's open makes the file description.
using DeviceOpen = std::function<int64_t(const Path& node, int flags, std::shared_ptr<File>& out)>;
void register_chrdev(dev_t rdev, DeviceOpen open);
int64_t open_chrdev(dev_t rdev, const Path& node, int flags, std::shared_ptr<File>& out);

// File system types for mount(2) ("tmpfs", "proc", "devtmpfs"): a factory
// from the source and data strings. Registered when the kernel starts.
using FsFactory = std::function<int64_t(const std::string& source, const std::string& data,
                                        std::shared_ptr<Filesystem>& out)>;
void register_fs_type(const std::string& name, FsFactory make);
// -ENODEV for an unknown type.
int64_t make_fs(const std::string& type, const std::string& source, const std::string& data,
                std::shared_ptr<Filesystem>& out);
std::vector<std::string> fs_types(); // for /proc/filesystems

// The absolute path of `p` from the root of all mounts (for /proc and messages).
std::string absolute_path(const Path& p);

} // namespace gk::vfs
