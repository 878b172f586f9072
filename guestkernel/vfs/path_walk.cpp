// The path walk: one component at a time, in the guest's namespace.
// Symlinks are read through the file system and resolved here (an absolute
// target restarts at the walker's root, never the host's), ".." at the
// walker's root stays there, and mount points are crossed both ways.
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>

#include "guestkernel/task.h"
#include "guestkernel/vfs/vfs.h"

namespace gk::vfs {

namespace {
constexpr int kMaxLinks = 40; // Linux's MAXSYMLINKS
constexpr size_t kNameMax = 255;
} // namespace

bool Path::same(const Path& o) const {
  return mnt == o.mnt && dentry && o.dentry && dentry->inode.get() == o.dentry->inode.get();
}

bool Mount::read_only() const { return (flags & 1 /*MS_RDONLY*/) || fs->read_only; }

void Vfs::mount_root(std::shared_ptr<Filesystem> fs) {
  auto m = std::make_shared<Mount>();
  m->root = std::make_shared<Dentry>(Dentry{"/", nullptr, fs->root()});
  m->fs = std::move(fs);
  mounts_.clear();
  mounts_.push_back(std::move(m));
}

Path Vfs::root() const { return Path{mounts_.front(), mounts_.front()->root}; }

std::shared_ptr<Mount> Vfs::mounted_on(const Path& p) const {
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
    const Mount& m = **it;
    if (m.parent == p.mnt && m.mountpoint->inode.get() == p.dentry->inode.get()) return *it;
  }
  return nullptr;
}

int64_t Vfs::mount(std::shared_ptr<Filesystem> fs, const Path& at, unsigned long flags) {
  if (!S_ISDIR(at.inode().mode())) return -ENOTDIR;
  auto m = std::make_shared<Mount>();
  m->root = std::make_shared<Dentry>(Dentry{"/", nullptr, fs->root()});
  m->fs = std::move(fs);
  m->parent = at.mnt;
  m->mountpoint = at.dentry;
  m->flags = flags;
  mounts_.push_back(std::move(m));
  return 0;
}

int64_t Vfs::umount(const Path& at) {
  if (at.dentry != at.mnt->root) return -EINVAL; // not a mount point
  if (!at.mnt->parent) return -EBUSY;            // the root mount stays
  for (auto& m : mounts_)
    if (m->parent == at.mnt) return -EBUSY;
  at.mnt->fs->sync();
  std::erase(mounts_, at.mnt);
  return 0;
}

void Vfs::sync_all() {
  for (auto& m : mounts_) m->fs->sync();
}

// ".." from `cur`: stays at the walker's root, climbs out of mounts.
Path Vfs::up(const WalkCtx& w, const Path& cur) const {
  Path p = cur;
  for (;;) {
    if (p.same(w.fs.root)) return p;
    if (p.dentry != p.mnt->root) break;
    if (!p.mnt->parent) return p; // the root of everything
    p = Path{p.mnt->parent, p.mnt->mountpoint};
  }
  Path r{p.mnt, p.dentry->parent};
  while (auto m = mounted_on(r)) r = Path{m, m->root};
  return r;
}

// One component down from the directory `cur` (which becomes the child).
int64_t Vfs::step(const WalkCtx& w, Path& cur, const std::string& name) const {
  if (name.size() > kNameMax) return -ENAMETOOLONG;
  if (!S_ISDIR(cur.inode().mode())) return -ENOTDIR;
  if (int64_t r = permission(cur.inode(), w.creds, 1)) return r;
  if (name == ".") return 0;
  if (name == "..") {
    cur = up(w, cur);
    return 0;
  }
  std::shared_ptr<Inode> child;
  if (int64_t r = cur.inode().lookup(name, child)) return r;
  Path next{cur.mnt, std::make_shared<Dentry>(Dentry{name, cur.dentry, std::move(child)})};
  while (auto m = mounted_on(next)) next = Path{m, m->root};
  cur = std::move(next);
  return 0;
}

