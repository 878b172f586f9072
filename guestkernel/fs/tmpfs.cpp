#include "guestkernel/fs/tmpfs.h"

#include <dirent.h>
#include <linux/fs.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <map>

#include "guestkernel/vfs/vfs.h"
#include "mm/page_cache.h"

namespace gk::fs {

namespace {

constexpr uint64_t kDirentSize = 20;     // Linux's BOGO_DIRENT_SIZE: a directory's st_size per entry
constexpr size_t kShortSymlink = 128;    // shorter symlink targets live in the inode (no block)
constexpr uint64_t kMaxFileSize = INT64_MAX; // MAX_LFS_FILESIZE

timespec now() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

// What every inode of one tmpfs shares, kept alive by the inodes themselves:
// a mapped file can outlive its mount (the VMA holds the inode).
struct Shared {
  explicit Shared(mm::PhysMem& m) : pm(m) {}
  mm::PhysMem& pm;
  mm::PageBudget budget; // size= in pages (0: unlimited), and the pages in use
  uint64_t max_inodes = 0, inodes = 0;
  uint64_t next_ino = 1;
};

class TmpFs;

class TmpInode : public vfs::Inode {
public:
  TmpInode(vfs::Filesystem& fs, std::shared_ptr<Shared> sh, mode_t mode, const vfs::Owner& o, dev_t rdev)
      : Inode(fs, sh->next_ino++), sh_(std::move(sh)), mode_(mode), uid_(o.uid), gid_(o.gid), rdev_(rdev),
        cache_(sh_->pm, nullptr, &sh_->budget) {
    ++sh_->inodes;
    cache_.dev = fs.dev;
    cache_.ino = ino();
    nlink_ = S_ISDIR(mode) ? 2 : 1;
    atime_ = mtime_ = ctime_ = now();
  }
  ~TmpInode() override { --sh_->inodes; }

  int64_t getattr(struct stat& st) override {
    st = {};
    st.st_dev = fs().dev;
    st.st_ino = ino();
    st.st_mode = mode_;
    st.st_nlink = nlink_;
    st.st_uid = uid_;
    st.st_gid = gid_;
    st.st_rdev = rdev_;
    st.st_blksize = 4096;
    if (S_ISREG(mode_)) {
      st.st_size = off_t(cache_.size());
      st.st_blocks = blkcnt_t(cache_.resident_pages() * 8);
    } else if (S_ISDIR(mode_)) {
      st.st_size = off_t((children_.size() + 2) * kDirentSize);
    } else if (S_ISLNK(mode_)) {
      st.st_size = off_t(target_.size());
      st.st_blocks = target_.size() < kShortSymlink ? 0 : 8;
    }
    st.st_atim = atime_;
    st.st_mtim = mtime_;
    st.st_ctim = ctime_;
    return 0;
  }

  int64_t setattr(const vfs::SetAttr& a) override {
    if (a.mask & vfs::SetAttr::kSize) {
      if (!S_ISREG(mode_)) return -EINVAL;
      if (a.size > kMaxFileSize) return -EFBIG;
      cache_.truncate(a.size); // growing is sparse: no frame until written
    }
    if (a.mask & vfs::SetAttr::kMode) mode_ = (mode_ & S_IFMT) | (a.mode & 07777);
    if (a.mask & vfs::SetAttr::kUid) uid_ = a.uid;
    if (a.mask & vfs::SetAttr::kGid) gid_ = a.gid;
    if (a.mask & vfs::SetAttr::kAtime) atime_ = a.atime;
    if (a.mask & vfs::SetAttr::kMtime) mtime_ = a.mtime;
    // ctime is always "now"; the VFS may pass the very time it gave mtime
    // (truncate), or none (chmod, chown).
    bool given = (a.mask & vfs::SetAttr::kCtime) && (a.ctime.tv_sec || a.ctime.tv_nsec);
    ctime_ = given ? a.ctime : now();
    return 0;
  }

  // ---- directories ----
  int64_t lookup(const std::string& name, std::shared_ptr<Inode>& out) override {
    if (!S_ISDIR(mode_)) return -ENOTDIR;
    auto it = children_.find(name);
    if (it == children_.end()) return -ENOENT;
    out = it->second.inode;
    return 0;
  }

