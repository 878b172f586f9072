// read/write and friends, over the process's file table.
#include <asm/ioctls.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guestkernel/kernel.h"

#include <algorithm>
#include <vector>

#include "guestkernel/syscalls/socket_args.h"
#include "guestkernel/syscalls/syscall.h"
#include "guestkernel/vfs/vfs.h"

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
  bool fills = f.fills_reads();
  uint64_t done = 0;
  while (done < n) {
    size_t chunk = std::min<size_t>(n - done, kChunk);
    int64_t r = f.read(io, tmp.data(), chunk);
    if (r < 0) return done ? int64_t(done) : r;
    if (r > 0 && c.mm().copy_to_user(buf + done, tmp.data(), size_t(r))) return done ? int64_t(done) : -EFAULT;
    done += uint64_t(r);
    if (!fills || size_t(r) < chunk) break;
  }
  return int64_t(done);
}

std::shared_ptr<File> file_for(SyscallCtx& c, uint64_t fd, int need) {
  auto f = c.proc().fds->get(int(fd));
  if (!f || (f->flags & O_PATH)) return nullptr;
  int acc = f->flags & O_ACCMODE;
  if (need == O_RDONLY && acc == O_WRONLY) return nullptr;
  if (need == O_WRONLY && acc == O_RDONLY) return nullptr;
  return f;
}

// A socket takes the caller's whole vector as one message: a datagram is
// not cut at the kernel's copy chunks or at the buffers' boundaries.
iovec one_buffer(uint64_t buf, uint64_t n) { return iovec{reinterpret_cast<void*>(buf), n}; }

int64_t sys_read(SyscallCtx& c, const SyscallArgs& a) {
  auto f = file_for(c, a.a[0], O_RDONLY);
  if (!f) return -EBADF;
  if (auto* s = net::as_socket(*f)) return socket_rw(c, *s, {one_buffer(a.a[1], a.a[2])}, false);
  return do_read(c, *f, a.a[1], a.a[2]);
}

int64_t sys_write(SyscallCtx& c, const SyscallArgs& a) {
  auto f = file_for(c, a.a[0], O_WRONLY);
  if (!f) return -EBADF;
  if (auto* s = net::as_socket(*f)) return socket_rw(c, *s, {one_buffer(a.a[1], a.a[2])}, true);
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
  if (auto* s = net::as_socket(*f)) return socket_rw(c, *s, std::move(iov), true);
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
  if (auto* s = net::as_socket(*f)) return socket_rw(c, *s, std::move(iov), false);
  // Regular files fill every buffer; a pipe or tty read stops after the
  // first buffer that got data, since another read could block.
  bool fill_all = f->fills_reads();
  int64_t total = 0;
  for (auto& v : iov) {
    if (!v.iov_len) continue;
    int64_t r = do_read(c, *f, uint64_t(v.iov_base), v.iov_len);
    if (r < 0) return total ? total : r;
    total += r;
    if (!fill_all || uint64_t(r) < v.iov_len) break;
  }
  return total;
}

int64_t sys_ioctl(SyscallCtx& c, const SyscallArgs& a) {
  int fd = int(a.a[0]);
  auto f = c.proc().fds->get(fd);
  if (!f) return -EBADF;
  switch (a.a[1]) { // the ones every file has (Linux's do_vfs_ioctl)
  case FIOCLEX:
  case FIONCLEX: c.proc().fds->set_cloexec(fd, a.a[1] == FIOCLEX); return 0;
  case FIONBIO: {
    int on;
    if (c.mm().copy_from_user(&on, a.a[2], sizeof on)) return -EFAULT;
    f->flags = on ? f->flags | O_NONBLOCK : f->flags & ~O_NONBLOCK;
    return 0;
  }
  }
  IoCtx io{c.kernel, c.task};
  return f->ioctl_by(io, c.mm(), a.a[1], a.a[2]);
}

int64_t sys_close(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  release_locks_on_close(c.kernel, c.proc(), f);
  return c.proc().fds->close(int(a.a[0]));
}

// close_range(first, last, flags): closes (or, with CLOSE_RANGE_CLOEXEC,
// marks close-on-exec) every open fd in [first, last]; UNSHARE first gives
// the caller its own table, as unshare(CLONE_FILES) would.
int64_t sys_close_range(SyscallCtx& c, const SyscallArgs& a) {
  constexpr uint64_t kUnshare = 2, kCloexec = 4; // CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC
  uint32_t first = uint32_t(a.a[0]), last = uint32_t(a.a[1]);
  if ((a.a[2] & ~(kUnshare | kCloexec)) || first > last) return -EINVAL;
  Process& p = c.proc();
  if ((a.a[2] & kUnshare) && p.fds.use_count() > 1) p.fds = std::make_shared<FdTable>(*p.fds);
  for (auto& [fd, f] : p.fds->files()) {
    if (uint32_t(fd) < first || uint32_t(fd) > last) continue;
    if (a.a[2] & kCloexec) {
      p.fds->set_cloexec(fd, true);
    } else {
      release_locks_on_close(c.kernel, p, f);
      p.fds->close(fd);
    }
  }
  return 0;
}