int64_t Vfs::walk(const WalkCtx& w, Path& cur, std::string_view path, unsigned flags, int& links, Path* parent,
                  std::string* last, bool* trailing_slash) const {
  if (path.empty()) return -ENOENT;
  if (path.size() >= 4096) return -ENAMETOOLONG;
  if (path[0] == '/') cur = w.fs.root;
  size_t i = 0;
  for (;;) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i == path.size()) { // "/" or a trailing slash: the directory itself
      if (parent) {
        *parent = cur;
        *last = ".";
        if (trailing_slash) *trailing_slash = true;
        return 0;
      }
      // A trailing slash asks for a directory ("file/" is ENOTDIR).
      if ((flags & kDirectory || path.back() == '/') && !S_ISDIR(cur.inode().mode())) return -ENOTDIR;
      return 0;
    }
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string name(path.substr(i, end - i));
    size_t next = end;
    while (next < path.size() && path[next] == '/') ++next;
    bool is_last = next == path.size();
    bool slash_after = end < path.size();
    if (is_last && parent) {
      if (name.size() > kNameMax) return -ENAMETOOLONG;
      if (!S_ISDIR(cur.inode().mode())) return -ENOTDIR;
      *parent = cur;
      *last = name;
      if (trailing_slash) *trailing_slash = slash_after;
      return 0;
    }
    Path dir = cur;
    if (int64_t r = step(w, cur, name)) return r;
    i = end;
    if (!S_ISLNK(cur.inode().mode())) continue;
    // A symlink: followed unless it is the last component and not asked to
    // (a trailing slash always follows, as on Linux).
    if (is_last && !(flags & kFollow) && !slash_after) return 0;
    if (++links > kMaxLinks) return -ELOOP;
    Path jumped;
    if (cur.inode().follow_link(jumped)) {
      cur = std::move(jumped);
    } else {
      std::string target;
      if (int64_t r = cur.inode().readlink(target)) return r;
      if (target.empty()) return -ENOENT;
      cur = dir;
      std::string rest = target + std::string(path.substr(i));
      return walk(w, cur, rest, flags, links, parent, last, trailing_slash);
    }
  }
}

int64_t Vfs::resolve(const WalkCtx& w, const Path& start, std::string_view path, unsigned flags, Path& out) const {
  Path cur = start;
  int links = 0;
  if (int64_t r = walk(w, cur, path, flags, links, nullptr, nullptr, nullptr)) return r;
  if ((flags & kDirectory) && !S_ISDIR(cur.inode().mode())) return -ENOTDIR;
  out = std::move(cur);
  return 0;
}

int64_t Vfs::resolve_parent(const WalkCtx& w, const Path& start, std::string_view path, Path& parent,
                            std::string& last, bool* trailing_slash) const {
  Path cur = start;
  int links = 0;
  if (trailing_slash) *trailing_slash = false;
  return walk(w, cur, path, 0, links, &parent, &last, trailing_slash);
}

bool Vfs::path_of(const Path& p, const Path& root, std::string& out) {
  std::vector<std::string> names;
  Path cur = p;
  for (;;) {
    if (root.valid() && cur.same(root)) break;
    if (cur.dentry == cur.mnt->root) {
      if (!cur.mnt->parent) {
        if (!root.valid()) break;
        out.clear();
        return false;
      }
      cur = Path{cur.mnt->parent, cur.mnt->mountpoint};
      continue;
    }
    names.push_back(cur.dentry->name);
    cur = Path{cur.mnt, cur.dentry->parent};
  }
  out.clear();
  for (auto it = names.rbegin(); it != names.rend(); ++it) out += "/" + *it;
  if (out.empty()) out = "/";
  return true;
}

std::string absolute_path(const Path& p) {
  std::string s;
  Vfs::path_of(p, Path{}, s);
  return s;
}

mode_t Inode::mode() {
  struct stat st;
  return getattr(st) ? 0 : st.st_mode;
}

int64_t permission(Inode& ino, const Creds& c, int mask) {
  struct stat st;
  if (int64_t r = ino.getattr(st)) return r;
  if (c.euid == 0) {
    if ((mask & 1) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111)) return -EACCES;
    return 0;
  }
  unsigned bits = st.st_mode & 07;
  if (c.euid == st.st_uid)
    bits = (st.st_mode >> 6) & 07;
  else if (c.in_group(st.st_gid))
    bits = (st.st_mode >> 3) & 07;
  return (bits & unsigned(mask)) == unsigned(mask) ? 0 : -EACCES;
}

namespace {
std::map<std::string, FsFactory>& fs_registry() {
  static std::map<std::string, FsFactory> m;
  return m;
}
} // namespace

void register_fs_type(const std::string& name, FsFactory make) { fs_registry()[name] = std::move(make); }

int64_t make_fs(const std::string& type, const std::string& source, const std::string& data,
                std::shared_ptr<Filesystem>& out) {
  auto it = fs_registry().find(type);
  if (it == fs_registry().end()) return -ENODEV;
  if (int64_t r = it->second(source, data, out)) return r;
  out->source = source;
  return 0;
}

std::vector<std::string> fs_types() {
  std::vector<std::string> v;
  for (auto& [name, f] : fs_registry()) v.push_back(name);
  return v;
}

dev_t next_anon_dev() {
  static unsigned minor = 20;
  return makedev(0, minor++);
}

int64_t Filesystem::statfs(struct statfs& st) {
  st = {};
  st.f_bsize = 4096;
  st.f_namelen = 255;
  st.f_frsize = 4096;
  return 0;
}

} // namespace gk::vfs
