#include "mm/buddy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <set>
#include <vector>

namespace gk::mm {
namespace {

constexpr unsigned kMax = BuddyAllocator::kMaxOrder;

std::array<uint64_t, kMax + 1> block_counts(const BuddyAllocator& b) {
  std::array<uint64_t, kMax + 1> c{};
  for (unsigned o = 0; o <= kMax; ++o) c[o] = b.free_blocks(o);
  return c;
}

uint64_t frames_in_blocks(const BuddyAllocator& b) {
  uint64_t n = 0;
  for (unsigned o = 0; o <= kMax; ++o) n += b.free_blocks(o) << o;
  return n;
}

std::vector<uint64_t> alloc_all(BuddyAllocator& b, FrameKind kind = FrameKind::Anon) {
  std::vector<uint64_t> out;
  while (auto p = b.alloc(0, kind)) {
    out.push_back(*p);
    if (out.size() > b.total_frames()) break; // never loop forever on a bug
  }
  return out;
}

TEST(Buddy, InitialFreeCountExcludesReservedFrames) {
  BuddyAllocator b(1024, 1);
  EXPECT_EQ(b.total_frames(), 1024u);
  EXPECT_EQ(b.free_frames(), 1023u);
  EXPECT_EQ(frames_in_blocks(b), 1023u);
  // 1..1023 carves into one aligned block of each order 0..9.
  for (unsigned o = 0; o < kMax; ++o) EXPECT_EQ(b.free_blocks(o), 1u) << "order " << o;
  EXPECT_EQ(b.free_blocks(kMax), 0u);
  EXPECT_EQ(b.frame(0).kind, FrameKind::Reserved);
  EXPECT_EQ(b.frame(0).refcount, 1u);

  BuddyAllocator b16(4096, 16);
  EXPECT_EQ(b16.free_frames(), 4096u - 16);
  for (uint64_t p = 0; p < 16; ++p) EXPECT_EQ(b16.frame(p).kind, FrameKind::Reserved);

  BuddyAllocator none(4096, 0);
  EXPECT_EQ(none.free_frames(), 4096u);
  EXPECT_EQ(none.free_blocks(kMax), 4u);
}

TEST(Buddy, RepeatedOrderZeroAllocsAreDistinctAndOwned) {
  BuddyAllocator b(2048, 1);
  std::set<uint64_t> seen;
  for (int i = 0; i < 500; ++i) {
    auto p = b.alloc(0, FrameKind::Anon);
    ASSERT_TRUE(p);
    EXPECT_GE(*p, 1u);
    EXPECT_LT(*p, 2048u);
    EXPECT_TRUE(seen.insert(*p).second) << "frame " << *p << " handed out twice";
    EXPECT_EQ(b.frame(*p).kind, FrameKind::Anon);
    EXPECT_EQ(b.frame(*p).refcount, 1u);
  }
  EXPECT_EQ(b.free_frames(), 2047u - 500);
}

TEST(Buddy, OrderZeroFromFreshBlockSplitsIntoOneBlockPerLowerOrder) {
  BuddyAllocator b(1024, 0); // exactly one block of kMaxOrder
  ASSERT_EQ(b.free_blocks(kMax), 1u);
  auto p = b.alloc(0, FrameKind::Anon);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 0u);
  for (unsigned o = 0; o < kMax; ++o) EXPECT_EQ(b.free_blocks(o), 1u) << "order " << o;
  EXPECT_EQ(b.free_blocks(kMax), 0u);
  EXPECT_EQ(b.free_frames(), 1023u);

