#include "drivers/fuse_export.h"

#define FUSE_USE_VERSION 35
#include <fuse3/fuse.h>
#include <fuse3/fuse_lowlevel.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>

#include <fmt/format.h>

extern char** environ;

namespace gk::drivers {

struct FuseExport::Request {
  std::function<int()> work;
  std::promise<int> done;
};

namespace {

// The open file of a session: a whole text or a handle of the source.
struct OpenFile {
  ExportSource::Opened o;
};

// The export of the request being handled. Only on the session thread: the
// closures handed to the loop capture what they need instead.
FuseExport& self() { return *static_cast<FuseExport*>(fuse_get_context()->private_data); }

// The guest reading the export through hostfs runs on the loop thread,
// which would wait for itself: it only sees an empty, closed root.
bool from_loop() { return self().from_loop_thread(fuse_get_context()->pid); }

int fs_getattr(const char* path, struct stat* st, fuse_file_info*) {
  FuseExport& ex = self();
  ExportSource& src = ex.source();
  if (from_loop()) {
    if (strcmp(path, "/") != 0) return -EACCES;
    *st = {};
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    return 0;
  }
  std::string p(path);
  struct stat out {};
  int r = ex.call([&] { return src.getattr(p, out); });
  if (r == 0) *st = out;
  return r;
}

int fs_readlink(const char* path, char* buf, size_t size) {
  FuseExport& ex = self();
  ExportSource& src = ex.source();
  if (from_loop()) return -EACCES;
  std::string p(path), target;
  int r = ex.call([&] { return src.readlink(p, target); });
  if (r) return r;
  size_t n = std::min(target.size(), size - 1);
  memcpy(buf, target.data(), n);
  buf[n] = 0;
  return 0;
}

int fs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*, fuse_readdir_flags) {
  FuseExport& ex = self();
  ExportSource& src = ex.source();
  if (from_loop()) return -EACCES;
  std::string p(path);
  std::vector<std::string> names;
  int r = ex.call([&] { return src.readdir(p, names); });
  if (r) return r;
  fill(buf, ".", nullptr, 0, fuse_fill_dir_flags(0));
  fill(buf, "..", nullptr, 0, fuse_fill_dir_flags(0));
  for (const auto& n : names)
    if (fill(buf, n.c_str(), nullptr, 0, fuse_fill_dir_flags(0))) break;
  return 0;
}

int fs_open(const char* path, fuse_file_info* fi) {
  FuseExport& ex = self();
  ExportSource& src = ex.source();
  if (from_loop()) return -EACCES;
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EROFS;
  std::string p(path);
  auto f = std::make_unique<OpenFile>();
  int r = ex.call([&] { return src.open(p, f->o); });
  if (r) return r;
  // The sizes stat gives are not the texts' (made at open): bypass the
  // host's page cache so reads always reach us.
  fi->direct_io = 1;
  fi->fh = reinterpret_cast<uint64_t>(f.release());
  return 0;
}

int fs_read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  FuseExport& ex = self();
  ExportSource& src = ex.source();
  auto* f = reinterpret_cast<OpenFile*>(fi->fh);
  if (off < 0) return -EINVAL;
  if (f->o.whole) {
    const std::string& t = f->o.text;
    if (uint64_t(off) >= t.size()) return 0;
    size_t n = std::min(size, t.size() - size_t(off));
    memcpy(buf, t.data() + off, n);
    return int(n);
  }
  std::string data;
  uint64_t h = f->o.handle;
  int r = ex.call([&] { return src.read(h, uint64_t(off), size, data); });
  if (r) return r;
  size_t n = std::min(size, data.size());
  memcpy(buf, data.data(), n);
  return int(n);
}

int fs_release(const char*, fuse_file_info* fi) {
  FuseExport& ex = self();
  ExportSource& src = ex.source();
  std::unique_ptr<OpenFile> f(reinterpret_cast<OpenFile*>(fi->fh));
  if (!f->o.whole) {
    uint64_t h = f->o.handle;
    ex.call([&] {
      src.release(h);
      return 0;
    });
  }
  return 0;
}

void* fs_init(fuse_conn_info*, fuse_config* cfg) {
  // Everything changes while the guest runs: nothing may be cached.
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->direct_io = 1;
  return fuse_get_context()->private_data;
}

fuse_operations make_ops() {
  fuse_operations ops{};
  ops.getattr = fs_getattr;
  ops.readlink = fs_readlink;
  ops.open = fs_open;
  ops.read = fs_read;
  ops.release = fs_release;
  ops.readdir = fs_readdir;
  ops.init = fs_init;
  return ops;
}

// Detaches a dead FUSE mount: root may do it itself; a user asks fusermount3
// (setuid root), which may unmount the user's own FUSE mounts.
void detach(const std::string& dir) {
  if (umount2(dir.c_str(), MNT_DETACH) == 0) return;
  const char* argv[] = {"fusermount3", "-u", "-z", "-q", "--", dir.c_str(), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv), environ) == 0)
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
}

// What stat says of a FUSE mount whose server is gone (or going).
bool dead(int err) { return err == ENOTCONN || err == ECONNABORTED; }