int64_t sys_lseek(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  return f->lseek(int64_t(a.a[1]), int(a.a[2]));
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
  case F_GETLK:
  case F_SETLK:
  case F_SETLKW:
  case F_OFD_GETLK:
  case F_OFD_SETLK:
  case F_OFD_SETLKW:
    return fcntl_lock(c, f, int(a.a[1]), a.a[2]);
  default: return -EINVAL;
  }
}

// pread/pwrite and their vector forms: at an offset, the file position untouched.
int64_t do_pread(SyscallCtx& c, File& f, uint64_t buf, uint64_t n, int64_t off) {
  n = std::min(n, kMaxRw);
  std::vector<uint8_t> tmp(std::min<size_t>(n, kChunk));
  uint64_t done = 0;
  while (done < n) {
    size_t chunk = std::min<size_t>(n - done, kChunk);
    int64_t r = f.pread(tmp.data(), chunk, uint64_t(off) + done);
    if (r < 0) return done ? int64_t(done) : r;
    if (r && c.mm().copy_to_user(buf + done, tmp.data(), size_t(r))) return done ? int64_t(done) : -EFAULT;
    done += uint64_t(r);
    if (size_t(r) < chunk) break;
  }
  return int64_t(done);
}

int64_t do_pwrite(SyscallCtx& c, File& f, uint64_t buf, uint64_t n, int64_t off) {
  n = std::min(n, kMaxRw);
  std::vector<uint8_t> tmp(std::min<size_t>(n, kChunk));
  uint64_t done = 0;
  while (done < n) {
    size_t chunk = std::min<size_t>(n - done, kChunk);
    if (c.mm().copy_from_user(tmp.data(), buf + done, chunk)) return done ? int64_t(done) : -EFAULT;
    int64_t w = f.pwrite(tmp.data(), chunk, uint64_t(off) + done);
    if (w < 0) return done ? int64_t(done) : w;
    done += uint64_t(w);
    if (size_t(w) < chunk) break;
  }
  return int64_t(done);
}

int64_t sys_pread64(SyscallCtx& c, const SyscallArgs& a) {
  auto f = file_for(c, a.a[0], O_RDONLY);
  if (!f) return -EBADF;
  if (int64_t(a.a[3]) < 0) return -EINVAL;
  return do_pread(c, *f, a.a[1], a.a[2], int64_t(a.a[3]));
}

int64_t sys_pwrite64(SyscallCtx& c, const SyscallArgs& a) {
  auto f = file_for(c, a.a[0], O_WRONLY);
  if (!f) return -EBADF;
  if (int64_t(a.a[3]) < 0) return -EINVAL;
  return do_pwrite(c, *f, a.a[1], a.a[2], int64_t(a.a[3]));
}

int64_t vector_at(SyscallCtx& c, uint64_t fd, uint64_t uiov, uint64_t cnt, int64_t off, bool write) {
  auto f = file_for(c, fd, write ? O_WRONLY : O_RDONLY);
  if (!f) return -EBADF;
  if (off == -1) { // preadv2/pwritev2: the current position
    SyscallArgs b{0, {fd, uiov, cnt, 0, 0, 0}};
    return write ? sys_writev(c, b) : sys_readv(c, b);
  }
  if (off < 0) return -EINVAL;
  std::vector<iovec> iov;
  if (int64_t r = read_iov(c, uiov, cnt, iov)) return r;
  int64_t total = 0;
  for (auto& v : iov) {
    if (!v.iov_len) continue;
    int64_t r = write ? do_pwrite(c, *f, uint64_t(v.iov_base), v.iov_len, off + total)
                      : do_pread(c, *f, uint64_t(v.iov_base), v.iov_len, off + total);
    if (r < 0) return total ? total : r;
    total += r;
    if (uint64_t(r) < v.iov_len) break;
  }
  return total;
}

