// read/write and friends, over the process's file table.
#include <asm/ioctls.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guestkernel/kernel.h"
#include "guestkernel/vfs/host_file.h"

#include <algorithm>
#include <vector>

#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

constexpr size_t kChunk = 64 << 10;
constexpr uint64_t kMaxRw = 0x7ffff000; // MAX_RW_COUNT

int64_t do_write(SyscallCtx& c, File& f, uint64_t buf, uint64_t n) {
  IoCtx io{c.kernel, c.task};
  n = std::min(n, kMaxRw);
  std::vector<uint8_t> tmp(std::min<size_t>(n, kChunk));
  uint64_t done = 0;
  while (done < n) {
    size_t chunk = std::min<size_t>(n - done, kChunk);
    if (c.mm().copy_from_user(tmp.data(), buf + done, chunk)) return done ? int64_t(done) : -EFAULT;
    int64_t w = f.write(io, tmp.data(), chunk);
    if (w < 0) return done ? int64_t(done) : w;
    done += uint64_t(w);
    if (size_t(w) < chunk) break;
  }
  return int64_t(done);
}

int64_t do_read(SyscallCtx& c, File& f, uint64_t buf, uint64_t n) {
  n = std::min(n, kMaxRw);
  std::vector<uint8_t> tmp(std::min<size_t>(n, kChunk));
  IoCtx io{c.kernel, c.task};
  int64_t r = f.read(io, tmp.data(), tmp.size());
  if (r <= 0) return r;
  if (c.mm().copy_to_user(buf, tmp.data(), size_t(r))) return -EFAULT;
  return r;
}

std::shared_ptr<File> file_for(SyscallCtx& c, uint64_t fd, int need) {
  auto f = c.proc().fds->get(int(fd));
  if (!f) return nullptr;
  int acc = f->flags & O_ACCMODE;
  if (need == O_RDONLY && acc == O_WRONLY) return nullptr;
  if (need == O_WRONLY && acc == O_RDONLY) return nullptr;
  return f;
}

int64_t sys_read(SyscallCtx& c, const SyscallArgs& a) {
  auto f = file_for(c, a.a[0], O_RDONLY);
  if (!f) return -EBADF;
  return do_read(c, *f, a.a[1], a.a[2]);
}

int64_t sys_write(SyscallCtx& c, const SyscallArgs& a) {
  auto f = file_for(c, a.a[0], O_WRONLY);
  if (!f) return -EBADF;
  return do_write(c, *f, a.a[1], a.a[2]);
}

// Reads the guest's iovec array; -errno or 0.
int64_t read_iov(SyscallCtx& c, uint64_t ptr, uint64_t cnt, std::vector<iovec>& out) {
  if (cnt > IOV_MAX) return -EINVAL;
  out.resize(cnt);
  if (cnt && c.mm().copy_from_user(out.data(), ptr, cnt * sizeof(iovec))) return -EFAULT;
  uint64_t total = 0;
  for (auto& v : out) {
    if (v.iov_len > uint64_t(INT64_MAX) - total) return -EINVAL;
    total += v.iov_len;
  }
  return 0;
}

int64_t sys_writev(SyscallCtx& c, const SyscallArgs& a) {
  auto f = file_for(c, a.a[0], O_WRONLY);
  if (!f) return -EBADF;
  std::vector<iovec> iov;
  if (int64_t r = read_iov(c, a.a[1], a.a[2], iov)) return r;
  int64_t total = 0;
  for (auto& v : iov) {
    if (!v.iov_len) continue;
    int64_t r = do_write(c, *f, uint64_t(v.iov_base), v.iov_len);
    if (r < 0) return total ? total : r;
    total += r;
    if (uint64_t(r) < v.iov_len) break;
  }
  return total;
}

int64_t sys_readv(SyscallCtx& c, const SyscallArgs& a) {
  auto f = file_for(c, a.a[0], O_RDONLY);
  if (!f) return -EBADF;
  std::vector<iovec> iov;
  if (int64_t r = read_iov(c, a.a[1], a.a[2], iov)) return r;
  for (auto& v : iov) // one read fills the first non-empty buffer, as a tty read would
    if (v.iov_len) return do_read(c, *f, uint64_t(v.iov_base), v.iov_len);
  return 0;
}

int64_t sys_ioctl(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  return f->ioctl(c.mm(), a.a[1], a.a[2]);
}

int64_t sys_close(SyscallCtx& c, const SyscallArgs& a) { return c.proc().fds->close(int(a.a[0])); }

int64_t sys_lseek(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  return f->lseek(int64_t(a.a[1]), int(a.a[2]));
}

int64_t stat_fd(SyscallCtx& c, uint64_t fd, uint64_t buf) {
  auto f = c.proc().fds->get(int(fd));
  if (!f) return -EBADF;
  struct stat st;
  if (int64_t r = f->stat(st)) return r;
  return c.mm().copy_to_user(buf, &st, sizeof st) ? -EFAULT : 0;
}

