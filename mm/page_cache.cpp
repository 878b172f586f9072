#include "mm/page_cache.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mm/address_space.h"

namespace gk::mm {

namespace {
// Every backed cache, for reclaim when guest memory runs out.
std::vector<PageCache*>& backed_caches() {
  static std::vector<PageCache*> v;
  return v;
}
} // namespace

PageCache::PageCache(PhysMem& pm, PageBacking* backing, PageBudget* budget, uint64_t size)
    : pm_(pm), backing_(backing), budget_(budget), size_(size) {
  if (backing_) {
    backed_caches().push_back(this);
    if (!pm_.reclaim) pm_.reclaim = [&pm] { return reclaim_all(pm); };
  }
}

PageCache::~PageCache() {
  if (backing_) std::erase(backed_caches(), this);
  for (auto it = pages_.begin(); it != pages_.end();) drop(it++);
}

uint64_t PageCache::reclaim_all(PhysMem& pm) {
  uint64_t n = 0;
  for (PageCache* c : backed_caches())
    if (&c->pm_ == &pm) n += c->evict_clean();
  return n;
}

std::optional<uint64_t> PageCache::alloc_frame(uint64_t pg) {
  if (budget_ && budget_->limit && budget_->used >= budget_->limit) return std::nullopt;
  // Keep a file's pages contiguous where possible: sequential faults then
  // become one host mapping op per run.
  std::optional<uint64_t> hint;
  if (auto prev = pages_.find(pg - 1); pg > 0 && prev != pages_.end() && prev->second.pfn + 1 < pm_.frames())
    hint = prev->second.pfn + 1;
  auto pfn = pm_.alloc_zeroed(FrameKind::PageCache, hint);
  if (pfn && budget_) ++budget_->used;
  return pfn;
}

void PageCache::drop(std::map<uint64_t, Page>::iterator it) {
  if (it->second.dirty) --dirty_;
  pm_.put(it->second.pfn);
  if (budget_) --budget_->used;
  pages_.erase(it);
}

PageCache::Get PageCache::get_page(uint64_t pg, uint64_t& pfn) {
  if (pg >= eof_page()) return Get::PastEof;
  if (auto it = pages_.find(pg); it != pages_.end()) {
    pfn = it->second.pfn;
    return Get::Ok;
  }
  bool over_budget = budget_ && budget_->limit && budget_->used >= budget_->limit;
  auto fresh = alloc_frame(pg);
  if (!fresh) return over_budget ? Get::NoSpace : Get::NoMemory;
  if (backing_) {
    uint8_t* dst = pm_.frame_ptr(*fresh);
    uint64_t want = std::min<uint64_t>(kPageSize, size_ - (pg << kPageShift));
    for (uint64_t got = 0; got < want;) {
      int64_t r = backing_->backing_read(dst + got, want - got, (pg << kPageShift) + got);
      if (r < 0) {
        pm_.put(*fresh);
        if (budget_) --budget_->used;
        return Get::IoError;
      }
      if (r == 0) break; // the backing shrank behind our back: the rest reads as zeros
      got += uint64_t(r);
    }
  }
  pages_.emplace(pg, Page{*fresh, false});
  pfn = *fresh;
  return Get::Ok;
}

bool PageCache::is_dirty(uint64_t pg) const {
  auto it = pages_.find(pg);
  return it != pages_.end() && it->second.dirty;
}

void PageCache::set_dirty(uint64_t pg) {
  auto it = pages_.find(pg);
  if (it != pages_.end() && !it->second.dirty) {
    it->second.dirty = true;
    ++dirty_;
  }
}

void PageCache::add_mapper(AddressSpace* as) {
  if (std::find(mappers_.begin(), mappers_.end(), as) == mappers_.end()) mappers_.push_back(as);
}

void PageCache::remove_mapper(AddressSpace* as) { std::erase(mappers_, as); }

int64_t PageCache::read(void* buf, size_t n, uint64_t off) {
  // Nothing cached: the backing is the truth (and reading it fills nothing).
  if (backing_ && pages_.empty()) return backing_->backing_read(buf, n, off);
  if (off >= size_) return 0;
  n = size_t(std::min<uint64_t>(n, size_ - off));
  auto* out = static_cast<uint8_t*>(buf);
  size_t done = 0;
  while (done < n) {
    uint64_t pos = off + done;
    uint64_t pg = pos >> kPageShift, in = pos & (kPageSize - 1);
    size_t chunk = size_t(std::min<uint64_t>(n - done, kPageSize - in));
    auto it = pages_.find(pg);
    if (it != pages_.end()) {
      memcpy(out + done, pm_.frame_ptr(it->second.pfn) + in, chunk);
    } else if (!backing_) {
      memset(out + done, 0, chunk); // a hole
    } else {
      int64_t r = backing_->backing_read(out + done, chunk, pos);
      if (r < 0) return done ? int64_t(done) : r;
      if (size_t(r) < chunk) memset(out + done + r, 0, chunk - size_t(r));
    }
    done += chunk;
  }
  return int64_t(done);
}

int64_t PageCache::write(const void* buf, size_t n, uint64_t off) {
  if (n == 0) return 0;
  auto* in = static_cast<const uint8_t*>(buf);
  if (backing_) {
    int64_t r = backing_->backing_write(buf, n, off);
    if (r <= 0) return r;
    n = size_t(r);
  }
  size_t done = 0;
  while (done < n) {
    uint64_t pos = off + done;
    uint64_t pg = pos >> kPageShift, at = pos & (kPageSize - 1);
    size_t chunk = size_t(std::min<uint64_t>(n - done, kPageSize - at));
    auto it = pages_.find(pg);
    if (it == pages_.end() && !backing_) {
      auto fresh = alloc_frame(pg);
      if (!fresh) break; // ENOSPC
      it = pages_.emplace(pg, Page{*fresh, false}).first;
    }
    if (it != pages_.end()) memcpy(pm_.frame_ptr(it->second.pfn) + at, in + done, chunk);
    done += chunk;
  }
  if (done == 0) return -ENOSPC;
  size_ = std::max(size_, off + done);
  return int64_t(done);
}

void PageCache::unmap_everywhere(uint64_t first_pg, uint64_t end_pg) {
  for (AddressSpace* as : mappers_) as->zap_file_pages(this, first_pg, end_pg);
}

void PageCache::truncate(uint64_t size) {
  uint64_t old = size_;
  size_ = size;
  if (size >= old) return;
  uint64_t keep = eof_page();
  unmap_everywhere(keep, kAllPages);
  for (auto it = pages_.lower_bound(keep); it != pages_.end();) drop(it++);
  // The partial last page: what lies past the new end reads as zeros from now on.
  if (size & (kPageSize - 1))
    if (auto it = pages_.find(size >> kPageShift); it != pages_.end()) {
      uint64_t in = size & (kPageSize - 1);
      memset(pm_.frame_ptr(it->second.pfn) + in, 0, kPageSize - in);
    }
}

void PageCache::punch(uint64_t first_pg, uint64_t end_pg) {
  if (first_pg >= end_pg) return;
  unmap_everywhere(first_pg, end_pg);
  for (auto it = pages_.lower_bound(first_pg); it != pages_.end() && it->first < end_pg;) drop(it++);
}

int64_t PageCache::write_back_page(uint64_t pg, const Page& p) {
  uint64_t off = pg << kPageShift;
  if (off >= size_) return 0;
  uint64_t len = std::min<uint64_t>(kPageSize, size_ - off);
  const uint8_t* src = pm_.frame_ptr(p.pfn);
  for (uint64_t done = 0; done < len;) {
    int64_t r = backing_->backing_write(src + done, len - done, off + done);
    if (r <= 0) return -EIO;
    done += uint64_t(r);
  }
  return 0;
}

int64_t PageCache::writeback(uint64_t first_pg, uint64_t end_pg, const AddressSpace* caller, bool all_stopped) {
  if (!backing_ || !dirty_) return 0; // the pages are the data, or all clean
  int64_t err = 0;
  for (auto it = pages_.lower_bound(first_pg); it != pages_.end() && it->first < end_pg; ++it) {
    Page& p = it->second;
    if (!p.dirty) continue;
    bool maybe_written_still = false;
    for (AddressSpace* as : mappers_)
      if (as->write_protect_file_page(this, it->first) && !all_stopped && as != caller) maybe_written_still = true;
    if (int64_t r = write_back_page(it->first, p)) {
      if (!err) err = r;
      continue;
    }
    if (!maybe_written_still) {
      p.dirty = false;
      --dirty_;
    }
  }
  return err;
}

uint64_t PageCache::evict_clean() {
  if (!backing_) return 0;
  uint64_t n = 0;
  for (auto it = pages_.begin(); it != pages_.end();) {
    auto cur = it++;
    if (!cur->second.dirty && pm_.buddy().frame(cur->second.pfn).refcount == 1) {
      drop(cur);
      ++n;
    }
  }
  return n;
}

} // namespace gk::mm
