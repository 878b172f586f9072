// brk, mmap, munmap, mprotect, mremap, msync, mincore, madvise: argument
// and file checks here (with Linux's errnos), semantics in mm/.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <vector>

#include "guestkernel/syscalls/syscall.h"
#include "guestkernel/vfs/vfs.h"
#include "mm/page_cache.h"

namespace gk {

namespace {

int64_t sys_brk(SyscallCtx& c, const SyscallArgs& a) { return c.mm().brk(a.a[0]); }

// A file whose file system has no page cache for it (or an inode-less
// file that can be read by offset): MAP_PRIVATE gets a private copy of
// its bytes, which is exact for private and for read-only shared mappings.
int64_t map_copy(SyscallCtx& c, File& f, uint64_t addr, uint64_t len, int prot, int flags, uint64_t off) {
  if ((flags & MAP_TYPE) != MAP_PRIVATE && (prot & PROT_WRITE)) return -ENODEV;
  int64_t at = c.mm().mmap(addr, len, prot, (flags & ~MAP_TYPE) | MAP_PRIVATE | MAP_ANONYMOUS, f.describe());
  if (at < 0) return at;
  std::vector<uint8_t> buf(1 << 16);
  for (uint64_t done = 0; done < len;) {
    int64_t r = f.pread(buf.data(), std::min<uint64_t>(buf.size(), len - done), off + done);
    if (r < 0) {
      c.mm().munmap(uint64_t(at), len);
      return r == -ESPIPE || r == -EINVAL ? -ENODEV : r;
    }
    if (r == 0) break;
    if (!c.mm().poke(uint64_t(at) + done, buf.data(), size_t(r))) {
      c.mm().munmap(uint64_t(at), len);
      return -ENOMEM;
    }
    done += uint64_t(r);
  }
  return at;
}

int64_t sys_mmap(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t addr = a.a[0], len = a.a[1], off = a.a[5];
  int prot = int(a.a[2]), flags = int(a.a[3]);
  if (off & (mm::kPageSize - 1)) return -EINVAL;
  if (flags & MAP_ANONYMOUS) return c.mm().mmap(addr, len, prot, flags);
  auto f = c.proc().fds->get(int(a.a[4]));
  if (!f || (f->flags & O_PATH)) return -EBADF;
  if (len == 0) return -EINVAL;
  uint64_t pgoff = off >> mm::kPageShift;
  if (pgoff + (mm::page_up(len) >> mm::kPageShift) < pgoff) return -EOVERFLOW;
  int type = flags & MAP_TYPE;
  bool shared = type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
  int acc = f->flags & O_ACCMODE;
  const vfs::Path* p = f->path();
  if (!p || !p->valid()) return map_copy(c, *f, addr, len, prot, flags, off);
  struct stat st;
  if (int64_t r = p->inode().getattr(st)) return r;
  if (S_ISDIR(st.st_mode)) return -ENODEV;
  // Linux's do_mmap: the file must be open for reading; a shared writable
  // mapping needs it open for writing too.
  if (acc == O_WRONLY) return -EACCES;
  if (shared && (prot & PROT_WRITE) && acc != O_RDWR) return -EACCES;
  if ((prot & PROT_EXEC) && (p->mnt->flags & MS_NOEXEC)) return -EPERM;
  // /dev/zero maps as anonymous memory (shared: a shared-memory object of its own), as on Linux.
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5))
    return c.mm().mmap(addr, len, prot, flags | MAP_ANONYMOUS, shared ? "" : "/dev/zero");
  mm::PageCache* cache = S_ISREG(st.st_mode) ? p->inode().page_cache() : nullptr;
  if (!cache) return map_copy(c, *f, addr, len, prot, flags, off);
  // The VMA holds the cache through the inode, so the file lives as long as
  // it is mapped (also after close and unlink).
  std::shared_ptr<mm::PageCache> ref(p->dentry->inode, cache);
  return c.mm().mmap(addr, len, prot, flags, f->describe(), std::move(ref), pgoff);
}

int64_t sys_munmap(SyscallCtx& c, const SyscallArgs& a) { return c.mm().munmap(a.a[0], a.a[1]); }
int64_t sys_mprotect(SyscallCtx& c, const SyscallArgs& a) { return c.mm().mprotect(a.a[0], a.a[1], int(a.a[2])); }

int64_t sys_mremap(SyscallCtx& c, const SyscallArgs& a) {
  return c.mm().mremap(a.a[0], a.a[1], a.a[2], int(a.a[3]), a.a[4]);
}

int64_t sys_msync(SyscallCtx& c, const SyscallArgs& a) { return c.mm().msync(a.a[0], a.a[1], int(a.a[2])); }

int64_t sys_mincore(SyscallCtx& c, const SyscallArgs& a) {
  std::vector<uint8_t> vec;
  if (int64_t r = c.mm().mincore(a.a[0], a.a[1], vec)) return r;
  return c.mm().copy_to_user(a.a[2], vec.data(), vec.size()) ? -EFAULT : 0;
}

// True if some VMA in [addr, addr+len) maps a file (MADV_FREE is for
// private anonymous memory only).
bool any_file_vma(const mm::VmaSet& vmas, uint64_t addr, uint64_t len) {
  uint64_t end = addr + mm::page_up(len);
  for (const mm::Vma* v = vmas.first_after(addr); v && v->start < end; v = vmas.first_after(v->end))
    if (v->file) return true;
  return false;
}

int64_t sys_madvise(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t addr = a.a[0], len = a.a[1];
  switch (int(a.a[2])) {
  case MADV_FREE:
    if (!(addr & (mm::kPageSize - 1)) && any_file_vma(c.mm().vmas(), addr, len)) return -EINVAL;
    [[fallthrough]];
  case MADV_DONTNEED:
    return c.mm().discard(addr, len);
  case MADV_REMOVE:
    return c.mm().remove_pages(addr, len);
  case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
  case MADV_DONTFORK: case MADV_DOFORK: case MADV_MERGEABLE: case MADV_UNMERGEABLE:
  case MADV_HUGEPAGE: case MADV_NOHUGEPAGE: case MADV_DONTDUMP: case MADV_DODUMP:
  case MADV_COLD: case MADV_PAGEOUT:
    // Hints: nothing to do, but the range must be valid.
    if (addr & (mm::kPageSize - 1)) return -EINVAL;
    return c.mm().vmas().covered(addr, addr + mm::page_up(len)) ? 0 : -ENOMEM;
  default:
    return -EINVAL;
  }
}

} // namespace

void register_mm_syscalls(SyscallTable& t) {
  t.add(SYS_madvise, sys_madvise, "xud");
  t.add(SYS_brk, sys_brk, "x");
  t.add(SYS_mmap, sys_mmap, "xuxxdx");
  t.add(SYS_munmap, sys_munmap, "xu");
  t.add(SYS_mprotect, sys_mprotect, "xux");
  t.add(SYS_mremap, sys_mremap, "xuuxx");
  t.add(SYS_msync, sys_msync, "xux");
  t.add(SYS_mincore, sys_mincore, "xux");
}

} // namespace gk