  b.free(*p);
  for (unsigned o = 0; o < kMax; ++o) EXPECT_EQ(b.free_blocks(o), 0u) << "order " << o;
  EXPECT_EQ(b.free_blocks(kMax), 1u);
  EXPECT_EQ(b.free_frames(), 1024u);
}

TEST(Buddy, FreeingEverythingMergesBackToTheInitialBlocks) {
  BuddyAllocator b(4096, 1);
  const auto initial = block_counts(b);
  const uint64_t initial_free = b.free_frames();

  std::vector<uint64_t> got = alloc_all(b);
  ASSERT_EQ(got.size(), initial_free);
  EXPECT_EQ(b.free_frames(), 0u);
  for (unsigned o = 0; o <= kMax; ++o) EXPECT_EQ(b.free_blocks(o), 0u);

  std::mt19937 rng(42);
  std::shuffle(got.begin(), got.end(), rng);
  for (uint64_t p : got) b.free(p);

  EXPECT_EQ(b.free_frames(), initial_free);
  EXPECT_EQ(b.free_blocks(kMax), initial[kMax]);
  EXPECT_EQ(block_counts(b), initial);
  for (uint64_t p : got) EXPECT_EQ(b.frame(p).kind, FrameKind::Free);
}

TEST(Buddy, HigherOrderBlocksAreNaturallyAligned) {
  BuddyAllocator b(8192, 1);
  // Disturb the free lists first so alignment is not a coincidence.
  ASSERT_TRUE(b.alloc(0, FrameKind::Anon));
  ASSERT_TRUE(b.alloc(1, FrameKind::Anon));
  for (unsigned o = 0; o <= kMax; ++o) {
    for (int rep = 0; rep < 2; ++rep) {
      uint64_t before = b.free_frames();
      auto p = b.alloc(o, FrameKind::PageCache);
      ASSERT_TRUE(p) << "order " << o;
      EXPECT_EQ(*p % (1ULL << o), 0u) << "order " << o << " pfn " << *p;
      EXPECT_EQ(b.free_frames(), before - (1ULL << o));
      for (uint64_t i = 0; i < (1ULL << o); ++i) {
        EXPECT_EQ(b.frame(*p + i).kind, FrameKind::PageCache);
        EXPECT_EQ(b.frame(*p + i).refcount, 1u);
      }
    }
  }
  EXPECT_FALSE(b.alloc(kMax + 1, FrameKind::Anon));
}

TEST(Buddy, BlockFramesAreFreedIndividually) {
  BuddyAllocator b(1024, 0);
  auto p = b.alloc(3, FrameKind::Anon);
  ASSERT_TRUE(p);
  for (uint64_t i = 0; i < 8; ++i) b.free(*p + i);
  EXPECT_EQ(b.free_frames(), 1024u);
  EXPECT_EQ(b.free_blocks(kMax), 1u);
}

TEST(Buddy, AllocAtTakesExactlyThatFrameOnce) {
  BuddyAllocator b(1024, 1);
  uint64_t before = b.free_frames();
  EXPECT_TRUE(b.alloc_at(100, FrameKind::Anon));
  EXPECT_EQ(b.free_frames(), before - 1);
  EXPECT_EQ(b.frame(100).kind, FrameKind::Anon);
  EXPECT_EQ(b.frame(100).refcount, 1u);
  EXPECT_FALSE(b.alloc_at(100, FrameKind::Anon));
  EXPECT_EQ(b.free_frames(), before - 1);

  // The frame is never handed out again while taken.
  std::vector<uint64_t> rest = alloc_all(b);
  EXPECT_EQ(rest.size(), before - 1);
  EXPECT_EQ(std::count(rest.begin(), rest.end(), 100u), 0);
  for (uint64_t p : rest) b.free(p);

  b.free(100);
  EXPECT_EQ(b.free_frames(), before);
  EXPECT_TRUE(b.alloc_at(100, FrameKind::Anon));
}

TEST(Buddy, AllocAtSplitsTheSurroundingBlock) {
  BuddyAllocator b(1024, 0);
  ASSERT_TRUE(b.alloc_at(5, FrameKind::Anon));
  EXPECT_EQ(b.free_frames(), 1023u);
  EXPECT_EQ(frames_in_blocks(b), 1023u);
  for (unsigned o = 0; o < kMax; ++o) EXPECT_EQ(b.free_blocks(o), 1u) << "order " << o;
  EXPECT_EQ(b.free_blocks(kMax), 0u);
  // Neighbours stay allocatable.
  EXPECT_TRUE(b.alloc_at(4, FrameKind::Anon));
  EXPECT_TRUE(b.alloc_at(6, FrameKind::Anon));
  b.free(4);
  b.free(6);
  b.free(5);
  EXPECT_EQ(b.free_blocks(kMax), 1u);
  EXPECT_EQ(b.free_frames(), 1024u);
}

TEST(Buddy, AllocAtRejectsReservedAndOutOfRangeFrames) {
  BuddyAllocator b(1024, 4);
  uint64_t before = b.free_frames();
  for (uint64_t p = 0; p < 4; ++p) EXPECT_FALSE(b.alloc_at(p, FrameKind::Anon)) << p;
  EXPECT_FALSE(b.alloc_at(1024, FrameKind::Anon));
  EXPECT_FALSE(b.alloc_at(1ULL << 40, FrameKind::Anon));
  EXPECT_EQ(b.free_frames(), before);
  EXPECT_EQ(b.frame(0).kind, FrameKind::Reserved);
  EXPECT_TRUE(b.alloc_at(4, FrameKind::Anon));
}

TEST(Buddy, ExhaustionReturnsNulloptAndRecovers) {
  BuddyAllocator b(512, 1);
  const uint64_t initial = b.free_frames();
  std::vector<uint64_t> got = alloc_all(b);
  EXPECT_EQ(got.size(), initial);
  EXPECT_EQ(b.free_frames(), 0u);
  EXPECT_FALSE(b.alloc(0, FrameKind::Anon));
  EXPECT_FALSE(b.alloc(1, FrameKind::Anon));

  uint64_t victim = got[got.size() / 2];
  b.free(victim);
  EXPECT_EQ(b.free_frames(), 1u);
  auto again = b.alloc(0, FrameKind::Anon);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, victim);
  EXPECT_FALSE(b.alloc(0, FrameKind::Anon));
}