  int64_t mknod(const std::string& name, mode_t mode, dev_t rdev, const vfs::Owner& o,
                std::shared_ptr<Inode>& out) override {
    std::shared_ptr<TmpInode> child;
    if (int64_t r = create(name, mode, o, (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0, child)) return r;
    out = std::move(child);
    return 0;
  }

  int64_t mkdir(const std::string& name, mode_t mode, const vfs::Owner& o) override {
    std::shared_ptr<TmpInode> child;
    return create(name, S_IFDIR | (mode & 07777), o, 0, child);
  }

  int64_t symlink(const std::string& name, const std::string& target, const vfs::Owner& o) override {
    if (target.size() >= PATH_MAX) return -ENAMETOOLONG;
    std::shared_ptr<TmpInode> child;
    if (int64_t r = create(name, S_IFLNK | 0777, o, 0, child)) return r;
    child->target_ = target;
    return 0;
  }

  int64_t link(const std::string& name, Inode& target) override {
    auto* t = dynamic_cast<TmpInode*>(&target);
    if (!t || &t->fs() != &fs()) return -EXDEV;
    if (int64_t r = check_new_name(name)) return r;
    if (t->nlink_ == 0) return -ENOENT; // unlinked while open (linkat of an O_TMPFILE-less fd)
    ++t->nlink_;
    t->ctime_ = now();
    add(name, std::static_pointer_cast<TmpInode>(t->shared_from_this()));
    return 0;
  }

  int64_t unlink(const std::string& name) override {
    auto it = children_.find(name);
    if (it == children_.end()) return -ENOENT;
    if (S_ISDIR(it->second.inode->mode_)) return -EISDIR;
    it->second.inode->drop_link();
    children_.erase(it);
    touch_dir();
    return 0;
  }

  int64_t rmdir(const std::string& name) override {
    auto it = children_.find(name);
    if (it == children_.end()) return -ENOENT;
    TmpInode& d = *it->second.inode;
    if (!S_ISDIR(d.mode_)) return -ENOTDIR;
    if (!d.children_.empty()) return -ENOTEMPTY;
    d.nlink_ = 0;
    d.ctime_ = now();
    children_.erase(it);
    --nlink_;
    touch_dir();
    return 0;
  }

  int64_t rename(const std::string& name, Inode& newdir, const std::string& newname, unsigned flags) override {
    auto* nd = dynamic_cast<TmpInode*>(&newdir);
    if (!nd || &nd->fs() != &fs()) return -EXDEV;
    auto it = children_.find(name);
    if (it == children_.end() || nd->nlink_ == 0) return -ENOENT;
    if (newname.size() > NAME_MAX) return -ENAMETOOLONG;
    std::shared_ptr<TmpInode> moving = it->second.inode;
    bool moving_dir = S_ISDIR(moving->mode_);
    auto dst = nd->children_.find(newname);
    timespec t = now();
    if (flags & RENAME_EXCHANGE) {
      if (dst == nd->children_.end()) return -ENOENT;
      std::shared_ptr<TmpInode> other = dst->second.inode;
      bool other_dir = S_ISDIR(other->mode_);
      if (nd != this && moving_dir != other_dir) { // a directory changed parents: ".." counts follow
        nlink_ += moving_dir ? -1 : 1;
        nd->nlink_ += moving_dir ? 1 : -1;
      }
      std::swap(it->second.inode, dst->second.inode);
      moving->ctime_ = other->ctime_ = t;
    } else {
      if (dst != nd->children_.end()) {
        if (flags & RENAME_NOREPLACE) return -EEXIST;
        TmpInode& victim = *dst->second.inode;
        if (&victim == moving.get()) return 0; // two links to one file: nothing happens
        if (S_ISDIR(victim.mode_)) {
          if (!moving_dir) return -EISDIR;
          if (!victim.children_.empty()) return -ENOTEMPTY;
          victim.nlink_ = 0;
          --nd->nlink_;
        } else {
          if (moving_dir) return -ENOTDIR;
          victim.drop_link();
        }
        victim.ctime_ = t;
        nd->children_.erase(dst);
      }
      children_.erase(it);
      if (moving_dir) {
        --nlink_;
        ++nd->nlink_;
      }
      nd->add(newname, moving);
      moving->ctime_ = t;
    }
    mtime_ = ctime_ = t;
    nd->mtime_ = nd->ctime_ = t;
    return 0;
  }

  int64_t readdir(std::vector<vfs::DirEntry>& out) override {
    if (!S_ISDIR(mode_)) return -ENOTDIR;
    // In creation order, as Linux's tmpfs lists entries.
    std::vector<std::pair<uint64_t, const std::string*>> order;
    for (const auto& [name, e] : children_) order.emplace_back(e.seq, &name);
    std::sort(order.begin(), order.end());
    for (const auto& [seq, name] : order) {
      const TmpInode& c = *children_.at(*name).inode;
      out.push_back({*name, c.ino(), (unsigned char)IFTODT(c.mode_)});
    }
    touch_atime();
    return 0;
  }

  // ---- symlinks ----
  int64_t readlink(std::string& out) override {
    if (!S_ISLNK(mode_)) return -EINVAL;
    out = target_;
    touch_atime();
    return 0;
  }

  // ---- file data: the page cache is the file ----
  int64_t read(void* buf, size_t n, uint64_t off) override {
    if (!S_ISREG(mode_)) return -EINVAL;
    int64_t r = cache_.read(buf, n, off);
    if (r >= 0) touch_atime();
    return r;
  }

  int64_t write(const void* buf, size_t n, uint64_t off) override {
    if (!S_ISREG(mode_)) return -EINVAL;
    if (n == 0) return 0;
    if (off > kMaxFileSize || n > kMaxFileSize - off) return -EFBIG;
    int64_t r = cache_.write(buf, n, off);
    if (r > 0) mtime_ = ctime_ = now();
    return r;
  }

  mm::PageCache* page_cache() override { return S_ISREG(mode_) ? &cache_ : nullptr; }

private:
  struct Entry {
    std::shared_ptr<TmpInode> inode;
    uint64_t seq = 0; // creation order
  };

  int64_t check_new_name(const std::string& name) {
    if (!S_ISDIR(mode_)) return -ENOTDIR;
    if (nlink_ == 0) return -ENOENT; // removed (someone's cwd): nothing new goes in
    if (name.size() > NAME_MAX) return -ENAMETOOLONG;
    if (children_.count(name)) return -EEXIST;
    return 0;
  }

  int64_t create(const std::string& name, mode_t mode, const vfs::Owner& o, dev_t rdev,
                 std::shared_ptr<TmpInode>& out) {
    if (int64_t r = check_new_name(name)) return r;
    if (sh_->max_inodes && sh_->inodes >= sh_->max_inodes) return -ENOSPC;
    // A setgid directory hands its group (and, to directories, the bit) down.
    vfs::Owner owner = o;
    if (mode_ & S_ISGID) {
      owner.gid = gid_;
      if (S_ISDIR(mode)) mode |= S_ISGID;
    }
    out = std::make_shared<TmpInode>(fs(), sh_, mode, owner, rdev);
    if (S_ISDIR(mode)) ++nlink_;
    add(name, out);
    return 0;
  }

  void add(const std::string& name, std::shared_ptr<TmpInode> child) {
    children_[name] = Entry{std::move(child), next_seq_++};
    touch_dir();
  }

  void touch_dir() { mtime_ = ctime_ = now(); }

  void drop_link() {
    if (nlink_) --nlink_;
    ctime_ = now();
  }

  // relatime: update atime when it is older than mtime/ctime or a day old.
  void touch_atime() {
    timespec t = now();
    auto before = [](const timespec& a, const timespec& b) {
      return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
    };
    if (before(atime_, mtime_) || before(atime_, ctime_) || t.tv_sec - atime_.tv_sec >= 24 * 3600) atime_ = t;
  }

  std::shared_ptr<Shared> sh_;
  mode_t mode_;
  uint32_t uid_, gid_;
  dev_t rdev_;
  nlink_t nlink_ = 1;
  timespec atime_{}, mtime_{}, ctime_{};
  mm::PageCache cache_;               // regular files
  std::map<std::string, Entry> children_; // directories
  uint64_t next_seq_ = 0;
  std::string target_;                // symlinks
};

class TmpFs : public vfs::Filesystem {
public:
  TmpFs(std::shared_ptr<Shared> sh, mode_t root_mode, const vfs::Owner& root_owner) : sh_(std::move(sh)) {
    dev = vfs::next_anon_dev();
    source = "tmpfs";
    root_ = std::make_shared<TmpInode>(*this, sh_, S_IFDIR | root_mode, root_owner, 0);
  }
  std::shared_ptr<vfs::Inode> root() override { return root_; }
  const char* type() const override { return "tmpfs"; }