int64_t sys_fstat(SyscallCtx& c, const SyscallArgs& a) { return stat_fd(c, a.a[0], a.a[1]); }

// Only the fd form exists until the VFS lands: there are no paths to look up.
int64_t sys_newfstatat(SyscallCtx& c, const SyscallArgs& a) {
  char path[2];
  int64_t n = c.mm().strncpy_from_user(path, a.a[1], 1);
  if (n == -EFAULT) return -EFAULT;
  if (a.a[3] & ~uint64_t(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT)) return -EINVAL;
  if (n == 0) return (a.a[3] & AT_EMPTY_PATH) ? stat_fd(c, a.a[0], a.a[2]) : -ENOENT;
  if (int32_t(a.a[0]) != AT_FDCWD) {
    char first;
    if (c.mm().copy_from_user(&first, a.a[1], 1) || first != '/') return -ENOSYS; // dirfd-relative: with the VFS
  }
  std::string hpath;
  if (int64_t r = user_host_path(c.mm(), a.a[1], hpath)) return r;
  struct stat st;
  int r = (a.a[3] & AT_SYMLINK_NOFOLLOW) ? ::lstat(hpath.c_str(), &st) : ::stat(hpath.c_str(), &st);
  if (r) return -errno;
  return c.mm().copy_to_user(a.a[2], &st, sizeof st) ? -EFAULT : 0;
}

int64_t sys_dup(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  return c.proc().fds->install(f);
}

int64_t dup3(SyscallCtx& c, int oldfd, int newfd, int flags) {
  if (flags & ~O_CLOEXEC) return -EINVAL;
  auto f = c.proc().fds->get(oldfd);
  if (!f) return -EBADF;
  if (newfd < 0 || newfd >= FdTable::kMaxFds) return -EBADF;
  return c.proc().fds->install_at(newfd, f, flags & O_CLOEXEC);
}

int64_t sys_dup2(SyscallCtx& c, const SyscallArgs& a) {
  int oldfd = int(a.a[0]), newfd = int(a.a[1]);
  if (oldfd == newfd) return c.proc().fds->get(oldfd) ? newfd : -EBADF;
  return dup3(c, oldfd, newfd, 0);
}

int64_t sys_dup3(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[0] == a.a[1]) return -EINVAL;
  return dup3(c, int(a.a[0]), int(a.a[1]), int(a.a[2]));
}

int64_t sys_fcntl(SyscallCtx& c, const SyscallArgs& a) {
  FdTable& fds = *c.proc().fds;
  int fd = int(a.a[0]);
  auto f = fds.get(fd);
  if (!f) return -EBADF;
  switch (int(a.a[1])) {
  case F_DUPFD:
  case F_DUPFD_CLOEXEC:
    if (a.a[2] >= uint64_t(FdTable::kMaxFds)) return -EINVAL;
    return fds.install(f, int(a.a[2]), int(a.a[1]) == F_DUPFD_CLOEXEC);
  case F_GETFD: return fds.cloexec(fd) ? FD_CLOEXEC : 0;
  case F_SETFD: fds.set_cloexec(fd, a.a[2] & FD_CLOEXEC); return 0;
  case F_GETFL: return f->flags;
  case F_SETFL: {
    constexpr int kSettable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
    f->flags = (f->flags & ~kSettable) | (int(a.a[2]) & kSettable);
    return 0;
  }
  default: return -EINVAL;
  }
}

// Advice only: accepted for files that can seek, as Linux does.
int64_t sys_fadvise64(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  if (a.a[3] > 5) return -EINVAL; // POSIX_FADV_NORMAL .. POSIX_FADV_NOREUSE
  return f->lseek(0, SEEK_CUR) == -ESPIPE ? -ESPIPE : 0;
}

} // namespace

void register_io_syscalls(SyscallTable& t) {
  t.add(SYS_read, sys_read, "dru");
  t.add(SYS_write, sys_write, "dbu");
  t.add(SYS_readv, sys_readv, "dxu");
  t.add(SYS_writev, sys_writev, "dxu");
  t.add(SYS_ioctl, sys_ioctl, "dxx");
  t.add(SYS_close, sys_close, "d");
  t.add(SYS_lseek, sys_lseek, "dld");
  t.add(SYS_fstat, sys_fstat, "dx");
  t.add(SYS_newfstatat, sys_newfstatat, "dsxx");
  t.add(SYS_dup, sys_dup, "d");
  t.add(SYS_dup2, sys_dup2, "dd");
  t.add(SYS_dup3, sys_dup3, "ddx");
  t.add(SYS_fcntl, sys_fcntl, "ddx");
  t.add(SYS_fadvise64, sys_fadvise64, "dlud");
}

} // namespace gk
