// The FUSE export (--export DIR): a read-only libfuse3 file system on its
// own host thread that shows the running guest.
//
// The session thread never touches kernel state: every request becomes a
// closure queued for the kernel's event loop (woken through an eventfd the
// loop watches) and the thread waits for its answer. A file's text is made
// once, at open, by the loop, and its reads are served from that copy, so
// a reader sees one consistent snapshot. Files too large for that (guest
// memory, guest files) are read in pieces, each answered by the loop.
//
// The mount goes away however the kernel ends: stop() unmounts it on a
// normal exit, and a watchdog child ("gk-unmount") that waits for the
// kernel's end unmounts it when the kernel dies without stop() (a fatal
// signal, SIGKILL). A dead mount left anyway (the watchdog killed too) is
// cleaned at the next start.
#pragma once
#include <sys/stat.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct fuse;

namespace gk::drivers {

// What the export shows. Every call runs on the kernel's event-loop thread
// and returns 0 or -errno; paths are absolute within the export ("/mm/buddy").
class ExportSource {
public:
  virtual ~ExportSource() = default;
  virtual int getattr(const std::string& path, struct stat& st) = 0;
  virtual int readdir(const std::string& path, std::vector<std::string>& names) = 0;
  virtual int readlink(const std::string& path, std::string& target) = 0;
  // A file is either generated whole (`text`, served by the session thread
  // from then on) or read in pieces through `handle`.
  struct Opened {
    bool whole = true;
    std::string text;
    uint64_t handle = 0;
  };
  virtual int open(const std::string& path, Opened& out) = 0;
  virtual int read(uint64_t handle, uint64_t off, size_t n, std::string& out) = 0;
  virtual void release(uint64_t handle) = 0;
};

class FuseExport {
public:
  // Mounts the export on `dir` (an existing directory) and starts its
  // thread. `src` must outlive stop(). Throws std::runtime_error.
  FuseExport(const std::string& dir, ExportSource& src);
  ~FuseExport();
  FuseExport(const FuseExport&) = delete;
  FuseExport& operator=(const FuseExport&) = delete;

  // Readable when requests wait for serve().
  int wake_fd() const { return wake_fd_; }
  // On the event loop: answers every waiting request.
  void serve();
  // Answers what waits with EIO, ends the thread and unmounts (idempotent).
  void stop();

  const std::string& dir() const { return dir_; }
  ExportSource& source() const { return src_; }
  // Runs `work` on the event loop and returns its result; -EIO once stopped.
  int call(std::function<int()> work);
  // Whether a request comes from the event-loop thread itself (the guest
  // looking at the export through hostfs): it cannot wait for itself.
  bool from_loop_thread(pid_t tid) const { return tid == loop_tid_; }

private:
  struct Request;
  void run_session();

  std::string dir_;
  ExportSource& src_;
  pid_t loop_tid_;
  struct fuse* fuse_ = nullptr;
  int wake_fd_ = -1, quit_fd_ = -1;
  int watchdog_fd_ = -1; // the watchdog's pipe: its end tells it the kernel's
  std::thread thread_;
  std::mutex mu_;
  std::deque<Request*> queue_;
  bool stopped_ = false, mounted_ = false;
};

// A FUSE mount left on `dir` by a killed export (stat says ENOTCONN) is
// unmounted; 0, or -errno if it could not be.
int clean_stale_mount(const std::string& dir);

} // namespace gk::drivers
