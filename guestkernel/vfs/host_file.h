// Read-only files from the host's own tree, until the VFS lands: the kernel
// opens them with its own host calls and copies their bytes into guest
// memory (as UML's hostfs does). Enough for the dynamic loader to find and
// map shared libraries. The host's /proc, /sys and /dev are never shown.
#pragma once
#include <string>

#include "guestkernel/vfs/file.h"

namespace gk {

class HostFile : public File {
public:
  HostFile(int host_fd, std::string path) : fd_(host_fd), path_(std::move(path)) { flags = 0; }
  ~HostFile() override;
  int64_t read(IoCtx&, void* buf, size_t n) override;
  int64_t write(IoCtx&, const void*, size_t) override { return -EBADF; }
  int64_t pread(void* buf, size_t n, uint64_t off) override;
  int64_t lseek(int64_t off, int whence) override;
  int64_t stat(struct stat& st) override;
  std::string describe() const override { return path_; }

private:
  int fd_;
  std::string path_;
  uint64_t pos_ = 0;
};

// Checks a guest path for the host-path layer: -errno, or 0 with the host
// path to use in `out`.
int64_t host_path(const std::string& guest_path, std::string& out);
// The same for a path string in guest memory at `upath`.
int64_t user_host_path(mm::AddressSpace& as, uint64_t upath, std::string& out);

} // namespace gk
