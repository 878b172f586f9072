#include "mm/vma.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <stdexcept>
#include <tuple>
#include <vector>

namespace gk::mm {
namespace {

constexpr uint64_t P = 0x1000;
constexpr int RW = PROT_READ | PROT_WRITE;
constexpr int RO = PROT_READ;

Vma vma(uint64_t start, uint64_t end, int prot = RW, uint32_t flags = 0, const char* name = "") {
  Vma v;
  v.start = start;
  v.end = end;
  v.prot = prot;
  v.flags = flags;
  v.name = name;
  return v;
}

using Span = std::tuple<uint64_t, uint64_t, int>; // start, end, prot

std::vector<Span> spans(const VmaSet& s) {
  std::vector<Span> out;
  for (const auto& [start, v] : s) {
    EXPECT_EQ(start, v.start); // keyed by start
    out.emplace_back(v.start, v.end, v.prot);
  }
  return out;
}

TEST(VmaSet, InsertAndFind) {
  VmaSet s;
  EXPECT_EQ(s.find(0x10 * P), nullptr);
  s.insert(vma(0x10 * P, 0x20 * P, RO, 0, "a"));
  s.insert(vma(0x40 * P, 0x50 * P, RW, 0, "b"));
  ASSERT_EQ(s.size(), 2u);
  const Vma* a = s.find(0x10 * P);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "a");
  EXPECT_EQ(a->length(), 0x10 * P);
  EXPECT_EQ(s.find(0x20 * P - 1), a);
  EXPECT_EQ(s.find(0x20 * P), nullptr); // end is exclusive
  EXPECT_EQ(s.find(0x10 * P - 1), nullptr);
  EXPECT_EQ(s.find(0x30 * P), nullptr);
  ASSERT_NE(s.find(0x4f * P), nullptr);
  EXPECT_EQ(s.find(0x4f * P)->name, "b");
  EXPECT_TRUE(s.overlaps(0x1f * P, 0x21 * P));
  EXPECT_FALSE(s.overlaps(0x20 * P, 0x40 * P));
  EXPECT_THROW(s.insert(vma(0x1f * P, 0x21 * P)), std::logic_error);
  EXPECT_THROW(s.insert(vma(0x60 * P, 0x60 * P)), std::logic_error);
  EXPECT_EQ(s.size(), 2u);
}

TEST(VmaSet, AdjacentAlikeVmasMerge) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x20 * P));
  s.insert(vma(0x30 * P, 0x40 * P));
  EXPECT_EQ(s.size(), 2u);
  s.insert(vma(0x20 * P, 0x30 * P)); // fills the hole: merges both ways
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x40 * P, RW}}));
  s.insert(vma(0x8 * P, 0x10 * P)); // below
  s.insert(vma(0x40 * P, 0x48 * P)); // above
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x8 * P, 0x48 * P, RW}}));
}

TEST(VmaSet, DifferingVmasDoNotMerge) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x20 * P, RW));
  s.insert(vma(0x20 * P, 0x30 * P, RO));                       // prot
  s.insert(vma(0x30 * P, 0x40 * P, RO, Vma::kShared));         // flags
  s.insert(vma(0x40 * P, 0x50 * P, RO, Vma::kShared, "file")); // name
  s.insert(vma(0x51 * P, 0x60 * P, RO, Vma::kShared, "file")); // not adjacent
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(s.find(0x20 * P)->prot, RO);
  EXPECT_EQ(s.find(0x1f * P)->prot, RW);
}

TEST(VmaSet, RemoveMiddleSplitsInTwo) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x40 * P, RW, 0, "x"));
  std::vector<Vma> gone = s.remove(0x20 * P, 0x30 * P);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].start, 0x20 * P);
  EXPECT_EQ(gone[0].end, 0x30 * P);
  EXPECT_EQ(gone[0].name, "x");
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x20 * P, RW}, {0x30 * P, 0x40 * P, RW}}));
  EXPECT_EQ(s.find(0x30 * P)->name, "x");
  EXPECT_EQ(s.find(0x25 * P), nullptr);
  EXPECT_FALSE(s.overlaps(0x20 * P, 0x30 * P));
}

