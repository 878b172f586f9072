// fs/ of the FUSE export: the guest's own file tree, walked by the guest's
// VFS as root (mounts, tmpfs and overlay contents as the guest sees them).
#pragma once
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

namespace gk {
class File;
class Kernel;
} // namespace gk

namespace gk::exportfs {

class GuestFiles {
public:
  explicit GuestFiles(Kernel& k) : k_(k) {}
  // `path` is absolute in the guest ("/tmp/x"). 0 or -errno.
  int getattr(const std::string& path, struct stat& st);
  int readdir(const std::string& path, std::vector<std::string>& names);
  // The link's text, made relative when it is absolute, so that the host
  // following it stays inside fs/ and lands where the guest would.
  int readlink(const std::string& path, std::string& target);
  // Regular files only: opening a device or a FIFO could take the guest's input.
  int open(const std::string& path, std::shared_ptr<File>& out);

private:
  Kernel& k_;
};

// The names in `path`, empty ones (from "//" or the leading '/') left out.
std::vector<std::string> components(const std::string& path);

// `target` of a link in directory `dir` (absolute, in the guest) as a path
// relative to `dir`, with ".." stopping at the root as the guest's walk does.
std::string link_within_root(const std::string& dir, const std::string& target);

} // namespace gk::exportfs