  int64_t statfs(struct statfs& st) override {
    st = {};
    st.f_type = kTmpfsMagic;
    st.f_bsize = 4096;
    st.f_frsize = 4096;
    st.f_namelen = NAME_MAX;
    // The size limit, and what is left of it (never more than guest memory has free).
    uint64_t limit = sh_->budget.limit ? sh_->budget.limit : sh_->pm.frames();
    uint64_t used = sh_->budget.used;
    uint64_t left = limit > used ? std::min(limit - used, sh_->pm.buddy().free_frames()) : 0;
    st.f_blocks = limit;
    st.f_bfree = st.f_bavail = left;
    if (sh_->max_inodes) {
      st.f_files = sh_->max_inodes;
      st.f_ffree = sh_->max_inodes > sh_->inodes ? sh_->max_inodes - sh_->inodes : 0;
    }
    return 0;
  }

private:
  std::shared_ptr<Shared> sh_;
  std::shared_ptr<TmpInode> root_;
};

// "123", "64k", "1G", "50%": bytes (percent of `whole`); false if malformed.
bool parse_size(const std::string& s, uint64_t whole, uint64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s.c_str(), &end, 0);
  if (errno || end == s.c_str()) return false;
  std::string suffix(end);
  unsigned shift = 0;
  if (suffix == "%") {
    out = whole / 100 * v;
    return true;
  }
  if (suffix.size() > 1) return false;
  if (!suffix.empty()) {
    switch (suffix[0] | 0x20) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    case 'p': shift = 50; break;
    case 'e': shift = 60; break;
    default: return false;
    }
  }
  if (shift && v > (UINT64_MAX >> shift)) return false;
  out = uint64_t(v) << shift;
  return true;
}

bool parse_num(const std::string& s, int base, uint64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s.c_str(), &end, base);
  if (errno || *end) return false;
  out = v;
  return true;
}

} // namespace

