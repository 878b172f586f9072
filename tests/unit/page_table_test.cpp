#include "mm/page_table.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <utility>
#include <vector>

#include "arch-um/stub_abi.h"
#include "mm/physmem.h"
#include "mm/pte.h"

namespace gk::mm {
namespace {

constexpr uint64_t kPml4Span = 1ULL << 39;
constexpr uint64_t kPdptSpan = 1ULL << 30;
constexpr uint64_t kPdSpan = 1ULL << 21;

class PageTableTest : public ::testing::Test {
protected:
  PhysMem pm{8ULL << 20};

  uint64_t anon_frame() {
    auto p = pm.alloc_zeroed(FrameKind::Anon);
    EXPECT_TRUE(p);
    return p.value_or(0);
  }

  // Every table frame reachable from the root (root included).
  std::vector<uint64_t> table_pfns(const PageTable& pt) {
    std::vector<uint64_t> out;
    collect(pt.root_pfn(), 3, out);
    return out;
  }

private:
  void collect(uint64_t pfn, int level, std::vector<uint64_t>& out) {
    out.push_back(pfn);
    if (level == 0) return;
    auto* t = reinterpret_cast<const uint64_t*>(pm.frame_ptr(pfn));
    for (unsigned i = 0; i < 512; ++i)
      if (t[i] & pte::P) collect(pte::pfn(t[i]), level - 1, out);
  }
};

TEST_F(PageTableTest, RootIsOnePageTableFrame) {
  uint64_t before = pm.buddy().free_frames();
  PageTable pt(pm);
  EXPECT_EQ(pt.table_frames(), 1u);
  EXPECT_EQ(pm.buddy().free_frames(), before - 1);
  EXPECT_EQ(pm.buddy().frame(pt.root_pfn()).kind, FrameKind::PageTable);
  EXPECT_EQ(pt.lookup(0x400000), nullptr);
}

TEST_F(PageTableTest, EnsureCreatesThreeLevelsForTheFirstAddress) {
  PageTable pt(pm);
  uint64_t before = pm.buddy().free_frames();
  uint64_t* e = pt.ensure(0x400000);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(*e, 0u);
  EXPECT_EQ(pt.table_frames(), 4u);
  EXPECT_EQ(pm.buddy().free_frames(), before - 3);
  // Same PT: nothing new; lookup finds the very same slot.
  EXPECT_EQ(pt.ensure(0x401000), e + 1);
  EXPECT_EQ(pt.table_frames(), 4u);
  EXPECT_EQ(pt.lookup(0x400000), e);
  EXPECT_EQ(pt.lookup(0x400fff), e);
  // A new PD entry under the same PDPT needs one PT.
  ASSERT_NE(pt.ensure(0x400000 + kPdSpan), nullptr);
  EXPECT_EQ(pt.table_frames(), 5u);
  // A new PDPT entry needs a PD and a PT.
  ASSERT_NE(pt.ensure(0x400000 + kPdptSpan), nullptr);
  EXPECT_EQ(pt.table_frames(), 7u);
  EXPECT_EQ(pm.buddy().free_frames(), before - 6);
}

TEST_F(PageTableTest, PageTableFramesAreMarkedAsSuch) {
  PageTable pt(pm);
  ASSERT_NE(pt.ensure(0x400000), nullptr);
  ASSERT_NE(pt.ensure(3 * kPml4Span + 0x1000), nullptr);
  std::vector<uint64_t> tables = table_pfns(pt);
  ASSERT_EQ(tables.size(), pt.table_frames());
  EXPECT_EQ(tables.size(), 7u);
  for (uint64_t p : tables) {
    EXPECT_EQ(pm.buddy().frame(p).kind, FrameKind::PageTable) << p;
    EXPECT_EQ(pm.buddy().frame(p).refcount, 1u) << p;
  }
  EXPECT_EQ(pm.buddy().count_kind(FrameKind::PageTable), 7u);
}

TEST_F(PageTableTest, LookupInAnotherPml4SlotIsNull) {
  PageTable pt(pm);
  ASSERT_NE(pt.ensure(0x400000), nullptr);
  EXPECT_EQ(pt.lookup(kPml4Span + 0x400000), nullptr);
  EXPECT_EQ(pt.lookup(0x400000 + kPdptSpan), nullptr); // same PML4 slot, missing PD
  EXPECT_EQ(pt.lookup(0x400000 + kPdSpan), nullptr);   // same PD, missing PT
  EXPECT_NE(pt.lookup(0x400000 + 511 * kPageSize), nullptr);
}

TEST_F(PageTableTest, LeafRoundTrip) {
  PageTable pt(pm);
  uint64_t pfn = anon_frame();
  uint64_t flags = pte::flags_for_prot(PROT_READ | PROT_WRITE) | pte::A;
  *pt.ensure(0x7000'0000'0000ULL) = pte::make(pfn, flags);
  uint64_t* e = pt.lookup(0x7000'0000'0123ULL);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(pte::pfn(*e), pfn);
  EXPECT_EQ(*e & ~pte::kAddrMask, flags);
  EXPECT_TRUE(*e & pte::P);
  EXPECT_TRUE(*e & pte::RW);
  EXPECT_EQ(pte::make(0xabcde, 0) >> 12, 0xabcdeu);
  EXPECT_EQ(pte::pfn(pte::make(0xabcde, pte::NX | pte::P | pte::COW)), 0xabcdeu);
  pm.put(pfn);
}

struct Leaf {
  uint64_t va;
  uint64_t entry;
};

TEST_F(PageTableTest, ForEachVisitsExactlyTheSetLeavesInOrder) {
  PageTable pt(pm);
  const std::vector<uint64_t> vas = {
      0x400000, 0x401000, 0x5ff000, 0x600000,   // two PTs in one PD
      kPdptSpan + 0x1000,                       // another PD
      2 * kPml4Span + 0x7000,                   // another PML4 slot
      stub::kUserTop - kPageSize,               // the top user page
  };
  std::vector<Leaf> want;
  for (size_t i = 0; i < vas.size(); ++i) {
    uint64_t e = pte::make(1000 + i, pte::P | pte::US);
    *pt.ensure(vas[i]) = e;
    want.push_back({vas[i], e});
  }
  // A zeroed slot next to a set one is not visited.
  ASSERT_EQ(*pt.ensure(0x402000), 0u);

  std::vector<Leaf> got;
  pt.for_each(0, stub::kUserTop, [&](uint64_t va, uint64_t& e) { got.push_back({va, e}); });
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].va, want[i].va) << i;
    EXPECT_EQ(got[i].entry, want[i].entry) << i;
  }

  // for_each hands out the entry itself.
  pt.for_each(0x600000, 0x601000, [](uint64_t, uint64_t& e) { e |= pte::D; });
  EXPECT_TRUE(*pt.lookup(0x600000) & pte::D);
  EXPECT_FALSE(*pt.lookup(0x5ff000) & pte::D);
}

