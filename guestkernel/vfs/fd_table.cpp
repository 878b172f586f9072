#include "guestkernel/vfs/file.h"

#include <sys/stat.h>

#include "guestkernel/vfs/vfs.h"

namespace gk {

int FdTable::install(std::shared_ptr<File> f, int min, bool cloexec) {
  for (int fd = min; fd < kMaxFds; ++fd)
    if (size_t(fd) >= fds_.size() || !fds_[size_t(fd)].file) return install_at(fd, std::move(f), cloexec);
  return -EMFILE;
}

int FdTable::install_at(int fd, std::shared_ptr<File> f, bool cloexec) {
  if (fd < 0 || fd >= kMaxFds) return -EBADF;
  if (size_t(fd) >= fds_.size()) fds_.resize(size_t(fd) + 1);
  fds_[size_t(fd)] = Slot{std::move(f), cloexec};
  return fd;
}

int FdTable::close(int fd) {
  if (!get(fd)) return -EBADF;
  fds_[size_t(fd)] = Slot{};
  return 0;
}

void FdTable::close_on_exec() {
  for (auto& slot : fds_)
    if (slot.cloexec) slot = Slot{};
}

} // namespace gk

namespace gk {

bool File::fills_reads() const {
  const vfs::Path* p = path();
  return p && S_ISREG(p->inode().mode());
}

} // namespace gk
