#include "guestkernel/export/guest_files.h"

#include <fcntl.h>

#include "guestkernel/kernel.h"
#include "guestkernel/vfs/fs_ops.h"

namespace gk::exportfs {

namespace {

// Who walks the guest's tree for the export: root, at the guest's root.
struct Walker {
  vfs::FsContext fs;
  Creds creds;
  explicit Walker(Kernel& k) { fs.root = fs.cwd = k.vfs().root(); }
};

// The last component is not followed: the host follows links itself, through readlink.
int64_t walk(Kernel& k, const std::string& path, vfs::Path& out) {
  Walker w(k);
  return k.vfs().resolve(vfs::WalkCtx{w.fs, w.creds}, w.fs.root, path, 0, out);
}

} // namespace

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string::npos) end = path.size();
    if (end > at) out.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string link_within_root(const std::string& dir, const std::string& target) {
  if (target.empty()) return target;
  std::vector<std::string> parts;
  bool above_root = false;
  auto add = [&](const std::string& path) {
    for (const std::string& c : components(path)) {
      if (c == ".") continue;
      if (c != "..") parts.push_back(c);
      else if (parts.empty()) above_root = true;
      else parts.pop_back();
    }
  };
  if (target[0] != '/') {
    add(dir);
    add(target);
    if (!above_root) return target; // stays inside as it is
  } else {
    add(target);
  }
  std::string rel;
  for (size_t i = 0; i < components(dir).size(); ++i) rel += "../";
  for (const std::string& c : parts) rel += c + "/";
  if (rel.empty()) return ".";
  rel.pop_back();
  return rel;
}

int GuestFiles::getattr(const std::string& path, struct stat& st) {
  vfs::Path p;
  if (int64_t r = walk(k_, path, p)) return int(r);
  return int(p.inode().getattr(st));
}

int GuestFiles::readdir(const std::string& path, std::vector<std::string>& names) {
  vfs::Path p;
  if (int64_t r = walk(k_, path, p)) return int(r);
  std::vector<vfs::DirEntry> entries;
  if (int64_t r = p.inode().readdir(entries)) return int(r);
  for (auto& e : entries) names.push_back(e.name);
  return 0;
}

int GuestFiles::readlink(const std::string& path, std::string& target) {
  vfs::Path p;
  if (int64_t r = walk(k_, path, p)) return int(r);
  std::string text;
  if (int64_t r = p.inode().readlink(text)) return int(r);
  target = link_within_root(path.substr(0, path.rfind('/')), text);
  return 0;
}

int GuestFiles::open(const std::string& path, std::shared_ptr<File>& out) {
  vfs::Path p;
  if (int64_t r = walk(k_, path, p)) return int(r);
  struct stat st;
  if (int64_t r = p.inode().getattr(st)) return int(r);
  if (!S_ISREG(st.st_mode)) return -EACCES;
  Walker w(k_);
  return int(vfs::open_path(vfs::OpCtx{k_.vfs(), w.fs, w.creds, w.fs.root}, p, O_RDONLY, out));
}

} // namespace gk::exportfs
