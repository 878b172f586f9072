// brk, mmap, munmap, mprotect: argument checks here, semantics in mm/.
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include <vector>

#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

int64_t sys_brk(SyscallCtx& c, const SyscallArgs& a) { return c.mm().brk(a.a[0]); }

int64_t sys_mmap(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[3]);
  if (a.a[5] & (mm::kPageSize - 1)) return -EINVAL;
  if (flags & MAP_ANONYMOUS) return c.mm().mmap(a.a[0], a.a[1], int(a.a[2]), flags);
  // Until the page cache lands, a file mapping is a private copy of the
  // file's bytes: exact for MAP_PRIVATE and for read-only MAP_SHARED.
  auto f = c.proc().fds->get(int(a.a[4]));
  if (!f) return -EBADF;
  if ((f->flags & O_ACCMODE) == O_WRONLY) return -EACCES;
  if ((flags & MAP_TYPE) != MAP_PRIVATE && (a.a[2] & PROT_WRITE)) return -ENODEV;
  int64_t addr = c.mm().mmap(a.a[0], a.a[1], int(a.a[2]), (flags & ~MAP_TYPE) | MAP_PRIVATE | MAP_ANONYMOUS,
                             f->describe());
  if (addr < 0) return addr;
  std::vector<uint8_t> buf(1 << 16);
  for (uint64_t done = 0; done < a.a[1];) {
    int64_t r = f->pread(buf.data(), std::min<uint64_t>(buf.size(), a.a[1] - done), a.a[5] + done);
    if (r < 0) {
      c.mm().munmap(uint64_t(addr), a.a[1]);
      return r == -ESPIPE ? -ENODEV : r;
    }
    if (r == 0) break;
    if (!c.mm().poke(uint64_t(addr) + done, buf.data(), size_t(r))) {
      c.mm().munmap(uint64_t(addr), a.a[1]);
      return -ENOMEM;
    }
    done += uint64_t(r);
  }
  return addr;
}

int64_t sys_munmap(SyscallCtx& c, const SyscallArgs& a) { return c.mm().munmap(a.a[0], a.a[1]); }
int64_t sys_mprotect(SyscallCtx& c, const SyscallArgs& a) { return c.mm().mprotect(a.a[0], a.a[1], int(a.a[2])); }

int64_t sys_madvise(SyscallCtx& c, const SyscallArgs& a) {
  switch (int(a.a[2])) {
  case MADV_DONTNEED:
  case MADV_FREE:
    return c.mm().discard(a.a[0], a.a[1]);
  case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
  case MADV_DONTFORK: case MADV_DOFORK: case MADV_MERGEABLE: case MADV_UNMERGEABLE:
  case MADV_HUGEPAGE: case MADV_NOHUGEPAGE: case MADV_DONTDUMP: case MADV_DODUMP:
  case MADV_COLD: case MADV_PAGEOUT:
    // Hints: nothing to do, but the range must be valid.
    if (a.a[0] & (mm::kPageSize - 1)) return -EINVAL;
    return c.mm().vmas().covered(a.a[0], a.a[0] + mm::page_up(a.a[1])) ? 0 : -ENOMEM;
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
}

} // namespace gk
