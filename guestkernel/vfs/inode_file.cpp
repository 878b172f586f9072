#include "guestkernel/vfs/inode_file.h"

#include <asm/ioctls.h>
#include <dirent.h>
#include <fcntl.h>

#include <cstring>
#include <map>

#include "mm/address_space.h"

namespace gk::vfs {

namespace {
bool is_dir(Inode& i) { return S_ISDIR(i.mode()); }
} // namespace

int64_t InodeFile::read(IoCtx&, void* buf, size_t n) {
  int64_t r = pread(buf, n, pos_);
  if (r > 0) pos_ += uint64_t(r);
  return r;
}

int64_t InodeFile::write(IoCtx&, const void* buf, size_t n) {
  if (flags & O_APPEND) {
    struct stat st;
    if (int64_t r = path_.inode().getattr(st)) return r;
    pos_ = uint64_t(st.st_size);
  }
  int64_t r = pwrite(buf, n, pos_);
  if (r > 0) pos_ += uint64_t(r);
  return r;
}

int64_t InodeFile::pread(void* buf, size_t n, uint64_t off) {
  if (is_dir(path_.inode())) return -EISDIR;
  return path_.inode().read(buf, n, off);
}

int64_t InodeFile::pwrite(const void* buf, size_t n, uint64_t off) {
  if (int64_t r = append_offset(off)) return r;
  return path_.inode().write(buf, n, off);
}

// O_APPEND writes go to the end, pwrite's too (Linux ignores the offset).
int64_t InodeFile::append_offset(uint64_t& off) {
  if (!(flags & O_APPEND)) return 0;
  struct stat st;
  if (int64_t r = path_.inode().getattr(st)) return r;
  off = uint64_t(st.st_size);
  return 0;
}

int64_t InodeFile::lseek(int64_t off, int whence) {
  struct stat st;
  if (int64_t r = path_.inode().getattr(st)) return r;
  bool dir = S_ISDIR(st.st_mode);
  int64_t base;
  switch (whence) {
  case SEEK_SET: base = 0; break;
  case SEEK_CUR: base = int64_t(pos_); break;
  case SEEK_END: base = dir ? 0 : st.st_size; break;
  case SEEK_DATA: // one data extent from 0 to the end, as on a file system without holes
  case SEEK_HOLE:
    if (dir) return -EINVAL;
    if (off < 0 || off >= st.st_size) return -ENXIO;
    pos_ = whence == SEEK_DATA ? uint64_t(off) : uint64_t(st.st_size);
    return int64_t(pos_);
  default: return -EINVAL;
  }
  if (off > 0 && base > INT64_MAX - off) return -EOVERFLOW;
  if (base + off < 0) return -EINVAL;
  pos_ = uint64_t(base + off);
  if (dir && pos_ == 0) dir_loaded_ = false; // rewinddir sees new entries
  return int64_t(pos_);
}

// Positions are entry indexes: 0 is ".", 1 "..", then the snapshot.
int64_t InodeFile::getdents64(uint8_t* buf, size_t n) {
  Inode& ino = path_.inode();
  if (!is_dir(ino)) return -ENOTDIR;
  if (!dir_loaded_ || pos_ == 0) {
    dir_.clear();
    if (int64_t r = ino.readdir(dir_)) return r;
    dir_loaded_ = true;
  }
  size_t used = 0;
  for (;;) {
    DirEntry e;
    if (pos_ == 0) {
      e = {".", ino.ino(), DT_DIR};
    } else if (pos_ == 1) {
      e = {"..", ino.ino(), DT_DIR};
      if (path_.dentry->parent) e.ino = path_.dentry->parent->inode->ino();
    } else if (pos_ - 2 < dir_.size()) {
      e = dir_[pos_ - 2];
    } else {
      break;
    }
    size_t reclen = (19 + e.name.size() + 1 + 7) & ~size_t(7);
    if (used + reclen > n) {
      if (used == 0) return -EINVAL;
      break;
    }
    uint8_t* p = buf + used;
    memset(p, 0, reclen);
    uint64_t next = pos_ + 1;
    memcpy(p, &e.ino, 8);
    memcpy(p + 8, &next, 8);
    uint16_t rl = uint16_t(reclen);
    memcpy(p + 16, &rl, 2);
    p[18] = e.type;
    memcpy(p + 19, e.name.data(), e.name.size());
    used += reclen;
    pos_ = next;
  }
  return int64_t(used);
}

int64_t InodeFile::ioctl(mm::AddressSpace& as, unsigned long cmd, uint64_t arg) {
  if (cmd != FIONREAD) return -ENOTTY;
  struct stat st;
  if (int64_t r = path_.inode().getattr(st)) return r;
  if (!S_ISREG(st.st_mode)) return -ENOTTY;
  int avail = int(st.st_size > int64_t(pos_) ? std::min<int64_t>(st.st_size - int64_t(pos_), INT32_MAX) : 0);
  return as.copy_to_user(arg, &avail, sizeof avail) ? -EFAULT : 0;
}

std::string InodeFile::describe() const { return absolute_path(path_); }

namespace {
std::map<dev_t, DeviceOpen>& chrdevs() {
  static std::map<dev_t, DeviceOpen> m;
  return m;
}
} // namespace

void register_chrdev(dev_t rdev, DeviceOpen open) { chrdevs()[rdev] = std::move(open); }

int64_t open_chrdev(dev_t rdev, const Path& node, int flags, std::shared_ptr<File>& out) {
  auto it = chrdevs().find(rdev);
  return it == chrdevs().end() ? -ENXIO : it->second(node, flags, out);
}

// The default open: regular files and directories are served by InodeFile,
// character devices by their driver.
int64_t Inode::open(const Path& p, int open_flags, std::shared_ptr<File>& out) {
  struct stat st;
  if (int64_t r = getattr(st)) return r;
  mode_t m = st.st_mode;
  if (S_ISCHR(m)) return open_chrdev(st.st_rdev, p, open_flags, out);
  if (!S_ISREG(m) && !S_ISDIR(m)) return -ENXIO;
  out = std::make_shared<InodeFile>(p, open_flags);
  return 0;
}

} // namespace gk::vfs
