#include "guestkernel/net/msg.h"

#include <algorithm>
#include <cstring>

#include "mm/address_space.h"

namespace gk::net {

MsgIter::MsgIter(mm::AddressSpace& as, std::vector<iovec> iov) : as_(&as), iov_(std::move(iov)) {
  constexpr size_t kMaxRw = 0x7ffff000; // MAX_RW_COUNT: longer vectors are cut there, as Linux does
  for (auto& v : iov_) {
    v.iov_len = std::min(v.iov_len, kMaxRw - left_);
    left_ += v.iov_len;
  }
}

MsgIter::MsgIter(void* buf, size_t n) : iov_{iovec{buf, n}}, left_(n) {}

int MsgIter::copy(void* kbuf, size_t n, bool to_caller) {
  size_t idx = idx_, off = off_, done = 0;
  auto* k = static_cast<uint8_t*>(kbuf);
  while (done < n) {
    const iovec& v = iov_[idx];
    size_t step = std::min(n - done, v.iov_len - off);
    uint64_t at = uint64_t(reinterpret_cast<uintptr_t>(v.iov_base)) + off;
    if (step) {
      if (!as_)
        to_caller ? memcpy(reinterpret_cast<void*>(at), k + done, step) : memcpy(k + done, reinterpret_cast<void*>(at), step);
      else if (to_caller ? as_->copy_to_user(at, k + done, step) : as_->copy_from_user(k + done, at, step))
        return -EFAULT;
    }
    done += step;
    off += step;
    if (off == v.iov_len) {
      ++idx;
      off = 0;
    }
  }
  idx_ = idx;
  off_ = off;
  left_ -= n;
  return 0;
}

int MsgIter::take(void* dst, size_t n) { return copy(dst, n, false); }

int MsgIter::put(const void* src, size_t n) { return copy(const_cast<void*>(src), n, true); }

} // namespace gk::net