TEST_F(PageTableTest, ForEachSubRange) {
  PageTable pt(pm);
  const std::vector<uint64_t> vas = {0x400000, 0x401000, 0x5ff000, 0x600000, kPdptSpan + 0x1000,
                                     2 * kPml4Span + 0x7000};
  for (uint64_t va : vas) *pt.ensure(va) = pte::make(7, pte::P);

  auto visit = [&](uint64_t s, uint64_t e) {
    std::vector<uint64_t> out;
    pt.for_each(s, e, [&](uint64_t va, uint64_t&) { out.push_back(va); });
    return out;
  };
  EXPECT_EQ(visit(0x401000, 0x600000), (std::vector<uint64_t>{0x401000, 0x5ff000}));
  EXPECT_EQ(visit(0x401000, 0x600001), (std::vector<uint64_t>{0x401000, 0x5ff000, 0x600000}));
  EXPECT_EQ(visit(0x402000, kPml4Span), (std::vector<uint64_t>{0x5ff000, 0x600000, kPdptSpan + 0x1000}));
  EXPECT_EQ(visit(kPdptSpan + 0x1000, 3 * kPml4Span),
            (std::vector<uint64_t>{kPdptSpan + 0x1000, 2 * kPml4Span + 0x7000}));
  EXPECT_TRUE(visit(0x602000, kPdptSpan).empty());
  EXPECT_TRUE(visit(0x600000, 0x600000).empty());
  EXPECT_TRUE(visit(0x600000, 0x400000).empty());
}

