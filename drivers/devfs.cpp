// devtmpfs: an in-memory /dev holding the kernel's devices, the usual
// links into /proc/self/fd, and the directories programs expect. The guest
// may add to it (mknod, mkdir, symlink, unlink), as on Linux.
#include "drivers/devfs.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "drivers/memfs.h"
#include "guestkernel/kernel.h"

namespace gk::drivers {

namespace {

std::shared_ptr<vfs::Filesystem> make_devtmpfs() {
  auto fs = std::make_shared<MemFs>("devtmpfs");
  static const struct {
    const char* name;
    mode_t perms;
    unsigned major, minor;
  } nodes[] = {{"null", 0666, 1, 3},    {"zero", 0666, 1, 5}, {"full", 0666, 1, 7},   {"random", 0666, 1, 8},
               {"urandom", 0666, 1, 9}, {"tty", 0666, 5, 0},  {"console", 0600, 5, 1},
               {"ttyS0", 0620, 4, 64}};
  for (auto& n : nodes) fs->add_node(n.name, S_IFCHR | n.perms, makedev(n.major, n.minor));
  fs->add_symlink("fd", "/proc/self/fd");
  fs->add_symlink("stdin", "/proc/self/fd/0");
  fs->add_symlink("stdout", "/proc/self/fd/1");
  fs->add_symlink("stderr", "/proc/self/fd/2");
  fs->add_dir("shm", 01777);
  fs->add_dir("pts", 0755);
  return fs;
}

} // namespace

void register_devfs(Kernel& k) {
  register_mem_devices();
  register_console_devices(k);
  vfs::register_fs_type("devtmpfs", [](const std::string&, const std::string&, std::shared_ptr<vfs::Filesystem>& out) {
    out = make_devtmpfs();
    return int64_t(0);
  });
}

} // namespace gk::drivers
