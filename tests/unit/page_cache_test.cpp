// The page cache on its own (store and backed caches) and with address
// spaces mapping it: shared and private file faults, dirty tracking and
// writeback, truncation unmapping from every mapper, fork, mremap, msync,
// mincore and madvise.
#include "mm/page_cache.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mm/address_space.h"
#include "tests/unit/fake_stub_channel.h"

namespace gk::mm {
namespace {

constexpr int RW = PROT_READ | PROT_WRITE;
constexpr int RO = PROT_READ;
constexpr uint64_t kVa = 0x1000'0000;
constexpr uint64_t kVa2 = 0x2000'0000;

// A file in a string: what hostfs's host file is to a backed cache.
class StringBacking : public PageBacking {
public:
  std::string data;
  int reads = 0, writes = 0;
  bool fail = false;
  int64_t backing_read(void* buf, size_t n, uint64_t off) override {
    ++reads;
    if (fail) return -EIO;
    if (off >= data.size()) return 0;
    n = std::min<size_t>(n, data.size() - off);
    memcpy(buf, data.data() + off, n);
    return int64_t(n);
  }
  int64_t backing_write(const void* buf, size_t n, uint64_t off) override {
    ++writes;
    if (fail) return -EIO;
    if (data.size() < off + n) data.resize(off + n);
    memcpy(data.data() + off, buf, n);
    return int64_t(n);
  }
};

std::string pattern(size_t n, char seed) {
  std::string s(n, 0);
  for (size_t i = 0; i < n; ++i) s[i] = char(seed + i % 23);
  return s;
}

class PageCacheTest : public ::testing::Test {
protected:
  PageCacheTest() : pm(16ULL << 20) {}
  std::unique_ptr<AddressSpace> new_as() { return std::make_unique<AddressSpace>(pm, Backend::Mmap, stats, faults); }
  uint64_t cache_frames() const { return pm.buddy().count_kind(FrameKind::PageCache); }
  uint64_t anon_frames() const { return pm.buddy().count_kind(FrameKind::Anon); }
  static uint64_t entry(AddressSpace& as, uint64_t va) {
    uint64_t* e = as.page_table().lookup(va);
    return e ? *e : 0;
  }
  std::string peek(AddressSpace& as, uint64_t va, size_t n) {
    std::string s(n, 0);
    EXPECT_EQ(as.copy_from_user(s.data(), va, n), 0);
    return s;
  }

