#include "drivers/hostfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "guestkernel/vfs/inode_file.h"
#include "mm/page_cache.h"

namespace gk::drivers {

namespace {

mm::PhysMem* g_cache_memory = nullptr;

std::string proc_fd(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

uint64_t key_of(const struct stat& st) { return (uint64_t(st.st_dev) << 40) ^ uint64_t(st.st_ino); }

// The VFS has applied the guest's umask to a new file's mode; the kernel
// process's own umask must not take more bits away (the kernel is one thread).
struct NoHostUmask {
  mode_t old = ::umask(0);
  ~NoHostUmask() { ::umask(old); }
};

// An open regular host file: reads and writes go to a host descriptor
// reopened from the inode's O_PATH one, so they cannot reach anything else;
// once the file has cached pages they go through the inode's page cache.
class HostFile : public vfs::InodeFile {
public:
  HostFile(vfs::Path p, int open_flags, int io_fd, const mm::PageCache* const& cache)
      : InodeFile(std::move(p), open_flags), fd_(io_fd), cache_(cache) {}
  ~HostFile() override { ::close(fd_); }
  int64_t pread(void* buf, size_t n, uint64_t off) override {
    if (cached()) return path_.inode().read(buf, n, off);
    ssize_t r = ::pread(fd_, buf, n, off_t(off));
    return r < 0 ? -errno : r;
  }
  int64_t pwrite(const void* buf, size_t n, uint64_t off) override {
    if (int64_t e = append_offset(off)) return e;
    if (cached()) return path_.inode().write(buf, n, off);
    ssize_t r = ::pwrite(fd_, buf, n, off_t(off));
    return r < 0 ? -errno : r;
  }

private:
  bool cached() const { return cache_ && !cache_->idle(); }
  int fd_;
  const mm::PageCache* const& cache_; // the inode's (made at its first mmap); the path keeps the inode
};

// /proc, /sys and /dev of the host's own root: present as empty directories
// (so the guest can mount its own there), never read.
class HiddenDir : public vfs::Inode {
public:
  HiddenDir(vfs::Filesystem& fs, uint64_t ino) : Inode(fs, ino) {}
  int64_t getattr(struct stat& st) override {
    st = {};
    st.st_dev = fs().dev;
    st.st_ino = ino();
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
    st.st_blksize = 4096;
    return 0;
  }
  int64_t lookup(const std::string&, std::shared_ptr<Inode>&) override { return -ENOENT; }
  int64_t readdir(std::vector<vfs::DirEntry>&) override { return 0; }
};

class HostInode : public vfs::Inode, public mm::PageBacking {
public:
  HostInode(HostFs& fs, uint64_t key, int fd, const struct stat& st)
      : Inode(fs, st.st_ino), hfs_(fs), key_(key), fd_(fd), is_root_dir_(false) {}
  ~HostInode() override {
    if (cache_) cache_->sync(); // nothing maps the file any more: every page can be cleaned
    cache_ptr_ = nullptr;
    cache_.reset();
    hfs_.forget(key_);
    ::close(fd_);
    if (rd_ >= 0) ::close(rd_);
    if (rw_ >= 0) ::close(rw_);
  }
  void mark_root() { is_root_dir_ = true; }

  int64_t getattr(struct stat& st) override {
    if (fstatat(fd_, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return -errno;
    hfs_.present(st);
    return 0;
  }

  int64_t setattr(const vfs::SetAttr& a) override {
    if (hfs_.read_only) return -EROFS;
    struct stat st;
    if (fstatat(fd_, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return -errno;
    bool link = S_ISLNK(st.st_mode);
    auto& meta = hfs_.meta[key_];
    if (a.mask & vfs::SetAttr::kMode) {
      if (link) return -EOPNOTSUPP;
      if (::chmod(proc_fd(fd_).c_str(), a.mode & 07777) == 0)
        meta.mode.reset();
      else
        meta.mode = a.mode & 07777; // the host refused: remember it for the guest
    }
    if (a.mask & (vfs::SetAttr::kUid | vfs::SetAttr::kGid)) {
      uid_t u = (a.mask & vfs::SetAttr::kUid) ? a.uid : uid_t(-1);
      gid_t g = (a.mask & vfs::SetAttr::kGid) ? a.gid : gid_t(-1);
      if (fchownat(fd_, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
        if (a.mask & vfs::SetAttr::kUid) meta.uid = a.uid;
        if (a.mask & vfs::SetAttr::kGid) meta.gid = a.gid;
      } else {
        meta.uid.reset();
        meta.gid.reset();
      }
    }
    if (a.mask & vfs::SetAttr::kSize) {
      if (::truncate(proc_fd(fd_).c_str(), off_t(a.size))) return -errno;
      if (cache_) cache_->truncate(a.size); // pages past the end leave every mapping
    }
    if ((a.mask & (vfs::SetAttr::kAtime | vfs::SetAttr::kMtime)) && !link) {
      timespec ts[2] = {a.atime, a.mtime};
      if (!(a.mask & vfs::SetAttr::kAtime)) ts[0].tv_nsec = UTIME_OMIT;
      if (!(a.mask & vfs::SetAttr::kMtime)) ts[1].tv_nsec = UTIME_OMIT;
      if (utimensat(AT_FDCWD, proc_fd(fd_).c_str(), ts, 0)) return -errno;
    }
    return 0;
  }

  int64_t lookup(const std::string& name, std::shared_ptr<Inode>& out) override {
    if (is_root_dir_ && hfs_.is_host_root && (name == "proc" || name == "sys" || name == "dev")) {
      struct stat st;
      if (fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW)) return -errno;
      out = std::make_shared<HiddenDir>(hfs_, st.st_ino);
      return 0;
    }
    struct stat st;
    if (fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW)) return -errno;
    int fd = openat(fd_, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -errno;
    out = hfs_.inode_for(fd, st);
    return 0;
  }

  int64_t mknod(const std::string& name, mode_t mode, dev_t rdev, const vfs::Owner& o,
                std::shared_ptr<Inode>& out) override {
    if (hfs_.read_only) return -EROFS;
    NoHostUmask no_umask;
    if (S_ISREG(mode)) {
      int fd = openat(fd_, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
      if (fd < 0) return -errno;
      ::close(fd);
    } else if (mknodat(fd_, name.c_str(), mode, rdev)) {
      return -errno;
    }
    return created(name, o, &out);
  }

  int64_t mkdir(const std::string& name, mode_t mode, const vfs::Owner& o) override {
    if (hfs_.read_only) return -EROFS;
    NoHostUmask no_umask;
    if (mkdirat(fd_, name.c_str(), mode & 07777)) return -errno;
    return created(name, o, nullptr);
  }

  int64_t symlink(const std::string& name, const std::string& target, const vfs::Owner& o) override {
    if (hfs_.read_only) return -EROFS;
    if (symlinkat(target.c_str(), fd_, name.c_str())) return -errno;
    return created(name, o, nullptr);
  }

  int64_t link(const std::string& name, Inode& target) override {
    if (hfs_.read_only) return -EROFS;
    auto& t = static_cast<HostInode&>(target);
    if (linkat(t.fd_, "", fd_, name.c_str(), AT_EMPTY_PATH) == 0) return 0;
    // Without CAP_DAC_READ_SEARCH: through the magic link, which names the same inode.
    if (linkat(AT_FDCWD, proc_fd(t.fd_).c_str(), fd_, name.c_str(), AT_SYMLINK_FOLLOW)) return -errno;
    return 0;
  }

  int64_t unlink(const std::string& name) override {
    if (hfs_.read_only) return -EROFS;
    return unlinkat(fd_, name.c_str(), 0) ? -errno : 0;
  }
  int64_t rmdir(const std::string& name) override {
    if (hfs_.read_only) return -EROFS;
    return unlinkat(fd_, name.c_str(), AT_REMOVEDIR) ? -errno : 0;
  }

  int64_t rename(const std::string& name, Inode& newdir, const std::string& newname, unsigned flags) override {
    if (hfs_.read_only) return -EROFS;
    auto& d = static_cast<HostInode&>(newdir);
    long r = syscall(SYS_renameat2, fd_, name.c_str(), d.fd_, newname.c_str(), flags);
    return r ? -errno : 0;
  }

  int64_t readdir(std::vector<vfs::DirEntry>& out) override {
    int d = reopen(O_RDONLY | O_DIRECTORY);
    if (d < 0) return -errno;
    alignas(8) char buf[16384];
    for (;;) {
      long n = syscall(SYS_getdents64, d, buf, sizeof buf);
      if (n < 0) {
        int e = errno;
        ::close(d);
        return -e;
      }
      if (n == 0) break;
      for (long off = 0; off < n;) {
        auto* e = reinterpret_cast<struct dirent64*>(buf + off);
        off += e->d_reclen;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        out.push_back({e->d_name, e->d_ino, e->d_type});
      }
    }
    ::close(d);
    return 0;
  }

  int64_t readlink(std::string& out) override {
    char buf[4096];
    ssize_t n = readlinkat(fd_, "", buf, sizeof buf);
    if (n < 0) return errno == ENOENT ? -EINVAL : -errno; // ENOENT: not a symlink
    out.assign(buf, size_t(n));
    return 0;
  }

  int64_t open(const vfs::Path& p, int flags, std::shared_ptr<File>& out) override {
    struct stat st;
    if (int64_t r = getattr(st)) return r;
    if (!S_ISREG(st.st_mode)) return Inode::open(p, flags, out);
    int acc = flags & O_ACCMODE;
    if (acc != O_RDONLY && hfs_.read_only) return -EROFS;
    int fd = reopen(acc == O_RDONLY ? O_RDONLY : O_RDWR);
    if (fd < 0 && acc == O_WRONLY) fd = reopen(O_WRONLY);
    if (fd < 0) return -errno;
    out = std::make_shared<HostFile>(p, flags, fd, cache_ptr_);
    return 0;
  }

  int64_t read(void* buf, size_t n, uint64_t off) override {
    return cache_ ? cache_->read(buf, n, off) : backing_read(buf, n, off);
  }

  int64_t write(const void* buf, size_t n, uint64_t off) override {
    if (hfs_.read_only) return -EROFS;
    return cache_ ? cache_->write(buf, n, off) : backing_write(buf, n, off);
  }

  int64_t fsync() override {
    // Other processes may still be writing through their mappings: pages
    // they map writable stay dirty for the next writeback.
    int64_t r = cache_ ? cache_->writeback(0, mm::PageCache::kAllPages, nullptr) : 0;
    if (rw_ >= 0 && ::fsync(rw_)) return -errno;
    return r;
  }

  mm::PageCache* page_cache() override {
    if (!g_cache_memory) return nullptr;
    struct stat st;
    if (fstatat(fd_, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode)) return nullptr;
    if (!cache_) {
      cache_ = std::make_unique<mm::PageCache>(*g_cache_memory, this);
      cache_->dev = fs().dev;
      cache_->ino = ino();
      cache_ptr_ = cache_.get();
    }
    // Nothing cached: the host file may have changed size behind our back.
    if (cache_->idle()) cache_->set_size(uint64_t(st.st_size));
    return cache_.get();
  }

  // ---- mm::PageBacking: the host file by offset ----
  int64_t backing_read(void* buf, size_t n, uint64_t off) override {
    if (int64_t r = io_fd(false); r < 0) return r;
    ssize_t r = ::pread(rd_ >= 0 ? rd_ : rw_, buf, n, off_t(off));
    return r < 0 ? -errno : r;
  }

  int64_t backing_write(const void* buf, size_t n, uint64_t off) override {
    if (hfs_.read_only) return -EROFS;
    if (int64_t r = io_fd(true); r < 0) return r;
    ssize_t r = ::pwrite(rw_, buf, n, off_t(off));
    return r < 0 ? -errno : r;
  }

  void sync_cache() {
    if (cache_) cache_->sync();
  }

private:
  int64_t io_fd(bool write) {
    if (write ? rw_ >= 0 : (rd_ >= 0 || rw_ >= 0)) return 0;
    int fd = reopen(write ? O_RDWR : O_RDONLY);
    if (fd < 0) return -errno;
    (write ? rw_ : rd_) = fd;
    return 0;
  }

  // A host descriptor for I/O on this inode. A read-only hostfs reads with
  // O_NOATIME where the host lets it (the owner, or root), so a tree the
  // guest must not change does not even get new access times.
  int reopen(int flags) const {
    if (hfs_.read_only && (flags & O_ACCMODE) == O_RDONLY) {
      int fd = ::open(proc_fd(fd_).c_str(), flags | O_NOATIME | O_CLOEXEC);
      if (fd >= 0 || errno != EPERM) return fd;
    }
    return ::open(proc_fd(fd_).c_str(), flags | O_CLOEXEC);
  }

  // A name just made here: give it the guest owner and, if asked, its inode.
  int64_t created(const std::string& name, const vfs::Owner& o, std::shared_ptr<Inode>* out) {
    std::shared_ptr<Inode> ino;
    if (int64_t r = lookup(name, ino)) return r;
    struct stat host;
    if (fstatat(fd_, name.c_str(), &host, AT_SYMLINK_NOFOLLOW) == 0) {
      struct stat shown = host;
      hfs_.present(shown);
      if (shown.st_uid != o.uid || shown.st_gid != o.gid) {
        vfs::SetAttr a;
        a.mask = vfs::SetAttr::kUid | vfs::SetAttr::kGid;
        a.uid = o.uid;
        a.gid = o.gid;
        ino->setattr(a);
      }
    }
    if (out) *out = std::move(ino);
    return 0;
  }

  HostFs& hfs_;
  uint64_t key_;
  int fd_;
  bool is_root_dir_;
  int rd_ = -1, rw_ = -1; // for page-cache style access by offset
  std::unique_ptr<mm::PageCache> cache_;
  const mm::PageCache* cache_ptr_ = nullptr; // what open files look at
};

} // namespace

int64_t HostFs::create(const std::string& dir, bool read_only, std::shared_ptr<HostFs>& out) {
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  auto fs = std::make_shared<HostFs>();
  fs->root_fd_ = fd;
  fs->read_only = read_only;
  fs->dev = vfs::next_anon_dev();
  fs->source = dir;
  struct stat a, b;
  fs->is_host_root = fstat(fd, &a) == 0 && ::stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  out = std::move(fs);
  return 0;
}

HostFs::~HostFs() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

std::shared_ptr<vfs::Inode> HostFs::root() {
  int fd = fcntl(root_fd_, F_DUPFD_CLOEXEC, 0);
  struct stat st;
  fstat(root_fd_, &st);
  auto r = inode_for(fd, st);
  static_cast<HostInode&>(*r).mark_root();
  return r;
}

std::shared_ptr<vfs::Inode> HostFs::inode_for(int fd, const struct stat& st) {
  uint64_t key = key_of(st);
  auto it = inodes_.find(key);
  if (it != inodes_.end())
    if (auto live = it->second.lock()) {
      ::close(fd);
      return live;
    }
  auto ino = std::make_shared<HostInode>(*this, key, fd, st);
  inodes_[key] = ino;
  return ino;
}

void HostFs::present(struct stat& st) const {
  uint64_t key = key_of(st);
  st.st_dev = dev;
  static const uid_t self_uid = geteuid();
  static const gid_t self_gid = getegid();
  if (self_uid != 0) { // an unprivileged kernel's own files belong to guest root
    if (st.st_uid == self_uid) st.st_uid = 0;
    if (st.st_gid == self_gid) st.st_gid = 0;
  }
  auto it = meta.find(key);
  if (it == meta.end()) return;
  if (it->second.uid) st.st_uid = *it->second.uid;
  if (it->second.gid) st.st_gid = *it->second.gid;
  if (it->second.mode) st.st_mode = (st.st_mode & S_IFMT) | *it->second.mode;
}

void HostFs::set_cache_memory(mm::PhysMem* pm) { g_cache_memory = pm; }

void HostFs::sync() {
  for (auto& [key, weak] : inodes_)
    if (auto ino = weak.lock()) static_cast<HostInode&>(*ino).sync_cache();
}

int64_t HostFs::statfs(struct statfs& st) {
  if (fstatfs(root_fd_, &st)) return -errno;
  return 0;
}

} // namespace gk::drivers