int64_t sys_preadv(SyscallCtx& c, const SyscallArgs& a) { return vector_at(c, a.a[0], a.a[1], a.a[2], int64_t(a.a[3]), false); }
int64_t sys_pwritev(SyscallCtx& c, const SyscallArgs& a) { return vector_at(c, a.a[0], a.a[1], a.a[2], int64_t(a.a[3]), true); }
int64_t sys_preadv2(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[5] & ~uint64_t(0x1f)) return -EOPNOTSUPP; // RWF_* hints are advice
  return vector_at(c, a.a[0], a.a[1], a.a[2], int64_t(a.a[3]), false);
}
int64_t sys_pwritev2(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[5] & ~uint64_t(0x1f)) return -EOPNOTSUPP;
  return vector_at(c, a.a[0], a.a[1], a.a[2], int64_t(a.a[3]), true);
}

// sendfile and copy_file_range: a kernel-side copy through a buffer.
int64_t copy_between(SyscallCtx& c, File& in, File& out, uint64_t uin_off, uint64_t uout_off, uint64_t n) {
  int64_t in_off = -1, out_off = -1;
  if (uin_off && c.mm().copy_from_user(&in_off, uin_off, 8)) return -EFAULT;
  if (uout_off && c.mm().copy_from_user(&out_off, uout_off, 8)) return -EFAULT;
  if ((uin_off && in_off < 0) || (uout_off && out_off < 0)) return -EINVAL;
  IoCtx io{c.kernel, c.task};
  n = std::min(n, kMaxRw);
  std::vector<uint8_t> buf(std::min<size_t>(n, kChunk));
  uint64_t done = 0;
  int64_t err = 0;
  while (done < n) {
    size_t chunk = std::min<size_t>(n - done, kChunk);
    int64_t r = uin_off ? in.pread(buf.data(), chunk, uint64_t(in_off)) : in.read(io, buf.data(), chunk);
    if (r <= 0) {
      err = r;
      break;
    }
    int64_t w = uout_off ? out.pwrite(buf.data(), size_t(r), uint64_t(out_off)) : out.write(io, buf.data(), size_t(r));
    if (w < 0) {
      err = w;
      break;
    }
    if (uin_off) in_off += w;
    if (uout_off) out_off += w;
    done += uint64_t(w);
    if (w < r) { // the rest was read but not written: put the input back
      if (!uin_off) in.lseek(w - r, SEEK_CUR);
      break;
    }
    if (size_t(r) < chunk) break;
  }
  if (uin_off && c.mm().copy_to_user(uin_off, &in_off, 8)) return -EFAULT;
  if (uout_off && c.mm().copy_to_user(uout_off, &out_off, 8)) return -EFAULT;
  return done ? int64_t(done) : err;
}

int64_t sys_sendfile(SyscallCtx& c, const SyscallArgs& a) {
  auto out = file_for(c, a.a[0], O_WRONLY);
  auto in = file_for(c, a.a[1], O_RDONLY);
  if (!out || !in) return -EBADF;
  if (out->flags & O_APPEND) return -EINVAL;
  return copy_between(c, *in, *out, a.a[2], 0, a.a[3]);
}

int64_t sys_copy_file_range(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[5]) return -EINVAL;
  auto in = file_for(c, a.a[0], O_RDONLY);
  auto out = file_for(c, a.a[2], O_WRONLY);
  if (!out || !in) return -EBADF;
  if (out->flags & O_APPEND) return -EBADF;
  struct stat si, so;
  if (in->stat(si) || out->stat(so)) return -EINVAL;
  if (S_ISDIR(si.st_mode) || S_ISDIR(so.st_mode)) return -EISDIR;
  if (!S_ISREG(si.st_mode) || !S_ISREG(so.st_mode)) return -EINVAL;
  return copy_between(c, *in, *out, a.a[1], a.a[3], a.a[4]);
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
  t.add(SYS_close_range, sys_close_range, "uux");
  t.add(SYS_lseek, sys_lseek, "dld");
  t.add(SYS_pread64, sys_pread64, "dxul");
  t.add(SYS_pwrite64, sys_pwrite64, "dbul");
  t.add(SYS_preadv, sys_preadv, "dxul");
  t.add(SYS_pwritev, sys_pwritev, "dxul");
  t.add(SYS_preadv2, sys_preadv2, "dxulx");
  t.add(SYS_pwritev2, sys_pwritev2, "dxulx");
  t.add(SYS_sendfile, sys_sendfile, "ddxu");
  t.add(SYS_copy_file_range, sys_copy_file_range, "dxdxux");
  t.add(SYS_dup, sys_dup, "d");
  t.add(SYS_dup2, sys_dup2, "dd");
  t.add(SYS_dup3, sys_dup3, "ddx");
  t.add(SYS_fcntl, sys_fcntl, "ddx");
  t.add(SYS_fadvise64, sys_fadvise64, "dlud");
}

} // namespace gk