  PhysMem pm;
  MmuStats stats;
  FaultCounters faults;
  test::FakeStubChannel ch;
};

// ---- the cache alone ----

TEST_F(PageCacheTest, StoreCacheReadsWhatWasWrittenAndHolesAsZeros) {
  PageCache c(pm, nullptr);
  std::string a = pattern(100, 'a');
  ASSERT_EQ(c.write(a.data(), a.size(), 3 * kPageSize + 10), 100);
  EXPECT_EQ(c.size(), 3 * kPageSize + 110);
  EXPECT_EQ(c.resident_pages(), 1u); // holes cost nothing
  std::string back(c.size(), 'x');
  ASSERT_EQ(c.read(back.data(), back.size() + 50, 0), int64_t(c.size())); // short at EOF
  EXPECT_EQ(back.substr(0, 3 * kPageSize + 10), std::string(3 * kPageSize + 10, 0));
  EXPECT_EQ(back.substr(3 * kPageSize + 10), a);
  char one;
  EXPECT_EQ(c.read(&one, 1, c.size()), 0);
  EXPECT_EQ(cache_frames(), 1u);
}

TEST_F(PageCacheTest, StoreCacheTruncateFreesPagesAndZerosTheTail) {
  PageCache c(pm, nullptr);
  std::string a = pattern(3 * kPageSize, 'q');
  ASSERT_EQ(c.write(a.data(), a.size(), 0), int64_t(a.size()));
  EXPECT_EQ(cache_frames(), 3u);
  c.truncate(kPageSize + 5);
  EXPECT_EQ(cache_frames(), 2u);
  c.truncate(3 * kPageSize); // growing again: the old bytes are gone
  std::string back(3 * kPageSize, 'x');
  ASSERT_EQ(c.read(back.data(), back.size(), 0), int64_t(back.size()));
  EXPECT_EQ(back.substr(0, kPageSize + 5), a.substr(0, kPageSize + 5));
  EXPECT_EQ(back.substr(kPageSize + 5), std::string(2 * kPageSize - 5, 0));
}

TEST_F(PageCacheTest, BudgetLimitsStorePagesWithEnospc) {
  PageBudget budget{2, 0};
  PageCache c(pm, nullptr, &budget);
  std::string a = pattern(3 * kPageSize, 'b');
  EXPECT_EQ(c.write(a.data(), a.size(), 0), int64_t(2 * kPageSize)); // short
  EXPECT_EQ(budget.used, 2u);
  EXPECT_EQ(c.write(a.data(), 1, 5 * kPageSize), -ENOSPC);
  EXPECT_EQ(c.write(a.data(), 10, 100), 10); // an existing page needs nothing new
  c.truncate(8 * kPageSize);
  uint64_t pfn;
  EXPECT_EQ(c.get_page(6, pfn), PageCache::Get::NoSpace); // a mapping's fault there gets SIGBUS
  c.truncate(0);
  EXPECT_EQ(budget.used, 0u);
  EXPECT_EQ(cache_frames(), 0u);
}

TEST_F(PageCacheTest, StoreCacheWriteWhenMemoryIsExhaustedIsEnospc) {
  PhysMem tiny(1ULL << 20);
  PageCache c(tiny, nullptr);
  std::string a = pattern(kPageSize, 'z');
  int64_t total = 0;
  for (uint64_t off = 0;; off += kPageSize) {
    int64_t r = c.write(a.data(), a.size(), off);
    if (r < 0) {
      EXPECT_EQ(r, -ENOSPC);
      break;
    }
    total += r;
  }
  EXPECT_GT(total, 0);
  EXPECT_EQ(tiny.buddy().free_frames(), 0u);
}

TEST_F(PageCacheTest, BackedCacheReadsThroughUntilSomethingIsCached) {
  StringBacking b;
  b.data = pattern(2 * kPageSize + 100, 'h');
  PageCache c(pm, &b, nullptr, b.data.size());
  std::string back(b.data.size(), 0);
  ASSERT_EQ(c.read(back.data(), back.size(), 0), int64_t(back.size()));
  EXPECT_EQ(back, b.data);
  EXPECT_EQ(c.resident_pages(), 0u); // plain reads fill nothing
  uint64_t pfn;
  ASSERT_EQ(c.get_page(1, pfn), PageCache::Get::Ok);
  EXPECT_EQ(memcmp(pm.frame_ptr(pfn), b.data.data() + kPageSize, kPageSize), 0);
  ASSERT_EQ(c.get_page(2, pfn), PageCache::Get::Ok); // the partial last page, zero-filled
  EXPECT_EQ(memcmp(pm.frame_ptr(pfn), b.data.data() + 2 * kPageSize, 100), 0);
  EXPECT_EQ(pm.frame_ptr(pfn)[100], 0);
  EXPECT_EQ(c.get_page(3, pfn), PageCache::Get::PastEof);
  // A write reaches the backing and the cached page alike.
  ASSERT_EQ(c.write("XY", 2, kPageSize + 1), 2);
  EXPECT_EQ(b.data.substr(kPageSize + 1, 2), "XY");
  ASSERT_EQ(c.get_page(1, pfn), PageCache::Get::Ok);
  EXPECT_EQ(memcmp(pm.frame_ptr(pfn) + 1, "XY", 2), 0);
  EXPECT_EQ(c.dirty_pages(), 0u); // written through: nothing to write back
  b.fail = true;
  EXPECT_EQ(c.get_page(0, pfn), PageCache::Get::IoError);
}

TEST_F(PageCacheTest, CleanUnmappedPagesAreReclaimedWhenMemoryRunsOut) {
  PhysMem small(1ULL << 20);
  StringBacking b;
  b.data = pattern(8 * kPageSize, 'e');
  PageCache c(small, &b, nullptr, b.data.size());
  uint64_t pfn;
  for (uint64_t pg = 0; pg < 8; ++pg) ASSERT_EQ(c.get_page(pg, pfn), PageCache::Get::Ok);
  c.set_dirty(3); // dirty pages are never dropped
  small.get(pfn); // nor mapped ones (page 7)
  std::vector<uint64_t> taken;
  while (auto f = small.alloc_zeroed(FrameKind::Anon)) taken.push_back(*f);
  EXPECT_EQ(c.resident_pages(), 2u);
  EXPECT_TRUE(c.resident(3) && c.resident(7));
  for (uint64_t f : taken) small.put(f);
  small.put(pfn);
}

// ---- shared file mappings ----

TEST_F(PageCacheTest, TwoAddressSpacesMappingSharedSeeOneFrame) {
  StringBacking b;
  b.data = pattern(4 * kPageSize, 's');
  auto c = std::make_shared<PageCache>(pm, &b, nullptr, b.data.size());
  auto as1 = new_as(), as2 = new_as();
  ASSERT_EQ(as1->mmap(kVa, 4 * kPageSize, RW, MAP_SHARED | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(as2->mmap(kVa2, 2 * kPageSize, RW, MAP_SHARED | MAP_FIXED, "f", c, 2), int64_t(kVa2));
  EXPECT_EQ(c->mappers(), 2u);
  EXPECT_EQ(peek(*as1, kVa + 2 * kPageSize, 16), b.data.substr(2 * kPageSize, 16));
  ASSERT_EQ(as2->fault(kVa2, Access::Read, true), FaultResult::Mapped);
  EXPECT_EQ(pte::pfn(entry(*as1, kVa + 2 * kPageSize)), pte::pfn(entry(*as2, kVa2)));
  // Clean pages are mapped read-only, to see the first write.
  EXPECT_FALSE(entry(*as2, kVa2) & pte::RW);
  EXPECT_EQ(as2->copy_to_user(kVa2 + 8, "hello", 5), 0);
  EXPECT_TRUE(entry(*as2, kVa2) & pte::RW);
  EXPECT_TRUE(entry(*as2, kVa2) & pte::D);
  EXPECT_TRUE(c->is_dirty(2));
  EXPECT_EQ(peek(*as1, kVa + 2 * kPageSize + 8, 5), "hello");
  EXPECT_NE(b.data.substr(2 * kPageSize + 8, 5), "hello"); // not yet written back
  // msync writes it back and takes write access away again.
  ASSERT_EQ(as2->msync(kVa2, kPageSize, MS_SYNC), 0);
  EXPECT_EQ(b.data.substr(2 * kPageSize + 8, 5), "hello");
  EXPECT_FALSE(entry(*as2, kVa2) & pte::RW);
  EXPECT_FALSE(c->is_dirty(2));
  // A guest write fault on the mirrored read-only page makes it writable again.
  as2->flush_host(ch);
  ASSERT_EQ(as2->fault(kVa2, Access::Unknown, true), FaultResult::Mapped);
  EXPECT_TRUE(entry(*as2, kVa2) & pte::RW);
  EXPECT_TRUE(c->is_dirty(2));
  EXPECT_GE(faults.dirty, 2u);
  // munmap writes back what is dirty.
  memcpy(pm.frame_ptr(pte::pfn(entry(*as2, kVa2))), "bye", 3);
  ASSERT_EQ(as2->munmap(kVa2, 2 * kPageSize), 0);
  EXPECT_EQ(b.data.substr(2 * kPageSize, 3), "bye");
  EXPECT_EQ(c->mappers(), 1u);
  as1.reset();
  as2.reset();
  EXPECT_EQ(c->mappers(), 0u);
  EXPECT_EQ(anon_frames(), 0u);
  EXPECT_EQ(cache_frames(), c->resident_pages()); // only the cache's own references are left
}

TEST_F(PageCacheTest, WritebackKeepsAPageDirtyWhileAnotherSpaceMayWriteIt) {
  StringBacking b;
  b.data = pattern(kPageSize, 'd');
  auto c = std::make_shared<PageCache>(pm, &b, nullptr, b.data.size());
  auto as1 = new_as(), as2 = new_as();
  ASSERT_EQ(as1->mmap(kVa, kPageSize, RW, MAP_SHARED | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(as2->mmap(kVa, kPageSize, RW, MAP_SHARED | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(as1->copy_to_user(kVa, "1", 1), 0);
  ASSERT_EQ(as2->copy_to_user(kVa + 1, "2", 1), 0);
  ASSERT_EQ(as1->msync(kVa, kPageSize, MS_SYNC), 0);
  EXPECT_EQ(b.data.substr(0, 2), "12");
  EXPECT_TRUE(c->is_dirty(0)); // as2's child could still be writing
  EXPECT_FALSE(entry(*as2, kVa) & pte::RW);
  EXPECT_EQ(c->sync(), 0); // every child stopped (kernel exit)
  EXPECT_FALSE(c->is_dirty(0));
}

TEST_F(PageCacheTest, ReadOnlySharedMappingOfDirtyPageIsStillReadOnly) {
  StringBacking b;
  b.data = pattern(kPageSize, 'r');
  auto c = std::make_shared<PageCache>(pm, &b, nullptr, b.data.size());
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, kPageSize, RO, MAP_SHARED | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(c->write("zz", 2, 0), 2);
  EXPECT_EQ(peek(*as, kVa, 2), "zz"); // write() and the mapping share the frame
  EXPECT_EQ(as->copy_to_user(kVa, "a", 1), -EFAULT);
  EXPECT_EQ(as->fault(kVa, Access::Write, true), FaultResult::AccErr);
}

TEST_F(PageCacheTest, AFileLargerThanGuestMemoryCanBeMappedShared) {
  auto c = std::make_shared<PageCache>(pm, nullptr, nullptr, 2 * pm.bytes());
  auto as = new_as();
  EXPECT_GT(as->mmap(0, 2 * pm.bytes(), RO, MAP_SHARED, "big", c, 0), 0);
  EXPECT_GT(as->mmap(0, 2 * pm.bytes(), RO, MAP_PRIVATE, "big", c, 0), 0);
  // Private and writable needs frames of its own: the overcommit heuristic refuses.
  EXPECT_EQ(as->mmap(0, 2 * pm.bytes(), RW, MAP_PRIVATE, "big", c, 0), -ENOMEM);
}

// ---- private file mappings ----

TEST_F(PageCacheTest, PrivateMappingCopiesOnWriteAndNeverReachesTheFile) {
  StringBacking b;
  b.data = pattern(2 * kPageSize, 'p');
  auto c = std::make_shared<PageCache>(pm, &b, nullptr, b.data.size());
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, 2 * kPageSize, RW, MAP_PRIVATE | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(as->fault(kVa, Access::Read, true), FaultResult::Mapped);
  uint64_t e = entry(*as, kVa);
  uint64_t cache_pfn;
  ASSERT_EQ(c->get_page(0, cache_pfn), PageCache::Get::Ok);
  EXPECT_EQ(pte::pfn(e), cache_pfn); // the file's own frame ...
  EXPECT_FALSE(e & pte::RW);         // ... read-only
  EXPECT_TRUE(e & pte::COW);
  as->flush_host(ch);
  ASSERT_EQ(as->fault(kVa, Access::Unknown, true), FaultResult::Mapped); // the write
  e = entry(*as, kVa);
  EXPECT_NE(pte::pfn(e), cache_pfn);
  EXPECT_TRUE(e & pte::RW);
  ASSERT_EQ(as->copy_to_user(kVa, "mine", 4), 0);
  ASSERT_EQ(as->copy_to_user(kVa + kPageSize, "mine", 4), 0); // straight to a copy
  EXPECT_EQ(b.data, pattern(2 * kPageSize, 'p'));
  char buf[4];
  ASSERT_EQ(c->read(buf, 4, 0), 4);
  EXPECT_EQ(memcmp(buf, b.data.data(), 4), 0);
  EXPECT_EQ(c->dirty_pages(), 0u);
  EXPECT_EQ(anon_frames(), 2u);
  // MADV_DONTNEED drops the copies: the file shows again.
  ASSERT_EQ(as->discard(kVa, 2 * kPageSize), 0);
  EXPECT_EQ(anon_frames(), 0u);
  EXPECT_EQ(peek(*as, kVa, 4), b.data.substr(0, 4));
  ASSERT_EQ(as->msync(kVa, kPageSize, MS_SYNC), 0); // nothing to write for private mappings
  EXPECT_EQ(b.writes, 0);
}

TEST_F(PageCacheTest, ForkSharesSharedPagesAndCopiesPrivateOnes) {
  auto c = std::make_shared<PageCache>(pm, nullptr, nullptr, 2 * kPageSize);
  auto parent = new_as();
  ASSERT_EQ(parent->mmap(kVa, 2 * kPageSize, RW, MAP_SHARED | MAP_FIXED, "shm", c, 0), int64_t(kVa));
  ASSERT_EQ(parent->mmap(kVa2, 2 * kPageSize, RW, MAP_PRIVATE | MAP_FIXED, "shm", c, 0), int64_t(kVa2));
  ASSERT_EQ(parent->copy_to_user(kVa, "shared", 6), 0);
  MmuStats cstats;
  FaultCounters cfaults;
  auto child = parent->fork(cstats, cfaults);
  ASSERT_TRUE(child);
  EXPECT_EQ(c->mappers(), 2u);
  ASSERT_EQ(child->copy_to_user(kVa + kPageSize, "child", 5), 0); // a page the parent never touched
  EXPECT_EQ(peek(*parent, kVa + kPageSize, 5), "child");
  EXPECT_EQ(peek(*child, kVa, 6), "shared");
  EXPECT_EQ(peek(*child, kVa2, 6), "shared"); // private view of the same file
  ASSERT_EQ(child->copy_to_user(kVa2, "CHILD!", 6), 0);
  EXPECT_EQ(peek(*parent, kVa2, 6), "shared");
  EXPECT_EQ(peek(*parent, kVa, 6), "shared");
  child.reset();
  EXPECT_EQ(c->mappers(), 1u);
}

TEST_F(PageCacheTest, SharedAnonymousMemoryIsSharedAcrossFork) {
  auto parent = new_as();
  int64_t a = parent->mmap(0, 3 * kPageSize, RW, MAP_SHARED | MAP_ANONYMOUS);
  ASSERT_GT(a, 0);
  const Vma* v = parent->vmas().find(uint64_t(a));
  ASSERT_TRUE(v && v->file);
  EXPECT_EQ(v->name, "/dev/zero (deleted)");
  MmuStats cstats;
  FaultCounters cfaults;
  auto child = parent->fork(cstats, cfaults);
  ASSERT_TRUE(child);
  EXPECT_EQ(parent->resident_pages(), 0u); // nothing populated for the fork
  ASSERT_EQ(child->copy_to_user(uint64_t(a) + 2 * kPageSize, "c", 1), 0);
  EXPECT_EQ(peek(*parent, uint64_t(a) + 2 * kPageSize, 1), "c");
  // Store pages are writable at once: no dirty tracking to do.
  EXPECT_TRUE(entry(*parent, uint64_t(a) + 2 * kPageSize) & pte::RW);
  child.reset();
  parent.reset();
  EXPECT_EQ(cache_frames(), 0u);
}

// ---- truncation ----

TEST_F(PageCacheTest, TruncateUnmapsEveryMapperAndFaultsPastEofAreSigbus) {
  auto c = std::make_shared<PageCache>(pm, nullptr, nullptr, 0);
  std::string a = pattern(4 * kPageSize, 't');
  ASSERT_EQ(c->write(a.data(), a.size(), 0), int64_t(a.size()));
  auto as1 = new_as(), as2 = new_as();
  ASSERT_EQ(as1->mmap(kVa, 4 * kPageSize, RW, MAP_SHARED | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(as2->mmap(kVa, 4 * kPageSize, RW, MAP_PRIVATE | MAP_FIXED, "f", c, 0), int64_t(kVa));
  // Fault-around maps all four pages in each.
  ASSERT_EQ(as1->fault(kVa, Access::Read, true), FaultResult::Mapped);
  ASSERT_EQ(as2->fault(kVa, Access::Read, true), FaultResult::Mapped);
  ASSERT_NE(entry(*as1, kVa + 3 * kPageSize), 0u);
  ASSERT_EQ(as2->copy_to_user(kVa + 3 * kPageSize, "cow", 3), 0); // a private copy past the new end
  as1->flush_host(ch);
  as2->flush_host(ch);
  uint64_t before = pm.buddy().free_frames();
  c->truncate(kPageSize + 1);
  EXPECT_EQ(entry(*as1, kVa + 2 * kPageSize), 0u);
  EXPECT_EQ(entry(*as2, kVa + 3 * kPageSize), 0u); // private copies go too, as on Linux
  EXPECT_NE(entry(*as1, kVa + kPageSize), 0u);      // the partial last page stays
  // The host may still map the frames until each child's next flush.
  EXPECT_TRUE(as1->mmu().pending());
  EXPECT_EQ(pm.buddy().free_frames(), before);
  as1->flush_host(ch);
  as2->flush_host(ch);
  EXPECT_EQ(pm.buddy().free_frames(), before + 2 /*cache*/ + 1 /*cow copy*/);
  EXPECT_EQ(as1->fault(kVa + 2 * kPageSize, Access::Read, true), FaultResult::SigBus);
  EXPECT_EQ(as2->fault(kVa + 3 * kPageSize, Access::Read, true), FaultResult::SigBus);
  char buf[2];
  EXPECT_EQ(as1->copy_from_user(buf, kVa + 2 * kPageSize, 1), -EFAULT);
  EXPECT_EQ(peek(*as1, kVa + kPageSize, 2), a.substr(kPageSize, 1) + char(0)); // zeroed past the end
  EXPECT_EQ(faults.sigbus, 3u);
}

// ---- mremap ----

class MremapTest : public PageCacheTest {};

TEST_F(MremapTest, ShrinkUnmapsTheTail) {
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, 4 * kPageSize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), int64_t(kVa));
  ASSERT_EQ(as->copy_to_user(kVa + 3 * kPageSize, "x", 1), 0);
  EXPECT_EQ(as->mremap(kVa, 4 * kPageSize, kPageSize, 0, 0), int64_t(kVa));
  EXPECT_EQ(as->vmas().find(kVa)->end, kVa + kPageSize);
  EXPECT_EQ(anon_frames(), 0u);
}

TEST_F(MremapTest, GrowInPlaceOrMoveKeepsContents) {
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, 2 * kPageSize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), int64_t(kVa));
  ASSERT_EQ(as->copy_to_user(kVa + kPageSize, "grow", 4), 0);
  EXPECT_EQ(as->mremap(kVa, 2 * kPageSize, 4 * kPageSize, 0, 0), int64_t(kVa)); // room after it
  EXPECT_EQ(as->vmas().find(kVa)->end, kVa + 4 * kPageSize);
  // Block the space after it: without MAYMOVE that is ENOMEM, with it a move.
  ASSERT_EQ(as->mmap(kVa + 4 * kPageSize, kPageSize, RO, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
            int64_t(kVa + 4 * kPageSize));
  EXPECT_EQ(as->mremap(kVa, 4 * kPageSize, 8 * kPageSize, 0, 0), -ENOMEM);
  uint64_t frames = anon_frames();
  int64_t to = as->mremap(kVa, 4 * kPageSize, 8 * kPageSize, MREMAP_MAYMOVE, 0);
  ASSERT_GT(to, 0);
  EXPECT_NE(to, int64_t(kVa));
  EXPECT_EQ(peek(*as, uint64_t(to) + kPageSize, 4), "grow");
  EXPECT_EQ(anon_frames(), frames + 0); // moved, not copied (peek touched a present page)
  EXPECT_EQ(as->vmas().find(kVa), nullptr);
  EXPECT_EQ(as->vmas().find(uint64_t(to))->end, uint64_t(to) + 8 * kPageSize);
  char z;
  ASSERT_EQ(as->copy_from_user(&z, uint64_t(to) + 7 * kPageSize, 1), 0); // the new part is zero-fill
  EXPECT_EQ(z, 0);
}

TEST_F(MremapTest, FixedMovesOverWhateverIsThereAndKeepsFilePages) {
  auto c = std::make_shared<PageCache>(pm, nullptr, nullptr, 0);
  std::string a = pattern(4 * kPageSize, 'm');
  ASSERT_EQ(c->write(a.data(), a.size(), 0), int64_t(a.size()));
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, 4 * kPageSize, RW, MAP_SHARED | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(as->copy_to_user(kVa + kPageSize, "moved", 5), 0);
  ASSERT_EQ(as->mmap(kVa2, kPageSize, RO, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), int64_t(kVa2));
  // Moving the second and third page.
  EXPECT_EQ(as->mremap(kVa + kPageSize, 2 * kPageSize, 2 * kPageSize, MREMAP_MAYMOVE | MREMAP_FIXED, kVa2),
            int64_t(kVa2));
  const Vma* v = as->vmas().find(kVa2);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->file, c);
  EXPECT_EQ(v->pgoff, 1u);
  EXPECT_EQ(v->prot, RW);
  EXPECT_EQ(peek(*as, kVa2, 5), "moved");
  EXPECT_EQ(peek(*as, kVa2 + kPageSize, 8), a.substr(2 * kPageSize, 8));
  EXPECT_EQ(as->vmas().find(kVa + kPageSize), nullptr);
  EXPECT_EQ(as->vmas().find(kVa + 3 * kPageSize)->pgoff, 3u);
  // Grow the file mapping by moving: the new pages are the file's next ones.
  int64_t to = as->mremap(kVa2, 2 * kPageSize, 3 * kPageSize, MREMAP_MAYMOVE, 0);
  ASSERT_GT(to, 0);
  EXPECT_EQ(peek(*as, uint64_t(to) + 2 * kPageSize, 8), a.substr(3 * kPageSize, 8));
}

TEST_F(MremapTest, ErrnosFollowLinux) {
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, 2 * kPageSize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), int64_t(kVa));
  EXPECT_EQ(as->mremap(kVa, kPageSize, kPageSize, 0x100, 0), -EINVAL);            // unknown flag
  EXPECT_EQ(as->mremap(kVa, kPageSize, kPageSize, MREMAP_FIXED, kVa2), -EINVAL);  // FIXED without MAYMOVE
  EXPECT_EQ(as->mremap(kVa + 1, kPageSize, kPageSize, 0, 0), -EINVAL);            // unaligned
  EXPECT_EQ(as->mremap(kVa, kPageSize, 0, 0, 0), -EINVAL);                        // zero new length
  EXPECT_EQ(as->mremap(kVa2, kPageSize, kPageSize, 0, 0), -EFAULT);               // nothing mapped there
  EXPECT_EQ(as->mremap(kVa, 3 * kPageSize, 4 * kPageSize, MREMAP_MAYMOVE, 0), -EFAULT); // past the VMA
  EXPECT_EQ(as->mremap(kVa, kPageSize, 2 * kPageSize, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, 0), -EINVAL);
  EXPECT_EQ(as->mremap(kVa, kPageSize, kPageSize, MREMAP_MAYMOVE | MREMAP_FIXED, kVa + kPageSize / 2), -EINVAL);
  EXPECT_EQ(as->mremap(kVa, 2 * kPageSize, 2 * kPageSize, MREMAP_MAYMOVE | MREMAP_FIXED, kVa + kPageSize), -EINVAL);
  EXPECT_EQ(as->mremap(kVa, 0, kPageSize, MREMAP_MAYMOVE, 0), -EINVAL); // duplicating a private mapping
}

TEST_F(MremapTest, DontUnmapLeavesAnEmptyOldMapping) {
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, kPageSize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), int64_t(kVa));
  ASSERT_EQ(as->copy_to_user(kVa, "d", 1), 0);
  int64_t to = as->mremap(kVa, kPageSize, kPageSize, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
  ASSERT_GT(to, 0);
  EXPECT_EQ(peek(*as, uint64_t(to), 1), "d");
  ASSERT_TRUE(as->vmas().find(kVa));
  EXPECT_EQ(peek(*as, kVa, 1), std::string(1, 0));
}

// ---- msync, mincore ----

TEST_F(PageCacheTest, MsyncErrnos) {
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, 2 * kPageSize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), int64_t(kVa));
  ASSERT_EQ(as->mmap(kVa + 3 * kPageSize, kPageSize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
            int64_t(kVa + 3 * kPageSize));
  EXPECT_EQ(as->msync(kVa, kPageSize, 0x10), -EINVAL);
  EXPECT_EQ(as->msync(kVa + 1, kPageSize, MS_SYNC), -EINVAL);
  EXPECT_EQ(as->msync(kVa, kPageSize, MS_SYNC | MS_ASYNC), -EINVAL);
  EXPECT_EQ(as->msync(kVa, 0, MS_SYNC), 0);
  EXPECT_EQ(as->msync(kVa, 2 * kPageSize, MS_SYNC | MS_INVALIDATE), 0);
  EXPECT_EQ(as->msync(kVa, 4 * kPageSize, MS_SYNC), -ENOMEM); // a hole
  EXPECT_EQ(as->msync(kVa, 4 * kPageSize, MS_ASYNC), -ENOMEM);
  EXPECT_EQ(as->msync(kVa2, kPageSize, MS_SYNC), -ENOMEM); // nothing there
}

TEST_F(PageCacheTest, MincoreReportsPtesAndCachedFilePages) {
  auto c = std::make_shared<PageCache>(pm, nullptr, nullptr, 0);
  std::string a = pattern(kPageSize, 'c');
  ASSERT_EQ(c->write(a.data(), a.size(), 2 * kPageSize), int64_t(a.size())); // only page 2 is cached
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, 3 * kPageSize, RO, MAP_SHARED | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(as->mmap(kVa + 3 * kPageSize, 2 * kPageSize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
            int64_t(kVa + 3 * kPageSize));
  ASSERT_EQ(as->copy_to_user(kVa + 4 * kPageSize, "x", 1), 0);
  std::vector<uint8_t> v;
  ASSERT_EQ(as->mincore(kVa, 5 * kPageSize - 1, v), 0);
  EXPECT_EQ(v, (std::vector<uint8_t>{0, 0, 1, 0, 1}));
  EXPECT_EQ(as->mincore(kVa + 1, kPageSize, v), -EINVAL);
  EXPECT_EQ(as->mincore(kVa, 6 * kPageSize, v), -ENOMEM);
}

TEST_F(PageCacheTest, MadvRemoveFreesSharedStorePages) {
  auto as = new_as();
  int64_t a = as->mmap(0, 2 * kPageSize, RW, MAP_SHARED | MAP_ANONYMOUS);
  ASSERT_GT(a, 0);
  ASSERT_EQ(as->copy_to_user(uint64_t(a), "gone", 4), 0);
  EXPECT_EQ(cache_frames(), 1u);
  ASSERT_EQ(as->remove_pages(uint64_t(a), 2 * kPageSize), 0);
  as->flush_host(ch);
  EXPECT_EQ(cache_frames(), 0u);
  EXPECT_EQ(peek(*as, uint64_t(a), 4), std::string(4, 0));
  int64_t p = as->mmap(0, kPageSize, RW, MAP_PRIVATE | MAP_ANONYMOUS);
  EXPECT_EQ(as->remove_pages(uint64_t(p), kPageSize), -EINVAL);
}

TEST_F(PageCacheTest, LoaderPokeIntoAPrivateFileMappingCopies) {
  StringBacking b;
  b.data = pattern(kPageSize, 'l');
  auto c = std::make_shared<PageCache>(pm, &b, nullptr, b.data.size());
  auto as = new_as();
  ASSERT_EQ(as->mmap(kVa, kPageSize, RO, MAP_PRIVATE | MAP_FIXED, "f", c, 0), int64_t(kVa));
  ASSERT_EQ(as->fault(kVa, Access::Read, true), FaultResult::Mapped);
  ASSERT_TRUE(as->poke(kVa + 100, "\0\0\0", 3));
  EXPECT_EQ(peek(*as, kVa + 100, 3), std::string(3, 0));
  char buf[3];
  ASSERT_EQ(c->read(buf, 3, 100), 3);
  EXPECT_EQ(std::string(buf, 3), b.data.substr(100, 3));
  EXPECT_FALSE(entry(*as, kVa) & pte::RW); // still read-only, as the VMA says
}

} // namespace
} // namespace gk::mm
