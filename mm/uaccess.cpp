// copy_from_user and friends: every byte goes through the guest page table
// and the kernel's linear view of physmem. A missing page is faulted in as
// the guest would have; an unresolvable one is -EFAULT.
#include <cerrno>
#include <cstring>

#include "mm/address_space.h"

namespace gk::mm {

namespace {

// The kernel pointer for user address `va` if the access is allowed,
// faulting the page in first if needed; nullptr means EFAULT.
uint8_t* user_ptr(AddressSpace& as, uint64_t va, Access access) {
  if (va >= kUserTop) return nullptr;
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint64_t* e = as.page_table().lookup(va);
    if (e && (*e & pte::P) && (*e & pte::US) && (access != Access::Write || (*e & pte::RW))) {
      *e |= pte::A | (access == Access::Write ? pte::D | pte::SOFTDIRTY : 0);
      return as.physmem().frame_ptr(pte::pfn(*e)) + (va & (kPageSize - 1));
    }
    if (attempt == 0 && as.fault(va, access, false) != FaultResult::Mapped) return nullptr;
  }
  return nullptr;
}

} // namespace

// Calls fn(kernel pointer, length) for each page-sized piece of [va, va+n).
template <typename Fn>
int each_user_chunk(AddressSpace& as, uint64_t va, size_t n, Access access, Fn fn) {
  if (va + n < va) return -EFAULT;
  while (n) {
    size_t chunk = std::min<size_t>(n, kPageSize - (va & (kPageSize - 1)));
    uint8_t* p = user_ptr(as, va, access);
    if (!p) return -EFAULT;
    fn(p, chunk);
    va += chunk;
    n -= chunk;
  }
  return 0;
}

int AddressSpace::copy_from_user(void* dst, uint64_t src, size_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  return each_user_chunk(*this, src, n, Access::Read, [&](const uint8_t* p, size_t len) {
    memcpy(out, p, len);
    out += len;
  });
}

int AddressSpace::copy_to_user(uint64_t dst, const void* src, size_t n) {
  auto* in = static_cast<const uint8_t*>(src);
  return each_user_chunk(*this, dst, n, Access::Write, [&](uint8_t* p, size_t len) {
    memcpy(p, in, len);
    in += len;
  });
}

int64_t AddressSpace::strncpy_from_user(char* dst, uint64_t src, size_t max) {
  size_t len = 0;
  while (len < max) {
    size_t chunk = std::min<size_t>(max - len, kPageSize - (src & (kPageSize - 1)));
    const uint8_t* p = user_ptr(*this, src, Access::Read);
    if (!p) return -EFAULT;
    const void* nul = memchr(p, 0, chunk);
    size_t take = nul ? size_t(static_cast<const uint8_t*>(nul) - p) : chunk;
    memcpy(dst + len, p, take);
    len += take;
    if (nul) {
      dst[len] = 0;
      return int64_t(len);
    }
    src += chunk;
  }
  return -ENAMETOOLONG;
}

bool AddressSpace::poke(uint64_t dst, const void* src, size_t n) {
  auto* in = static_cast<const uint8_t*>(src);
  while (n) {
    const Vma* v = vmas_.find(dst);
    if (!v) return false;
    FaultResult r;
    uint64_t va = page_down(dst);
    uint64_t* e = populate(va, *v, r, Access::Write);
    if (!e) return false;
    // Never write into a page the file owns: a private mapping gets its own
    // copy, a shared one marks the page dirty.
    if ((*e & pte::COW) && !break_cow(va, *e, *v, *e & pte::HOSTMAPPED)) return false;
    if (v->file && (v->flags & Vma::kShared) && !(*e & pte::D)) dirty_shared_page(va, *e, *v, false);
    size_t chunk = std::min<size_t>(n, kPageSize - (dst & (kPageSize - 1)));
    memcpy(pm_.frame_ptr(pte::pfn(*e)) + (dst & (kPageSize - 1)), in, chunk);
    in += chunk;
    dst += chunk;
    n -= chunk;
  }
  return true;
}

} // namespace gk::mm