TEST(VmaSet, RemoveSpanningSeveralVmas) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x20 * P, RW));
  s.insert(vma(0x20 * P, 0x30 * P, RO));
  s.insert(vma(0x38 * P, 0x40 * P, RW));
  s.insert(vma(0x40 * P, 0x50 * P, RO));
  std::vector<Vma> gone = s.remove(0x18 * P, 0x48 * P);
  ASSERT_EQ(gone.size(), 4u);
  EXPECT_EQ(gone[0].start, 0x18 * P);
  EXPECT_EQ(gone[0].end, 0x20 * P);
  EXPECT_EQ(gone[1].start, 0x20 * P);
  EXPECT_EQ(gone[1].end, 0x30 * P);
  EXPECT_EQ(gone[2].start, 0x38 * P);
  EXPECT_EQ(gone[3].start, 0x40 * P);
  EXPECT_EQ(gone[3].end, 0x48 * P);
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x18 * P, RW}, {0x48 * P, 0x50 * P, RO}}));

  // Removing a hole removes nothing.
  EXPECT_TRUE(s.remove(0x20 * P, 0x40 * P).empty());
  EXPECT_EQ(s.size(), 2u);
  // Removing everything.
  EXPECT_EQ(s.remove(0, 0x100 * P).size(), 2u);
  EXPECT_EQ(s.size(), 0u);
}

TEST(VmaSet, ProtectMiddleSplitsInThreeAndProtectBackMerges) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x40 * P, RW));
  s.protect(0x20 * P, 0x30 * P, RO);
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x20 * P, RW}, {0x20 * P, 0x30 * P, RO},
                                         {0x30 * P, 0x40 * P, RW}}));
  s.protect(0x20 * P, 0x30 * P, RW);
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x40 * P, RW}}));
}

TEST(VmaSet, ProtectAcrossVmasMergesWhatBecomesAlike) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x20 * P, RW));
  s.insert(vma(0x20 * P, 0x30 * P, RO));
  s.insert(vma(0x30 * P, 0x40 * P, PROT_NONE));
  s.insert(vma(0x40 * P, 0x50 * P, RW));
  s.protect(0x18 * P, 0x48 * P, RW);
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x50 * P, RW}}));
  s.protect(0x10 * P, 0x50 * P, RO); // whole VMA, no split
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x50 * P, RO}}));
  s.protect(0x10 * P, 0x11 * P, PROT_NONE); // at the start
  s.protect(0x4f * P, 0x50 * P, PROT_NONE); // at the end
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x11 * P, PROT_NONE}, {0x11 * P, 0x4f * P, RO},
                                         {0x4f * P, 0x50 * P, PROT_NONE}}));
}

TEST(VmaSet, CoveredWithHoles) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x20 * P, RW));
  s.insert(vma(0x20 * P, 0x30 * P, RO)); // adjacent, not merged
  s.insert(vma(0x38 * P, 0x40 * P, RW));
  EXPECT_TRUE(s.covered(0x10 * P, 0x30 * P));
  EXPECT_TRUE(s.covered(0x18 * P, 0x28 * P));
  EXPECT_TRUE(s.covered(0x38 * P, 0x40 * P));
  EXPECT_FALSE(s.covered(0x10 * P, 0x31 * P));
  EXPECT_FALSE(s.covered(0x10 * P, 0x40 * P));
  EXPECT_FALSE(s.covered(0x8 * P, 0x20 * P));
  EXPECT_FALSE(s.covered(0x30 * P, 0x38 * P));
  EXPECT_FALSE(s.covered(0x3f * P, 0x41 * P));
  EXPECT_TRUE(s.covered(0x35 * P, 0x35 * P)); // empty range
}

TEST(VmaSet, FirstAfter) {
  VmaSet s;
  EXPECT_EQ(s.first_after(0), nullptr);
  s.insert(vma(0x10 * P, 0x20 * P, RW));
  s.insert(vma(0x30 * P, 0x40 * P, RO));
  EXPECT_EQ(s.first_after(0)->start, 0x10 * P);
  EXPECT_EQ(s.first_after(0x18 * P)->start, 0x10 * P); // containing
  EXPECT_EQ(s.first_after(0x20 * P)->start, 0x30 * P); // end is exclusive
  EXPECT_EQ(s.first_after(0x25 * P)->start, 0x30 * P);
  EXPECT_EQ(s.first_after(0x3f * P)->start, 0x30 * P);
  EXPECT_EQ(s.first_after(0x40 * P), nullptr);
}

TEST(VmaSet, FindGapTopdownEmpty) {
  VmaSet s;
  EXPECT_EQ(s.find_gap_topdown(0x10 * P, 0x10 * P, 0x100 * P), 0xf0 * P);
  EXPECT_EQ(s.find_gap_topdown(0xf0 * P, 0x10 * P, 0x100 * P), 0x10 * P); // exactly fits
  EXPECT_EQ(s.find_gap_topdown(0xf1 * P, 0x10 * P, 0x100 * P), std::nullopt);
  EXPECT_EQ(s.find_gap_topdown(0, 0x10 * P, 0x100 * P), std::nullopt);
  EXPECT_EQ(s.find_gap_topdown(P, 0x100 * P, 0x10 * P), std::nullopt);
}

