#include "drivers/memfs.h"

#include <dirent.h>
#include <linux/fs.h>

#include <cstring>
#include <ctime>

namespace gk::drivers {

namespace {

constexpr uint64_t kMaxFileBytes = 64 << 20; // file data lives in kernel memory: keep it small

timespec now() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

unsigned char dt_of(mode_t m) { return (unsigned char)(IFTODT(m)); }

} // namespace

MemFs::MemFs(const char* type) : type_(type) {
  dev = vfs::next_anon_dev();
  root_ = std::make_shared<MemInode>(*this, S_IFDIR | 0755, vfs::Owner{});
}

int64_t MemFs::statfs(struct statfs& st) {
  vfs::Filesystem::statfs(st);
  st.f_type = 0x01021994; // TMPFS_MAGIC, as devtmpfs reports
  st.f_files = 1 << 20;
  st.f_ffree = st.f_files - (next_ino_ - 2);
  return 0;
}

// Walks `path` (relative, existing parents) to its parent and last name.
static MemInode* parent_of(MemFs& fs, const std::string& path, std::string& last) {
  std::shared_ptr<vfs::Inode> cur = fs.root();
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) break;
    std::shared_ptr<vfs::Inode> next;
    if (cur->lookup(path.substr(start, slash - start), next)) return nullptr;
    cur = next;
    start = slash + 1;
  }
  last = path.substr(start);
  return static_cast<MemInode*>(cur.get()); // kept alive by the tree
}

int64_t MemFs::add_dir(const std::string& path, mode_t perms) {
  std::string last;
  MemInode* dir = parent_of(*this, path, last);
  return dir ? dir->mkdir(last, perms, vfs::Owner{}) : -ENOENT;
}

int64_t MemFs::add_node(const std::string& path, mode_t mode, dev_t rdev) {
  std::string last;
  MemInode* dir = parent_of(*this, path, last);
  std::shared_ptr<vfs::Inode> out;
  return dir ? dir->mknod(last, mode, rdev, vfs::Owner{}, out) : -ENOENT;
}

int64_t MemFs::add_symlink(const std::string& path, const std::string& target) {
  std::string last;
  MemInode* dir = parent_of(*this, path, last);
  return dir ? dir->symlink(last, target, vfs::Owner{}) : -ENOENT;
}

MemInode::MemInode(MemFs& fs, mode_t mode, const vfs::Owner& o, dev_t rdev)
    : Inode(fs, fs.next_ino()), mfs_(fs), mode_(mode), uid_(o.uid), gid_(o.gid), rdev_(rdev) {
  if (S_ISDIR(mode)) nlink_ = 2;
  atime_ = mtime_ = ctime_ = now();
}

void MemInode::touch(bool meta_only) {
  ctime_ = now();
  if (!meta_only) mtime_ = ctime_;
}

int64_t MemInode::getattr(struct stat& st) {
  st = {};
  st.st_dev = fs().dev;
  st.st_ino = ino();
  st.st_mode = mode_;
  st.st_nlink = nlink_;
  st.st_uid = uid_;
  st.st_gid = gid_;
  st.st_rdev = rdev_;
  st.st_size = S_ISREG(mode_) ? off_t(data_.size()) : S_ISLNK(mode_) ? off_t(target.size()) : 0;
  if (S_ISDIR(mode_)) st.st_size = 40 + 20 * off_t(children_.size()); // as tmpfs counts
  st.st_blksize = 4096;
  st.st_blocks = (st.st_size + 511) / 512;
  st.st_atim = atime_;
  st.st_mtim = mtime_;
  st.st_ctim = ctime_;
  return 0;
}

int64_t MemInode::setattr(const vfs::SetAttr& a) {
  if (a.mask & vfs::SetAttr::kSize) {
    if (a.size > kMaxFileBytes) return -EFBIG;
    data_.resize(a.size);
  }
  if (a.mask & vfs::SetAttr::kMode) mode_ = (mode_ & S_IFMT) | (a.mode & 07777);
  if (a.mask & vfs::SetAttr::kUid) uid_ = a.uid;
  if (a.mask & vfs::SetAttr::kGid) gid_ = a.gid;
  if (a.mask & vfs::SetAttr::kAtime) atime_ = a.atime;
  if (a.mask & vfs::SetAttr::kMtime) mtime_ = a.mtime;
  ctime_ = (a.mask & vfs::SetAttr::kCtime) ? a.ctime : now();
  return 0;
}

int64_t MemInode::lookup(const std::string& name, std::shared_ptr<Inode>& out) {
  if (!S_ISDIR(mode_)) return -ENOTDIR;
  auto it = children_.find(name);
  if (it == children_.end()) return -ENOENT;
  out = it->second;
  return 0;
}

