#include "mm/physmem.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include <fmt/format.h>

#include "arch-um/stub_abi.h"

namespace gk::mm {

namespace {
uint64_t checked_size(uint64_t bytes) {
  if (bytes < (1ULL << 20) || bytes % kPageSize || bytes > stub::kWindowMax)
    throw std::runtime_error(fmt::format("guest memory size {} is out of range (1 MiB .. {} GiB, "
                                         "page multiple)", bytes, stub::kWindowMax >> 30));
  return bytes;
}
} // namespace

PhysMem::PhysMem(uint64_t bytes) : bytes_(checked_size(bytes)), buddy_(bytes >> kPageShift) {
  fd_ = memfd_create("gk-physmem", MFD_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(fmt::format("physmem memfd: {}", strerror(errno)));
  if (ftruncate(fd_, off_t(bytes)) != 0)
    throw std::runtime_error(fmt::format("physmem ftruncate {}: {}", bytes, strerror(errno)));
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd_, 0);
  if (p == MAP_FAILED) throw std::runtime_error(fmt::format("physmem mmap: {}", strerror(errno)));
  base_ = static_cast<uint8_t*>(p);
}

PhysMem::~PhysMem() {
  if (base_) munmap(base_, bytes_);
  if (fd_ >= 0) close(fd_);
}

std::optional<uint64_t> PhysMem::alloc_zeroed(FrameKind kind, std::optional<uint64_t> hint) {
  std::optional<uint64_t> pfn;
  if (hint && buddy_.alloc_at(*hint, kind)) pfn = hint;
  else pfn = buddy_.alloc(0, kind);
  if (!pfn && reclaim && reclaim()) pfn = buddy_.alloc(0, kind);
  if (pfn) {
    Frame& f = buddy_.frame(*pfn);
    if (f.flags & Frame::kUsed) memset(frame_ptr(*pfn), 0, kPageSize);
    f.flags |= Frame::kUsed;
  }
  return pfn;
}

void PhysMem::put(uint64_t pfn) {
  Frame& f = buddy_.frame(pfn);
  if (f.refcount == 0) throw std::logic_error(fmt::format("put of free frame {:#x}", pfn));
  if (--f.refcount == 0) buddy_.free(pfn);
}

} // namespace gk::mm