TEST_F(PageTableTest, PruneFreesEmptiedTables) {
  const uint64_t start_free = pm.buddy().free_frames();
  {
    PageTable pt(pm);
    const uint64_t after_root = pm.buddy().free_frames();
    std::vector<uint64_t> leaves;
    const std::vector<uint64_t> vas = {0x400000, 0x600000, kPdptSpan + 0x1000, 2 * kPml4Span};
    for (uint64_t va : vas) {
      uint64_t pfn = anon_frame();
      leaves.push_back(pfn);
      *pt.ensure(va) = pte::make(pfn, pte::flags_for_prot(PROT_READ));
    }
    EXPECT_EQ(pt.table_frames(), 1u + 3 + 1 + 2 + 3);

    // Pruning while leaves remain frees nothing.
    pt.prune(0, stub::kUserTop);
    EXPECT_EQ(pt.table_frames(), 10u);

    // Clear one PT's only leaf: just that PT goes.
    *pt.lookup(0x600000) = 0;
    pt.prune(0x600000, 0x601000);
    EXPECT_EQ(pt.table_frames(), 9u);
    EXPECT_EQ(pt.lookup(0x600000), nullptr);
    ASSERT_NE(pt.lookup(0x400000), nullptr);
    EXPECT_EQ(pte::pfn(*pt.lookup(0x400000)), leaves[0]);

    // Clear the rest through for_each, return the leaves, prune everything.
    pt.for_each(0, stub::kUserTop, [&](uint64_t, uint64_t& e) {
      pm.put(pte::pfn(e));
      e = 0;
    });
    pm.put(leaves[1]);
    pt.prune(0, stub::kUserTop);
    EXPECT_EQ(pt.table_frames(), 1u);
    EXPECT_EQ(pm.buddy().free_frames(), after_root);
    EXPECT_EQ(pm.buddy().count_kind(FrameKind::PageTable), 1u);
    EXPECT_EQ(pt.lookup(0x400000), nullptr);
    // The root is still usable.
    ASSERT_NE(pt.ensure(0x400000), nullptr);
    EXPECT_EQ(pt.table_frames(), 4u);
  }
  EXPECT_EQ(pm.buddy().free_frames(), start_free);
}

TEST_F(PageTableTest, PruneOutsideTheRangeKeepsEmptyTables) {
  PageTable pt(pm);
  ASSERT_NE(pt.ensure(0x400000), nullptr); // empty PT, never filled
  ASSERT_NE(pt.ensure(kPdptSpan), nullptr);
  EXPECT_EQ(pt.table_frames(), 6u);
  pt.prune(kPdptSpan, 2 * kPdptSpan);
  EXPECT_EQ(pt.table_frames(), 4u);
  EXPECT_NE(pt.lookup(0x400000), nullptr);
  EXPECT_EQ(pt.lookup(kPdptSpan), nullptr);
}

TEST_F(PageTableTest, DestructorFreesTablesButNotLeaves) {
  uint64_t before = pm.buddy().free_frames();
  uint64_t leaf = anon_frame();
  {
    PageTable pt(pm);
    *pt.ensure(0x400000) = pte::make(leaf, pte::flags_for_prot(PROT_READ));
    *pt.ensure(5 * kPml4Span) = pte::make(leaf, pte::flags_for_prot(PROT_READ));
  }
  EXPECT_EQ(pm.buddy().free_frames(), before - 1);
  EXPECT_EQ(pm.buddy().frame(leaf).kind, FrameKind::Anon);
  EXPECT_EQ(pm.buddy().count_kind(FrameKind::PageTable), 0u);
  pm.put(leaf);
  EXPECT_EQ(pm.buddy().free_frames(), before);
}

