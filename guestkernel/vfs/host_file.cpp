#include "guestkernel/vfs/host_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

HostFile::~HostFile() { close(fd_); }

int64_t HostFile::read(IoCtx&, void* buf, size_t n) {
  int64_t r = pread(buf, n, pos_);
  if (r > 0) pos_ += uint64_t(r);
  return r;
}

int64_t HostFile::pread(void* buf, size_t n, uint64_t off) {
  ssize_t r = ::pread(fd_, buf, n, off_t(off));
  return r < 0 ? -errno : r;
}

int64_t HostFile::lseek(int64_t off, int whence) {
  struct stat st;
  int64_t base;
  switch (whence) {
  case SEEK_SET: base = 0; break;
  case SEEK_CUR: base = int64_t(pos_); break;
  case SEEK_END:
    if (fstat(fd_, &st)) return -errno;
    base = st.st_size;
    break;
  default: return -EINVAL;
  }
  if (base + off < 0) return -EINVAL;
  pos_ = uint64_t(base + off);
  return int64_t(pos_);
}

int64_t HostFile::stat(struct stat& st) { return fstat(fd_, &st) ? -errno : 0; }

int64_t host_path(const std::string& p, std::string& out) {
  if (p.empty()) return -ENOENT;
  out = p[0] == '/' ? p : "/" + p; // the guest's cwd is / for now
  for (const char* hidden : {"/proc", "/sys", "/dev"}) {
    size_t n = strlen(hidden);
    if (out.compare(0, n, hidden) == 0 && (out.size() == n || out[n] == '/')) return -ENOENT;
  }
  return 0;
}

int64_t user_host_path(mm::AddressSpace& as, uint64_t upath, std::string& out) {
  char buf[4096];
  int64_t n = as.strncpy_from_user(buf, upath, sizeof buf - 1);
  if (n < 0) return n;
  return host_path(std::string(buf, size_t(n)), out);
}

namespace {

int64_t user_path(SyscallCtx& c, uint64_t up, std::string& out) { return user_host_path(c.mm(), up, out); }

// Paths are absolute or relative to / (AT_FDCWD) until the VFS lands.
int64_t check_dirfd(uint64_t dirfd) { return int32_t(dirfd) == AT_FDCWD ? 0 : -ENOSYS; }

int64_t do_open(SyscallCtx& c, uint64_t upath, int flags) {
  std::string path;
  if (int64_t r = user_path(c, upath, path)) return r;
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) || (flags & O_TMPFILE) == O_TMPFILE) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 || (flags & O_CREAT) ? -EROFS : -errno;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (flags & (O_DIRECTORY | O_NOFOLLOW)));
  if (fd < 0) return -errno;
  auto f = std::make_shared<HostFile>(fd, path);
  return c.proc().fds->install(f, 0, flags & O_CLOEXEC);
}

int64_t sys_open(SyscallCtx& c, const SyscallArgs& a) { return do_open(c, a.a[0], int(a.a[1])); }

int64_t sys_openat(SyscallCtx& c, const SyscallArgs& a) {
  if (int64_t r = check_dirfd(a.a[0])) return r;
  return do_open(c, a.a[1], int(a.a[2]));
}

int64_t do_access(SyscallCtx& c, uint64_t upath, int mode) {
  std::string path;
  if (int64_t r = user_path(c, upath, path)) return r;
  if (mode & ~(R_OK | W_OK | X_OK)) return -EINVAL;
  if (::access(path.c_str(), mode & ~W_OK) != 0) return -errno;
  return (mode & W_OK) ? -EROFS : 0;
}

int64_t sys_access(SyscallCtx& c, const SyscallArgs& a) { return do_access(c, a.a[0], int(a.a[1])); }

int64_t sys_faccessat(SyscallCtx& c, const SyscallArgs& a) {
  if (int64_t r = check_dirfd(a.a[0])) return r;
  return do_access(c, a.a[1], int(a.a[2]));
}

int64_t do_stat(SyscallCtx& c, uint64_t upath, uint64_t ubuf, bool nofollow) {
  std::string path;
  if (int64_t r = user_path(c, upath, path)) return r;
  struct stat st;
  if ((nofollow ? ::lstat(path.c_str(), &st) : ::stat(path.c_str(), &st)) != 0) return -errno;
  return c.mm().copy_to_user(ubuf, &st, sizeof st) ? -EFAULT : 0;
}

int64_t sys_stat(SyscallCtx& c, const SyscallArgs& a) { return do_stat(c, a.a[0], a.a[1], false); }
int64_t sys_lstat(SyscallCtx& c, const SyscallArgs& a) { return do_stat(c, a.a[0], a.a[1], true); }

int64_t sys_readlink(SyscallCtx& c, const SyscallArgs& a) {
  char buf[4096];
  int64_t n = c.mm().strncpy_from_user(buf, a.a[0], sizeof buf - 1);
  if (n < 0) return n;
  std::string p(buf, size_t(n)), target;
  if (p == "/proc/self/exe") { // the one procfs link libcs ask for
    target = c.proc().exe;
  } else {
    std::string path;
    if (int64_t r = host_path(p, path)) return r;
    ssize_t len = ::readlink(path.c_str(), buf, sizeof buf);
    if (len < 0) return -errno;
    target.assign(buf, size_t(len));
  }
  size_t len = std::min<size_t>(target.size(), a.a[2]);
  return c.mm().copy_to_user(a.a[1], target.data(), len) ? -EFAULT : int64_t(len);
}

int64_t sys_readlinkat(SyscallCtx& c, const SyscallArgs& a) {
  if (int64_t r = check_dirfd(a.a[0])) return r;
  SyscallArgs b{SYS_readlink, {a.a[1], a.a[2], a.a[3], 0, 0, 0}};
  return sys_readlink(c, b);
}

int64_t sys_getcwd(SyscallCtx& c, const SyscallArgs& a) {
  if (a.a[1] < 2) return -ERANGE;
  return c.mm().copy_to_user(a.a[0], "/", 2) ? -EFAULT : 2;
}

int64_t sys_pread64(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f) return -EBADF;
  if (int64_t(a.a[3]) < 0) return -EINVAL;
  std::vector<uint8_t> buf(std::min<uint64_t>(a.a[2], 1 << 20));
  int64_t r = f->pread(buf.data(), buf.size(), a.a[3]);
  if (r > 0 && c.mm().copy_to_user(a.a[1], buf.data(), size_t(r))) return -EFAULT;
  return r;
}

} // namespace

void register_hostfs_syscalls(SyscallTable& t) {
  t.add(SYS_open, sys_open, "sxo");
  t.add(SYS_openat, sys_openat, "dsxo");
  t.add(SYS_access, sys_access, "sd");
  t.add(SYS_faccessat, sys_faccessat, "dsd");
  t.add(SYS_faccessat2, sys_faccessat, "dsdx");
  t.add(SYS_stat, sys_stat, "sx");
  t.add(SYS_lstat, sys_lstat, "sx");
  t.add(SYS_readlink, sys_readlink, "sxu");
  t.add(SYS_readlinkat, sys_readlinkat, "dsxu");
  t.add(SYS_getcwd, sys_getcwd, "xu");
  t.add(SYS_pread64, sys_pread64, "dxul");
}

} // namespace gk