TEST(Buddy, NonPowerOfTwoFrameCount) {
  BuddyAllocator b(1000, 3);
  EXPECT_EQ(b.free_frames(), 997u);
  EXPECT_EQ(frames_in_blocks(b), 997u);
  const auto initial = block_counts(b);
  // 1000 frames hold no aligned block of 512.
  EXPECT_EQ(b.free_blocks(9), 0u);
  EXPECT_EQ(b.free_blocks(kMax), 0u);
  EXPECT_FALSE(b.alloc(9, FrameKind::Anon));
  auto big = b.alloc(8, FrameKind::Anon);
  ASSERT_TRUE(big);
  EXPECT_EQ(*big % 256, 0u);
  EXPECT_LE(*big + 256, 1000u);
  for (uint64_t i = 0; i < 256; ++i) b.free(*big + i);
  EXPECT_EQ(block_counts(b), initial);

  std::vector<uint64_t> got = alloc_all(b);
  ASSERT_EQ(got.size(), 997u);
  std::set<uint64_t> uniq(got.begin(), got.end());
  EXPECT_EQ(uniq.size(), 997u);
  EXPECT_EQ(*uniq.begin(), 3u);
  EXPECT_EQ(*uniq.rbegin(), 999u);
  for (uint64_t p : got) b.free(p);
  EXPECT_EQ(b.free_frames(), 997u);
  EXPECT_EQ(block_counts(b), initial);
}

TEST(Buddy, CountKind) {
  BuddyAllocator b(1024, 2);
  EXPECT_EQ(b.count_kind(FrameKind::Reserved), 2u);
  EXPECT_EQ(b.count_kind(FrameKind::Free), 1022u);
  EXPECT_EQ(b.count_kind(FrameKind::Anon), 0u);

  std::vector<uint64_t> anon, pt;
  for (int i = 0; i < 3; ++i) anon.push_back(*b.alloc(0, FrameKind::Anon));
  for (int i = 0; i < 2; ++i) pt.push_back(*b.alloc(0, FrameKind::PageTable));
  ASSERT_TRUE(b.alloc(2, FrameKind::PageCache));
  EXPECT_EQ(b.count_kind(FrameKind::Anon), 3u);
  EXPECT_EQ(b.count_kind(FrameKind::PageTable), 2u);
  EXPECT_EQ(b.count_kind(FrameKind::PageCache), 4u);
  EXPECT_EQ(b.count_kind(FrameKind::Free), b.free_frames());
  EXPECT_EQ(b.count_kind(FrameKind::Free), 1022u - 9);

  b.free(anon[1]);
  EXPECT_EQ(b.count_kind(FrameKind::Anon), 2u);
  EXPECT_EQ(b.count_kind(FrameKind::Free), b.free_frames());
  EXPECT_STREQ(frame_kind_name(FrameKind::PageTable), "pagetable");
}

} // namespace
} // namespace gk::mm