// The watchdog, a child of the kernel that holds nothing but the read end of
// a pipe: it learns the mount's st_dev through it, then waits for its end,
// which comes when the kernel has ended, however it ended. A mount still
// there then is a dead one (the server's connection goes away with its last
// thread, so it waits for that): detach it.
[[noreturn]] void watchdog(int in, const std::string& dir) {
  prctl(PR_SET_NAME, "gk-unmount");
  setsid(); // out of the terminal's process group: no Ctrl-C
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  dev_t dev;
  if (read(in, &dev, sizeof dev) != ssize_t(sizeof dev)) _exit(0); // nothing was mounted
  for (char c;;) {
    ssize_t r = read(in, &c, 1);
    if (r == 0 || (r < 0 && errno != EINTR)) break;
  }
  for (int i = 0; i < 500; ++i) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) {
      if (dead(errno)) detach(dir);
      _exit(0);
    }
    if (st.st_dev != dev) _exit(0); // unmounted by the kernel (or another mount now)
    usleep(10000);
  }
  _exit(0);
}

} // namespace

int clean_stale_mount(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0 || !dead(errno)) return 0;
  detach(dir);
  return stat(dir.c_str(), &st) == 0 ? 0 : -errno;
}

FuseExport::FuseExport(const std::string& dir, ExportSource& src) : dir_(dir), src_(src), loop_tid_(gettid()) {
  if (int r = clean_stale_mount(dir))
    throw std::runtime_error(fmt::format("--export {}: a dead FUSE mount is there and cannot be unmounted: {}", dir,
                                         strerror(-r)));
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) throw std::runtime_error(fmt::format("--export {}: {}", dir, strerror(errno)));
  if (!S_ISDIR(st.st_mode)) throw std::runtime_error(fmt::format("--export {}: not a directory", dir));
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  quit_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0 || quit_fd_ < 0) throw std::runtime_error(fmt::format("eventfd: {}", strerror(errno)));
  // The watchdog is forked first, so it holds no descriptor of the mount.
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", strerror(errno)));
  pid_t w = fork();
  if (w < 0) throw std::runtime_error(fmt::format("fork: {}", strerror(errno)));
  if (w == 0) {
    if (p[0] > 0) close_range(0, unsigned(p[0]) - 1, 0);
    close_range(unsigned(p[0]) + 1, ~0U, 0);
    watchdog(p[0], dir);
  }
  close(p[0]);
  watchdog_fd_ = p[1]; // stays open until the kernel's end
  std::vector<std::string> a = {"guestkernel", "-o", "ro,fsname=guestkernel,subtype=guestkernel"};
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(int(argv.size()), argv.data());
  fuse_operations ops = make_ops();
  fuse_ = fuse_new(&args, &ops, sizeof ops, this);
  if (!fuse_) {
    close(watchdog_fd_); // nothing to watch: it ends
    throw std::runtime_error("--export: libfuse could not start a session");
  }
  if (fuse_mount(fuse_, dir.c_str()) != 0) {
    fuse_destroy(fuse_);
    fuse_ = nullptr;
    close(watchdog_fd_);
    throw std::runtime_error(fmt::format("--export {}: the FUSE mount failed (is /dev/fuse there, and fusermount3?)", dir));
  }
  mounted_ = true;
  // The session thread takes no signal: SIGCHLD and the console's signals
  // must stay pending for the loop's signalfds.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { run_session(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  // What the watchdog will look for (the session answers this stat of the
  // root by itself: it comes from the loop thread).
  if (stat(dir.c_str(), &st) == 0 && write(watchdog_fd_, &st.st_dev, sizeof st.st_dev) < 0) {}
}

FuseExport::~FuseExport() { stop(); }

void FuseExport::run_session() {
  fuse_session* se = fuse_get_session(fuse_);
  int fd = fuse_session_fd(se);
  fuse_buf buf{};
  while (!fuse_session_exited(se)) {
    pollfd p[2] = {{fd, POLLIN, 0}, {quit_fd_, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    int r = fuse_session_receive_buf(se, &buf);
    if (r == -EINTR || r == -EAGAIN) continue;
    if (r <= 0) break; // unmounted from outside
    fuse_session_process_buf(se, &buf);
  }
  free(buf.mem);
}

int FuseExport::call(std::function<int()> work) {
  Request r{std::move(work), {}};
  std::future<int> answer = r.done.get_future();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopped_) return -EIO;
    queue_.push_back(&r);
  }
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {} // full counter: the loop is awake anyway
  return answer.get();
}

void FuseExport::serve() {
  uint64_t n;
  if (read(wake_fd_, &n, sizeof n) < 0) {} // EAGAIN: woken for an earlier batch
  std::deque<Request*> batch;
  {
    std::lock_guard<std::mutex> g(mu_);
    batch.swap(queue_);
  }
  for (Request* r : batch) {
    int rc;
    try {
      rc = r->work();
    } catch (const std::exception&) {
      rc = -EIO;
    }
    r->done.set_value(rc);
  }
}

void FuseExport::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (Request* r : queue_) r->done.set_value(-EIO);
    queue_.clear();
  }
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(quit_fd_, &one, sizeof one) < 0) {}
    thread_.join();
  }
  if (mounted_) fuse_unmount(fuse_);
  mounted_ = false;
  if (fuse_) fuse_destroy(fuse_);
  fuse_ = nullptr;
  // Unmounted: the watchdog finds nothing to do and ends.
  for (int* fd : {&wake_fd_, &quit_fd_, &watchdog_fd_})
    if (*fd >= 0) close(*fd), *fd = -1;
}

} // namespace gk::drivers
