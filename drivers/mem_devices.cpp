// The memory devices of major 1: null, zero, full, random and urandom.
// random and urandom give the kernel's own entropy, the host's getrandom()
// (never blocking: Linux's random has not blocked once seeded since 5.6).
#include <sys/random.h>
#include <sys/sysmacros.h>

#include <cstring>

#include "drivers/devfs.h"
#include "guestkernel/vfs/inode_file.h"

namespace gk::drivers {

namespace {

enum class Mem { Null, Zero, Full, Random };

class MemDevice : public vfs::InodeFile {
public:
  MemDevice(const vfs::Path& node, int flags, Mem kind) : InodeFile(node, flags), kind_(kind) {}
  int64_t read(IoCtx&, void* buf, size_t n) override { return pread(buf, n, 0); }
  bool fills_reads() const override { return true; }
  int64_t write(IoCtx&, const void* buf, size_t n) override { return pwrite(buf, n, 0); }

  int64_t pread(void* buf, size_t n, uint64_t) override {
    switch (kind_) {
    case Mem::Null: return 0;
    case Mem::Zero:
    case Mem::Full: memset(buf, 0, n); return int64_t(n);
    case Mem::Random: break;
    }
    size_t done = 0;
    while (done < n) {
      ssize_t r = getrandom(static_cast<uint8_t*>(buf) + done, n - done, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return done ? int64_t(done) : -EIO;
      done += size_t(r);
    }
    return int64_t(n);
  }

  // Writes to random/urandom are accepted (they would add to the pool).
  int64_t pwrite(const void*, size_t n, uint64_t) override { return kind_ == Mem::Full ? -ENOSPC : int64_t(n); }
  // Linux's null_lseek and noop_llseek: the position stays 0.
  int64_t lseek(int64_t, int) override { return 0; }

private:
  Mem kind_;
};

void add(unsigned minor, Mem kind) {
  vfs::register_chrdev(makedev(1, minor), [kind](const vfs::Path& node, int flags, std::shared_ptr<File>& out) {
    out = std::make_shared<MemDevice>(node, flags, kind);
    return int64_t(0);
  });
}

} // namespace

void register_mem_devices() {
  add(3, Mem::Null);
  add(5, Mem::Zero);
  add(7, Mem::Full);
  add(8, Mem::Random);
  add(9, Mem::Random);
}

} // namespace gk::drivers
