// hostfs: a host directory as a guest file system.
//
// Confinement: every inode holds an O_PATH|O_NOFOLLOW descriptor of its host
// file, and a lookup opens one name relative to its directory's descriptor.
// The host never resolves a guest path, a ".." or a symlink: the guest's
// path walk does that in the guest's namespace, so nothing can name a host
// file outside the directory.
//
// Metadata the host cannot store (chown and chmod when the kernel is not host
// root, or on a read-only mount) is kept by the file system in memory, keyed
// by inode, so the guest sees consistent ownership for the life of the boot;
// files owned by the kernel's own host user appear owned by guest root.
//
// Page cache: a regular file that is mmapped gets a backed page cache
// (mm/page_cache.h) whose pages come from and go back to the host file, so
// every mapping of it shares guest frames. read() and write() go straight
// to the host until the file has cached pages, then through the cache (the
// writes through to the host), so the two views always agree. Dirty pages
// reach the host on msync, munmap, fsync, sync, unmount and kernel exit.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "guestkernel/vfs/inode.h"

namespace gk::mm {
class PhysMem;
}

namespace gk::drivers {

class HostFs : public vfs::Filesystem, public std::enable_shared_from_this<HostFs> {
public:
  // Opens `dir` on the host; -errno if it is not a directory.
  static int64_t create(const std::string& dir, bool read_only, std::shared_ptr<HostFs>& out);
  ~HostFs() override;
  std::shared_ptr<vfs::Inode> root() override;
  const char* type() const override { return "hostfs"; }
  int64_t statfs(struct statfs& st) override;
  void sync() override; // writes back every cached page

  // Guest memory for the page caches of hostfs files (set once by the
  // kernel; hostfs instances are also made by other file systems, such as
  // the overlay's lower layer). Without it files are not mappable shared.
  static void set_cache_memory(mm::PhysMem* pm);

  // The inode for the host file `fd` refers to (takes the fd).
  std::shared_ptr<vfs::Inode> inode_for(int fd, const struct stat& st);
  void forget(uint64_t ino) { inodes_.erase(ino); }
  // Applies remembered metadata and the uid mapping to a host stat.
  void present(struct stat& st) const;
  struct Meta {
    std::optional<uint32_t> uid, gid;
    std::optional<mode_t> mode;
  };
  std::map<uint64_t, Meta> meta; // by host inode number
  bool is_host_root = false;     // the host's own "/": /proc, /sys, /dev are hidden

private:
  int root_fd_ = -1;
  std::map<uint64_t, std::weak_ptr<vfs::Inode>> inodes_;
};

} // namespace gk::drivers