int64_t MemInode::add(const std::string& name, std::shared_ptr<MemInode> child) {
  if (!S_ISDIR(mode_)) return -ENOTDIR;
  if (children_.count(name)) return -EEXIST;
  if (S_ISDIR(child->mode_)) ++nlink_;
  children_[name] = std::move(child);
  touch();
  return 0;
}

int64_t MemInode::mknod(const std::string& name, mode_t mode, dev_t rdev, const vfs::Owner& o,
                        std::shared_ptr<Inode>& out) {
  auto child = std::make_shared<MemInode>(mfs_, mode, o, (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0);
  if (int64_t r = add(name, child)) return r;
  out = std::move(child);
  return 0;
}

int64_t MemInode::mkdir(const std::string& name, mode_t mode, const vfs::Owner& o) {
  return add(name, std::make_shared<MemInode>(mfs_, S_IFDIR | (mode & 07777), o));
}

int64_t MemInode::symlink(const std::string& name, const std::string& t, const vfs::Owner& o) {
  auto child = std::make_shared<MemInode>(mfs_, S_IFLNK | 0777, o);
  child->target = t;
  return add(name, std::move(child));
}

int64_t MemInode::link(const std::string& name, Inode& target) {
  auto* t = dynamic_cast<MemInode*>(&target);
  if (!t || &t->fs() != &fs()) return -EXDEV;
  auto self = std::static_pointer_cast<MemInode>(t->shared_from_this());
  if (int64_t r = add(name, self)) return r;
  ++t->nlink_;
  t->touch(true);
  return 0;
}

int64_t MemInode::unlink(const std::string& name) {
  auto it = children_.find(name);
  if (it == children_.end()) return -ENOENT;
  if (S_ISDIR(it->second->mode_)) return -EISDIR;
  --it->second->nlink_;
  it->second->touch(true);
  children_.erase(it);
  touch();
  return 0;
}

int64_t MemInode::rmdir(const std::string& name) {
  auto it = children_.find(name);
  if (it == children_.end()) return -ENOENT;
  if (!S_ISDIR(it->second->mode_)) return -ENOTDIR;
  if (!it->second->children_.empty()) return -ENOTEMPTY;
  it->second->nlink_ = 0;
  children_.erase(it);
  --nlink_;
  touch();
  return 0;
}

int64_t MemInode::rename(const std::string& name, Inode& newdir, const std::string& newname, unsigned flags) {
  auto* nd = dynamic_cast<MemInode*>(&newdir);
  if (!nd || &nd->fs() != &fs()) return -EXDEV;
  auto it = children_.find(name);
  if (it == children_.end()) return -ENOENT;
  auto moving = it->second;
  auto dst = nd->children_.find(newname);
  if (flags & RENAME_EXCHANGE) {
    if (dst == nd->children_.end()) return -ENOENT;
    std::swap(it->second, dst->second);
    bool a_dir = S_ISDIR(it->second->mode_), b_dir = S_ISDIR(dst->second->mode_);
    if (a_dir != b_dir) { // a directory changed parents: the link counts follow
      nlink_ += a_dir ? 1 : -1;
      nd->nlink_ += b_dir ? 1 : -1;
    }
    touch();
    nd->touch();
    return 0;
  }
  if (dst != nd->children_.end()) {
    if (flags & RENAME_NOREPLACE) return -EEXIST;
    if (dst->second == moving) return 0;
    if (S_ISDIR(dst->second->mode_)) {
      if (!dst->second->children_.empty()) return -ENOTEMPTY;
      --nd->nlink_;
    } else {
      --dst->second->nlink_;
    }
    nd->children_.erase(dst);
  }
  children_.erase(name);
  if (S_ISDIR(moving->mode_)) --nlink_;
  return nd->add(newname, moving);
}

int64_t MemInode::readdir(std::vector<vfs::DirEntry>& out) {
  if (!S_ISDIR(mode_)) return -ENOTDIR;
  for (auto& [name, c] : children_) out.push_back({name, c->ino(), dt_of(c->mode_)});
  return 0;
}

int64_t MemInode::readlink(std::string& out) {
  if (!S_ISLNK(mode_)) return -EINVAL;
  out = target;
  return 0;
}

int64_t MemInode::read(void* buf, size_t n, uint64_t off) {
  if (!S_ISREG(mode_)) return -EINVAL;
  atime_ = now();
  if (off >= data_.size()) return 0;
  size_t take = std::min<size_t>(n, data_.size() - off);
  memcpy(buf, data_.data() + off, take);
  return int64_t(take);
}

int64_t MemInode::write(const void* buf, size_t n, uint64_t off) {
  if (!S_ISREG(mode_)) return -EINVAL;
  if (off + n > kMaxFileBytes) return -EFBIG;
  if (data_.size() < off + n) data_.resize(off + n);
  memcpy(data_.data() + off, buf, n);
  touch();
  return int64_t(n);
}

} // namespace gk::drivers