int64_t make_tmpfs(mm::PhysMem& pm, const std::string& data, std::shared_ptr<vfs::Filesystem>& out) {
  auto sh = std::make_shared<Shared>(pm);
  uint64_t mem_bytes = pm.frames() * mm::kPageSize;
  uint64_t size = mem_bytes / 2;
  uint64_t max_inodes = pm.frames() / 2;
  mode_t mode = 01777;
  vfs::Owner owner;
  size_t pos = 0;
  while (pos <= data.size() && !data.empty()) {
    size_t comma = data.find(',', pos);
    std::string opt = data.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? data.size() + 1 : comma + 1;
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    std::string key = opt.substr(0, eq), val = eq == std::string::npos ? "" : opt.substr(eq + 1);
    uint64_t n;
    if (key == "size") {
      if (!parse_size(val, mem_bytes, size)) return -EINVAL;
    } else if (key == "nr_blocks") {
      if (!parse_size(val, ~0ULL, n)) return -EINVAL;
      size = n * mm::kPageSize;
    } else if (key == "nr_inodes") {
      if (!parse_size(val, ~0ULL, max_inodes)) return -EINVAL;
    } else if (key == "mode") {
      if (!parse_num(val, 8, n) || n > 07777) return -EINVAL;
      mode = mode_t(n);
    } else if (key == "uid" || key == "gid") {
      if (!parse_num(val, 10, n) || n > UINT32_MAX - 1) return -EINVAL;
      (key == "uid" ? owner.uid : owner.gid) = uint32_t(n);
    } else if (key == "huge" || key == "mpol" || key == "inode32" || key == "inode64" || key == "noswap" ||
               key == "rw" || key == "ro" || key == "defaults") {
      // Accepted and meaningless here (no huge pages, NUMA or swap).
    } else {
      return -EINVAL;
    }
  }
  sh->budget.limit = (size + mm::kPageSize - 1) / mm::kPageSize; // 0: unlimited
  sh->max_inodes = max_inodes;
  out = std::make_shared<TmpFs>(sh, mode, owner);
  return 0;
}

void register_tmpfs(mm::PhysMem& pm) {
  auto make = [&pm](const std::string&, const std::string& data, std::shared_ptr<vfs::Filesystem>& out) {
    return make_tmpfs(pm, data, out);
  };
  vfs::register_fs_type("tmpfs", make);
}

} // namespace gk::fs
