#include "arch-um/stub/stub_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "stub_blob.h"

namespace gk::stub {

int image_fd() {
  static int fd = [] {
    int f = memfd_create("gk-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (f < 0) throw std::runtime_error(std::string("stub memfd: ") + strerror(errno));
    size_t off = 0;
    while (off < kImageSize) {
      ssize_t w = write(f, kImage + off, kImageSize - off);
      if (w <= 0) throw std::runtime_error(std::string("stub memfd write: ") + strerror(errno));
      off += size_t(w);
    }
    fcntl(f, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    return f;
  }();
  return fd;
}

} // namespace gk::stub
