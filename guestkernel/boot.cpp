// Boot: the root file system from --rootfs (or the host's own /, read-only),
// what the kernel mounts on it, and the first process started in it.
//
// Run mode (a program on the command line) is a ready root, as a container
// runtime gives: the guest's /proc, /dev, /dev/shm and /tmp are mounted
// where those directories exist. Boot mode starts init, which mounts what
// it wants itself; the kernel mounts only devtmpfs on /dev (as Linux with
// CONFIG_DEVTMPFS_MOUNT), so init finds its console.
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
    say(LOG_ERR, fmt::format("cannot use {} as the root file system: {}", dir, strerror(int(-r))));
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
    if (opts_.boot_mode() && where != std::string("/dev")) continue;
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

namespace gk {

namespace {

std::string describe_root(const Options& o) {
  std::string dir = o.rootfs.empty() ? "/" : o.rootfs;
  return o.rootfs.empty() || o.rootfs_ro ? dir + " (read-only, tmpfs overlay)" : dir;
}

} // namespace

int64_t Kernel::start_init(Task& t) {
  std::string why;
  if (!opts_.boot_mode()) {
    std::vector<std::string> argv = {opts_.program};
    argv.insert(argv.end(), opts_.args.begin(), opts_.args.end());
    int64_t r = exec(t, opts_.program, argv, opts_.env, &why);
    if (r < 0) say(LOG_ERR, "cannot start " + why);
    else say(LOG_INFO, fmt::format("Run {} as init process", opts_.program), false);
    return r;
  }
  // As Linux: init= must work; otherwise the usual places, in order.
  std::vector<std::string> tries = {opts_.init};
  if (opts_.init.empty()) tries = {"/sbin/init", "/etc/init", "/bin/init", "/bin/sh"};
  int64_t r = -ENOENT;
  for (const auto& path : tries) {
    r = exec(t, path, {path}, opts_.env, &why);
    if (r == 0) {
      say(LOG_INFO, fmt::format("booted {} in {:.1f} ms: --mmu={} --trap={} --mem={}M, root {}; running {} as init",
                                kGuestRelease, double(now_ns() - stats_.start_ns) / 1e6, mm::backend_name(opts_.backend),
                                opts_.trap, opts_.mem_bytes >> 20, describe_root(opts_), path),
          !opts_.quiet);
      say(LOG_INFO, fmt::format("Run {} as init process", path), false);
      return 0;
    }
    if (!opts_.init.empty() || r != -ENOENT)
      say(LOG_ERR, "cannot run init " + why);
  }
  if (opts_.init.empty())
    say(LOG_ERR, fmt::format("no working init found in {}: tried /sbin/init, /etc/init, /bin/init and /bin/sh "
                             "(give --init PATH)", describe_root(opts_)));
  return r;
}

} // namespace gk
