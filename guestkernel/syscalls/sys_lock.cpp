// flock(2) and fcntl's record locks over the kernel's lock table.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"
#include "guestkernel/vfs/vfs.h"

namespace gk {

namespace {

const vfs::Inode* inode_of(File& f) { return f.path() ? &f.path()->inode() : nullptr; }

// Waits until `want` conflicts with nothing, then takes it.
int64_t take_lock(SyscallCtx& c, const vfs::Inode* ino, const vfs::FileLock& want, bool wait) {
  vfs::LockTable& t = c.kernel.locks();
  while (want.type != F_UNLCK && t.conflict(ino, want)) {
    if (!wait) return want.kind == vfs::FileLock::Flock ? -EWOULDBLOCK : -EAGAIN;
    if (c.kernel.block(c.task, &t.changed, -1, true) == WakeReason::Signal) return kErestartSys;
  }
  t.apply(ino, want);
  return 0;
}

int64_t sys_flock(SyscallCtx& c, const SyscallArgs& a) {
  auto f = c.proc().fds->get(int(a.a[0]));
  if (!f || (f->flags & O_PATH)) return -EBADF;
  const vfs::Inode* ino = inode_of(*f);
  if (!ino) return -EINVAL;
  int op = int(a.a[1]);
  vfs::FileLock l{vfs::FileLock::Flock, 0, 0, UINT64_MAX, f.get(), c.proc().pid};
  switch (op & ~LOCK_NB) {
  case LOCK_SH: l.type = F_RDLCK; break;
  case LOCK_EX: l.type = F_WRLCK; break;
  case LOCK_UN: l.type = F_UNLCK; break;
  default: return -EINVAL;
  }
  // Converting a lock drops the old one first, as Linux does.
  if (l.type != F_UNLCK) c.kernel.locks().release(ino, f.get());
  return take_lock(c, ino, l, !(op & LOCK_NB));
}

} // namespace

int64_t fcntl_lock(SyscallCtx& c, const std::shared_ptr<File>& f, int cmd, uint64_t uarg) {
  struct flock fl;
  if (c.mm().copy_from_user(&fl, uarg, sizeof fl)) return -EFAULT;
  const vfs::Inode* ino = inode_of(*f);
  if (!ino) return -EINVAL;
  bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
  if (ofd && fl.l_pid != 0) return -EINVAL;
  int64_t base = 0;
  if (fl.l_whence == SEEK_CUR) {
    base = f->lseek(0, SEEK_CUR);
  } else if (fl.l_whence == SEEK_END) {
    struct stat st;
    if (int64_t r = f->stat(st)) return r;
    base = st.st_size;
  } else if (fl.l_whence != SEEK_SET) {
    return -EINVAL;
  }
  if (base < 0) return base;
  int64_t start = base + fl.l_start;
  int64_t end;
  if (fl.l_len > 0) {
    end = start + fl.l_len - 1;
  } else if (fl.l_len == 0) {
    end = INT64_MAX;
  } else {
    end = start - 1;
    start += fl.l_len;
  }
  if (start < 0) return -EINVAL;
  vfs::FileLock l{vfs::FileLock::Posix, fl.l_type, uint64_t(start),
                  end == INT64_MAX ? UINT64_MAX : uint64_t(end),
                  ofd ? static_cast<const void*>(f.get()) : static_cast<const void*>(&c.proc()), ofd ? -1 : c.proc().pid};
  if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK) return -EINVAL;
  if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
    if (fl.l_type == F_UNLCK) return -EINVAL;
    const vfs::FileLock* other = c.kernel.locks().conflict(ino, l);
    if (!other) {
      fl.l_type = F_UNLCK;
    } else {
      fl.l_type = other->type;
      fl.l_whence = SEEK_SET;
      fl.l_start = int64_t(other->start);
      fl.l_len = other->end == UINT64_MAX ? 0 : int64_t(other->end - other->start + 1);
      fl.l_pid = other->pid;
    }
    return c.mm().copy_to_user(uarg, &fl, sizeof fl) ? -EFAULT : 0;
  }
  int acc = f->flags & O_ACCMODE;
  if ((fl.l_type == F_RDLCK && acc == O_WRONLY) || (fl.l_type == F_WRLCK && acc == O_RDONLY)) return -EBADF;
  return take_lock(c, ino, l, cmd == F_SETLKW || cmd == F_OFD_SETLKW);
}

void release_locks_on_close(Kernel& k, Process& p, const std::shared_ptr<File>& f) {
  const vfs::Inode* ino = inode_of(*f);
  if (!ino) return;
  k.locks().release(ino, &p); // POSIX: any close drops the process's locks on the file
  if (f.use_count() <= 2) k.locks().release(ino, f.get()); // the last reference besides ours and the table's
}

void register_lock_syscalls(SyscallTable& t) { t.add(SYS_flock, sys_flock, "dx"); }

} // namespace gk