TEST(Pte, FlagsForProt) {
  uint64_t r = pte::flags_for_prot(PROT_READ);
  EXPECT_TRUE(r & pte::P);
  EXPECT_TRUE(r & pte::US);
  EXPECT_FALSE(r & pte::RW);
  EXPECT_TRUE(r & pte::NX);
  uint64_t rw = pte::flags_for_prot(PROT_READ | PROT_WRITE);
  EXPECT_TRUE(rw & pte::RW);
  EXPECT_TRUE(rw & pte::NX);
  uint64_t rx = pte::flags_for_prot(PROT_READ | PROT_EXEC);
  EXPECT_FALSE(rx & pte::RW);
  EXPECT_FALSE(rx & pte::NX);
  // Software bits are never produced from a prot.
  for (int prot : {PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE | PROT_EXEC})
    EXPECT_EQ(pte::flags_for_prot(prot) & (pte::HOSTMAPPED | pte::COW | pte::SOFTDIRTY | pte::A | pte::D),
              0u);
}

TEST(Pte, ProtRoundTrip) {
  for (int prot : {PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
                   PROT_READ | PROT_WRITE | PROT_EXEC})
    EXPECT_EQ(pte::prot_of(pte::flags_for_prot(prot)), prot) << prot;
  // x86 cannot express write- or exec-only: they imply read.
  EXPECT_EQ(pte::prot_of(pte::flags_for_prot(PROT_WRITE)), PROT_READ | PROT_WRITE);
  EXPECT_EQ(pte::prot_of(pte::flags_for_prot(PROT_EXEC)), PROT_READ | PROT_EXEC);
  // A non-present entry mirrors as nothing.
  EXPECT_EQ(pte::prot_of(0), PROT_NONE);
  EXPECT_EQ(pte::prot_of(pte::make(5, pte::RW | pte::US)), PROT_NONE);
}

// PROT_NONE keeps the frame present for the kernel but is not a user page, and
// mirrors as PROT_NONE (regression: it used to be P|US|NX, i.e. PROT_READ).
TEST(Pte, ProtNoneIsNotUserAccessible) {
  EXPECT_TRUE(pte::flags_for_prot(PROT_NONE) & pte::P);
  uint64_t none = pte::flags_for_prot(PROT_NONE);
  EXPECT_FALSE(none & pte::US);
  EXPECT_FALSE(none & pte::RW);
  EXPECT_EQ(pte::prot_of(none), PROT_NONE);
  EXPECT_EQ(pte::prot_of(pte::make(9, none)), PROT_NONE);
}

TEST(Pte, Describe) {
  char buf[16];
  EXPECT_STREQ(pte::describe(pte::flags_for_prot(PROT_READ | PROT_WRITE) | pte::A | pte::HOSTMAPPED, buf),
               "rw-a--h");
  EXPECT_STREQ(pte::describe(pte::flags_for_prot(PROT_READ | PROT_EXEC) | pte::COW | pte::D, buf), "r-x-dc-");
  EXPECT_STREQ(pte::describe(0, buf), "-------");
}

TEST(PageTableIndex, KnownAddresses) {
  uint64_t va = 3 * kPml4Span + 5 * kPdptSpan + 7 * kPdSpan + 9 * kPageSize + 0x123;
  EXPECT_EQ(PageTable::index(va, 3), 3u);
  EXPECT_EQ(PageTable::index(va, 2), 5u);
  EXPECT_EQ(PageTable::index(va, 1), 7u);
  EXPECT_EQ(PageTable::index(va, 0), 9u);
  EXPECT_EQ(PageTable::index(0x400000, 0), 0u);
  EXPECT_EQ(PageTable::index(0x400000, 1), 2u);
  EXPECT_EQ(PageTable::index(0x401fff, 0), 1u);
  uint64_t top = stub::kUserTop - 1; // 0x7fbf_ffff_ffff
  EXPECT_EQ(PageTable::index(top, 3), 0xffu);
  EXPECT_EQ(PageTable::index(top, 2), 255u);
  EXPECT_EQ(PageTable::index(top, 1), 511u);
  EXPECT_EQ(PageTable::index(top, 0), 511u);
  EXPECT_EQ(PageTable::index(stub::kUserTop, 3), 0xffu);
  EXPECT_EQ(PageTable::index(stub::kUserTop, 2), 256u);
  EXPECT_EQ(PageTable::index(stub::kUserTop, 1), 0u);
  EXPECT_EQ(PageTable::index((1ULL << 47) - 1, 3), 255u);
  EXPECT_EQ(PageTable::index((1ULL << 48) - 1, 3), 511u);
}

} // namespace
} // namespace gk::mm
