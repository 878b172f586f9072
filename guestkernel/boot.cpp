// Boot-time file system set-up: the root file system from --rootfs (or the
// host's own /, read-only), the guest's /proc, /dev and /tmp mounted on it
// where those directories exist, and the first process's root and cwd.
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <climits>

#include <fmt/format.h>

#include "drivers/hostfs.h"
#include "guestkernel/kernel.h"

namespace gk {

int64_t Kernel::boot_fs(Process& init) {
  // hostfs holds a host descriptor for every live inode: allow as many as the host lets us.
  rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  bool host_root = opts_.rootfs.empty();
  std::string dir = host_root ? "/" : opts_.rootfs;
  std::shared_ptr<drivers::HostFs> hostfs;
  if (int64_t r = drivers::HostFs::create(dir, host_root || opts_.rootfs_ro, hostfs)) {
    fmt::print(stderr, "guestkernel: cannot use {} as the root file system: {}\n", dir, strerror(int(-r)));
    return r;
  }
  // `--rootfs-ro /` is the host's own / too, and boots the same as no option.
  host_root = hostfs->is_host_root && hostfs->read_only;
  std::shared_ptr<vfs::Filesystem> root = hostfs;
  // A read-only root takes writes in a tmpfs overlay when one is available.
  if (hostfs->read_only) {
    std::shared_ptr<vfs::Filesystem> ov;
    if (vfs::make_fs("overlay", dir, "", ov) == 0) root = ov;
  }
  vfs_.mount_root(root);
  init.fs = std::make_shared<vfs::FsContext>();
  init.fs->root = init.fs->cwd = vfs_.root();
  Creds root_creds;
  vfs::WalkCtx w{*init.fs, root_creds};
  for (auto [where, type] :
       {std::pair{"/proc", "proc"}, {"/dev", "devtmpfs"}, {"/dev/shm", "tmpfs"}, {"/tmp", "tmpfs"}}) {
    // On the host's own /, the host's /tmp stays visible (the user's files and
    // programs there); what the guest writes to it lands in the overlay's tmpfs.
    if (host_root && where == std::string("/tmp")) continue;
    vfs::Path at;
    if (vfs_.resolve(w, init.fs->root, where, vfs::kDirectory, at)) continue; // no such directory: not mounted
    std::shared_ptr<vfs::Filesystem> fs;
    if (vfs::make_fs(type, type, "", fs)) continue;
    vfs_.mount(fs, at, type == std::string("proc") ? MS_NOSUID | MS_NODEV | MS_NOEXEC : MS_NOSUID);
  }
  // With the host's / as root, relative program paths mean what they mean
  // to the user who started the kernel.
  if (host_root) {
    char cwd[PATH_MAX];
    vfs::Path p;
    if (getcwd(cwd, sizeof cwd) && vfs_.resolve(w, init.fs->root, cwd, vfs::kFollow | vfs::kDirectory, p) == 0)
      init.fs->cwd = p;
  }
  return 0;
}

} // namespace gk