TEST(VmaSet, FindGapTopdownPicksTheHighestFittingGap) {
  VmaSet s;
  // [0x10,0x20) vma, gap 0x20..0x60 (0x40), vma [0x60,0x70), gap 0x70..0x78 (8),
  // vma [0x78,0x90), free above up to hi=0x90.
  s.insert(vma(0x10 * P, 0x20 * P));
  s.insert(vma(0x60 * P, 0x70 * P, RO));
  s.insert(vma(0x78 * P, 0x90 * P));
  const uint64_t lo = 0x8 * P, hi = 0x90 * P;
  EXPECT_EQ(s.find_gap_topdown(0x8 * P, lo, hi), 0x70 * P);  // top of the small gap
  EXPECT_EQ(s.find_gap_topdown(0x2 * P, lo, hi), 0x76 * P);
  EXPECT_EQ(s.find_gap_topdown(0x9 * P, lo, hi), 0x57 * P);  // too big for it: next one down
  EXPECT_EQ(s.find_gap_topdown(0x40 * P, lo, hi), 0x20 * P); // exactly fits
  EXPECT_EQ(s.find_gap_topdown(0x41 * P, lo, hi), std::nullopt);
  // The gap below the lowest VMA is bounded by lo.
  EXPECT_EQ(s.find_gap_topdown(0x8 * P, lo, 0x20 * P), 0x8 * P); // [0x8, 0x10) exactly
  EXPECT_EQ(s.find_gap_topdown(0x9 * P, lo, 0x20 * P), std::nullopt);
  EXPECT_EQ(s.find_gap_topdown(0x8 * P, 0x8 * P, 0x10 * P), 0x8 * P);
  // Space above the top VMA, up to hi.
  EXPECT_EQ(s.find_gap_topdown(0x10 * P, lo, 0xa0 * P), 0x90 * P);
  // hi inside a VMA: the gap below it.
  EXPECT_EQ(s.find_gap_topdown(0x4 * P, lo, 0x80 * P), 0x74 * P);
  // Every result is really free.
  for (uint64_t len = P; len <= 0x40 * P; len += P) {
    auto g = s.find_gap_topdown(len, lo, hi);
    ASSERT_TRUE(g) << len;
    EXPECT_FALSE(s.overlaps(*g, *g + len)) << len;
    EXPECT_GE(*g, lo);
    EXPECT_LE(*g + len, hi);
  }
}

TEST(VmaSet, FindGapTopdownNoneFits) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x30 * P));
  s.insert(vma(0x31 * P, 0x50 * P, RO));
  EXPECT_EQ(s.find_gap_topdown(2 * P, 0x10 * P, 0x50 * P), std::nullopt);
  EXPECT_EQ(s.find_gap_topdown(P, 0x10 * P, 0x50 * P), 0x30 * P);
  EXPECT_EQ(s.find_gap_topdown(P, 0x10 * P, 0x30 * P), std::nullopt); // fully covered
}

TEST(VmaSet, GrowDown) {
  VmaSet s;
  s.insert(vma(0x100 * P, 0x110 * P, RW, Vma::kGrowsDown, "[stack]"));
  s.insert(vma(0x80 * P, 0x90 * P, RO));
  s.grow_down(0x100 * P, 0xf0 * P);
  ASSERT_EQ(s.size(), 2u);
  const Vma* st = s.find(0xf0 * P);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->start, 0xf0 * P);
  EXPECT_EQ(st->end, 0x110 * P);
  EXPECT_EQ(st->flags, uint32_t(Vma::kGrowsDown));
  EXPECT_EQ(st->name, "[stack]");
  EXPECT_EQ(s.find(0x10f * P), st);
  EXPECT_EQ(s.find(0xef * P), nullptr);
  EXPECT_THROW(s.grow_down(0x123 * P, 0x120 * P), std::logic_error);
}

TEST(VmaSet, ResizeEnd) {
  VmaSet s;
  s.insert(vma(0x10 * P, 0x11 * P, RW, Vma::kHeap, "[heap]"));
  s.resize_end(0x10 * P, 0x18 * P);
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x18 * P, RW}}));
  s.resize_end(0x10 * P, 0x12 * P);
  EXPECT_EQ(spans(s), (std::vector<Span>{{0x10 * P, 0x12 * P, RW}}));
  EXPECT_THROW(s.resize_end(0x10 * P, 0x10 * P), std::logic_error);
}

} // namespace
} // namespace gk::mm
