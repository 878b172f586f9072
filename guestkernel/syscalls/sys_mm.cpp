// brk, mmap, munmap, mprotect: argument checks here, semantics in mm/.
#include <sys/mman.h>
#include <sys/syscall.h>

#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

int64_t sys_brk(SyscallCtx& c, const SyscallArgs& a) { return c.mm().brk(a.a[0]); }

int64_t sys_mmap(SyscallCtx& c, const SyscallArgs& a) {
  int flags = int(a.a[3]);
  if (a.a[5] & (mm::kPageSize - 1)) return -EINVAL;
  if (!(flags & MAP_ANONYMOUS)) {
    // File mappings arrive with the page cache; say which error Linux gives.
    return c.proc().fds->get(int(a.a[4])) ? -ENODEV : -EBADF;
  }
  return c.mm().mmap(a.a[0], a.a[1], int(a.a[2]), flags);
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
