#include "mm/host_mmu.h"

#include <asm/unistd.h>
#include <gtest/gtest.h>
#include <linux/mman.h>
#include <sys/mman.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <vector>

#include "arch-um/stub_abi.h"
#include "mm/frame.h"
#include "tests/unit/fake_stub_channel.h"

namespace gk::mm {
namespace {

using test::FakeStubChannel;

constexpr uint64_t kPhys = 64ULL << 20;
constexpr uint64_t kVa = 0x1000'0000;
constexpr int RW = PROT_READ | PROT_WRITE;
constexpr int RO = PROT_READ;

uint64_t calls(const MmuStats& s, HostCall c) { return s.calls[size_t(c)]; }
uint64_t total_calls(const MmuStats& s) {
  uint64_t n = 0;
  for (size_t i = 0; i < size_t(HostCall::Count); ++i) n += s.calls[i];
  return n;
}

void expect_op(const stub::Op& o, long nr, std::vector<uint64_t> args) {
  EXPECT_EQ(o.nr, uint64_t(nr));
  for (size_t i = 0; i < args.size(); ++i) EXPECT_EQ(o.args[i], args[i]) << "nr " << nr << " arg " << i;
}

constexpr uint64_t kMmapFlags = MAP_SHARED | MAP_FIXED;

TEST(HostMmu, ContiguousMapsCoalesceIntoOneMmap) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  EXPECT_FALSE(mmu.pending());
  for (uint64_t i = 0; i < 16; ++i) mmu.map(kVa + i * kPageSize, 100 + i, 1, RW, RW, false);
  EXPECT_TRUE(mmu.pending());
  EXPECT_EQ(mmu.flush(ch), HostMmu::Flush::Done);
  EXPECT_FALSE(mmu.pending());
  ASSERT_EQ(ch.batches.size(), 1u);
  ASSERT_EQ(ch.batches[0].count, 1u);
  expect_op(ch.batches[0].ops[0], __NR_mmap,
            {kVa, 16 * kPageSize, uint64_t(RW), kMmapFlags, uint64_t(stub::kPhysFd), 100 * kPageSize});
  EXPECT_EQ(ch.ops().count, 1u);
  EXPECT_EQ(st.queued, 16u);
  EXPECT_EQ(st.coalesced, 15u);
  EXPECT_EQ(st.pages_mapped, 16u);
  EXPECT_EQ(st.batches, 1u);
  EXPECT_EQ(calls(st, HostCall::Mmap), 1u);
  EXPECT_EQ(total_calls(st), 1u);
  EXPECT_EQ(st.cycles[size_t(HostCall::Mmap)], FakeStubChannel::kCycles);

  // Nothing queued: flushing again runs nothing.
  EXPECT_EQ(mmu.flush(ch), HostMmu::Flush::Done);
  EXPECT_EQ(ch.batches.size(), 1u);
}

TEST(HostMmu, MultiPageMapsContinueEachOther) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  mmu.map(kVa, 10, 4, RO, RO, false);
  mmu.map(kVa + 4 * kPageSize, 14, 3, RO, RO, false);
  mmu.flush(ch);
  ASSERT_EQ(ch.all_ops().size(), 1u);
  expect_op(ch.all_ops()[0], __NR_mmap, {kVa, 7 * kPageSize, uint64_t(RO), kMmapFlags,
                                         uint64_t(stub::kPhysFd), 10 * kPageSize});
  EXPECT_EQ(st.pages_mapped, 7u);
}

TEST(HostMmu, ScatteredFramesAreNotCoalesced) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  for (uint64_t i = 0; i < 16; ++i) mmu.map(kVa + i * kPageSize, 100 + 2 * i, 1, RW, RW, false);
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 16u);
  for (uint64_t i = 0; i < 16; ++i)
    expect_op(ops[i], __NR_mmap, {kVa + i * kPageSize, kPageSize, uint64_t(RW), kMmapFlags,
                                  uint64_t(stub::kPhysFd), (100 + 2 * i) * kPageSize});
  EXPECT_EQ(st.coalesced, 0u);
  EXPECT_EQ(calls(st, HostCall::Mmap), 16u);
}

TEST(HostMmu, NonContiguousVaOrDescendingFramesAreNotCoalesced) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  mmu.map(kVa, 100, 1, RW, RW, false);
  mmu.map(kVa + 2 * kPageSize, 101, 1, RW, RW, false); // va hole
  mmu.map(kVa + 3 * kPageSize, 100, 1, RW, RW, false); // frames going down
  mmu.map(kVa + 2 * kPageSize, 102, 1, RW, RW, false); // va going down
  mmu.flush(ch);
  EXPECT_EQ(ch.all_ops().size(), 4u);
  EXPECT_EQ(st.coalesced, 0u);
}

TEST(HostMmu, ProtChangeBreaksTheRun) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  for (uint64_t i = 0; i < 16; ++i) mmu.map(kVa + i * kPageSize, 100 + i, 1, i < 8 ? RW : RO, RW, false);
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 2u);
  expect_op(ops[0], __NR_mmap, {kVa, 8 * kPageSize, uint64_t(RW), kMmapFlags, uint64_t(stub::kPhysFd),
                                100 * kPageSize});
  expect_op(ops[1], __NR_mmap, {kVa + 8 * kPageSize, 8 * kPageSize, uint64_t(RO), kMmapFlags,
                                uint64_t(stub::kPhysFd), 108 * kPageSize});
  EXPECT_EQ(st.coalesced, 14u);
}

TEST(HostMmu, DifferentVmaProtOrReplaceBreaksTheRun) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  mmu.map(kVa, 100, 1, RO, RO, false);
  mmu.map(kVa + kPageSize, 101, 1, RO, RW, false);
  mmu.map(kVa + 2 * kPageSize, 102, 1, RO, RW, true);
  mmu.flush(ch);
  EXPECT_EQ(ch.all_ops().size(), 3u);
}

TEST(HostMmu, MremapBackendExpandsMapIntoMremapAndMprotect) {
  MmuStats st;
  HostMmu mmu(Backend::Mremap, kPhys, st);
  FakeStubChannel ch;
  for (uint64_t i = 0; i < 4; ++i) mmu.map(kVa + i * kPageSize, 300 + i, 1, RO, RW, false);
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 2u);
  expect_op(ops[0], __NR_mremap, {stub::kWindow + 300 * kPageSize, 0, 4 * kPageSize,
                                  MREMAP_MAYMOVE | MREMAP_FIXED, kVa});
  expect_op(ops[1], __NR_mprotect, {kVa, 4 * kPageSize, uint64_t(RO)});
  EXPECT_EQ(calls(st, HostCall::Mremap), 1u);
  EXPECT_EQ(calls(st, HostCall::Mprotect), 1u);
  EXPECT_EQ(total_calls(st), 2u);
}

TEST(HostMmu, MremapSetupChildMapsTheWindow) {
  MmuStats st;
  HostMmu mmu(Backend::Mremap, kPhys, st);
  FakeStubChannel ch;
  mmu.setup_child();
  ASSERT_TRUE(mmu.pending());
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 1u);
  expect_op(ops[0], __NR_mmap, {stub::kWindow, kPhys, uint64_t(PROT_NONE), kMmapFlags,
                                uint64_t(stub::kPhysFd), 0});
  EXPECT_EQ(calls(st, HostCall::Mmap), 1u);
}

TEST(HostMmu, OtherBackendsNeedNoChildSetup) {
  for (Backend b : {Backend::Mmap, Backend::Rfp}) {
    MmuStats st;
    HostMmu mmu(b, kPhys, st);
    mmu.setup_child();
    EXPECT_FALSE(mmu.pending()) << backend_name(b);
  }
}

TEST(HostMmu, RfpMapWithVmaProtIsOneRemapFilePages) {
  MmuStats st;
  HostMmu mmu(Backend::Rfp, kPhys, st);
  FakeStubChannel ch;
  for (uint64_t i = 0; i < 5; ++i) mmu.map(kVa + i * kPageSize, 40 + i, 1, RW, RW, false);
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 1u);
  expect_op(ops[0], __NR_remap_file_pages, {kVa, 5 * kPageSize, 0, 40, 0});
  EXPECT_EQ(calls(st, HostCall::Rfp), 1u);
  EXPECT_EQ(total_calls(st), 1u);
}

TEST(HostMmu, RfpMapWithOtherProtProtectsFirst) {
  MmuStats st;
  HostMmu mmu(Backend::Rfp, kPhys, st);
  FakeStubChannel ch;
  mmu.map(kVa, 40, 2, RO, RW, false);
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 2u);
  expect_op(ops[0], __NR_mprotect, {kVa, 2 * kPageSize, uint64_t(RO)});
  expect_op(ops[1], __NR_remap_file_pages, {kVa, 2 * kPageSize, 0, 40, 0});
  EXPECT_EQ(calls(st, HostCall::Mprotect), 1u);
  EXPECT_EQ(calls(st, HostCall::Rfp), 1u);
}

TEST(HostMmu, RfpReplaceReprotectsEvenWithVmaProt) {
  MmuStats st;
  HostMmu mmu(Backend::Rfp, kPhys, st);
  FakeStubChannel ch;
  mmu.map(kVa, 40, 1, RW, RW, true);
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 2u);
  expect_op(ops[0], __NR_mprotect, {kVa, kPageSize, uint64_t(RW)});
  expect_op(ops[1], __NR_remap_file_pages, {kVa, kPageSize, 0, 40, 0});
}

TEST(HostMmu, RfpReserveAndDropMapPastTheEndOfPhysmem) {
  MmuStats st;
  HostMmu mmu(Backend::Rfp, kPhys, st);
  FakeStubChannel ch;
  EXPECT_TRUE(mmu.needs_vma_reserve());
  mmu.reserve(kVa, 8, RW);
  mmu.drop(kVa + 0x100000, 2, RO);
  mmu.release(kVa + 0x200000, 3);
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 3u);
  expect_op(ops[0], __NR_mmap, {kVa, 8 * kPageSize, uint64_t(RW), kMmapFlags, uint64_t(stub::kPhysFd), kPhys});
  expect_op(ops[1], __NR_mmap, {kVa + 0x100000, 2 * kPageSize, uint64_t(RO), kMmapFlags,
                                uint64_t(stub::kPhysFd), kPhys});
  expect_op(ops[2], __NR_munmap, {kVa + 0x200000, 3 * kPageSize});
  EXPECT_EQ(calls(st, HostCall::Mmap), 2u);
  EXPECT_EQ(calls(st, HostCall::Munmap), 1u);
}

TEST(HostMmu, MmapBackendDropIsMunmapAndReserveIsNothing) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  EXPECT_FALSE(mmu.needs_vma_reserve());
  mmu.reserve(kVa, 8, RW);
  EXPECT_FALSE(mmu.pending());
  mmu.drop(kVa, 2, RW);
  mmu.drop(kVa + 2 * kPageSize, 3, RW); // coalesces
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 1u);
  expect_op(ops[0], __NR_munmap, {kVa, 5 * kPageSize});
}

TEST(HostMmu, ProtectsCoalesce) {
  MmuStats st;
  HostMmu mmu(Backend::Mremap, kPhys, st);
  FakeStubChannel ch;
  for (uint64_t i = 0; i < 6; ++i) mmu.protect(kVa + i * kPageSize, 1, RO);
  mmu.protect(kVa + 6 * kPageSize, 1, RW); // other prot
  mmu.flush(ch);
  auto ops = ch.all_ops();
  ASSERT_EQ(ops.size(), 2u);
  expect_op(ops[0], __NR_mprotect, {kVa, 6 * kPageSize, uint64_t(RO)});
  expect_op(ops[1], __NR_mprotect, {kVa + 6 * kPageSize, kPageSize, uint64_t(RW)});
  EXPECT_EQ(st.queued, 7u);
  EXPECT_EQ(st.coalesced, 5u);
  EXPECT_EQ(st.pages_mapped, 0u);
}

TEST(HostMmu, StatsAddUp) {
  MmuStats st;
  HostMmu mmu(Backend::Mremap, kPhys, st);
  FakeStubChannel ch;
  mmu.setup_child();                                                    // 1 op: mmap
  for (uint64_t i = 0; i < 10; ++i) mmu.map(kVa + i * kPageSize, 7 + i, 1, RW, RW, false); // mremap+mprotect
  mmu.map(kVa + 0x100000, 500, 1, RO, RO, false);                       // mremap+mprotect
  mmu.protect(kVa, 2, RO);                                              // mprotect
  mmu.release(kVa + 0x200000, 4);                                       // munmap
  mmu.drop(kVa + 0x300000, 1, RW);                                      // munmap
  EXPECT_EQ(mmu.flush(ch), HostMmu::Flush::Done);

  EXPECT_EQ(st.queued, 1u + 10 + 1 + 1 + 1 + 1);
  EXPECT_EQ(st.coalesced, 9u);
  EXPECT_EQ(st.pages_mapped, 11u);
  EXPECT_EQ(st.batches, ch.batches.size());
  EXPECT_EQ(st.batches, 1u);
  EXPECT_EQ(calls(st, HostCall::Mmap), 1u);
  EXPECT_EQ(calls(st, HostCall::Mremap), 2u);
  EXPECT_EQ(calls(st, HostCall::Mprotect), 3u);
  EXPECT_EQ(calls(st, HostCall::Munmap), 2u);
  EXPECT_EQ(calls(st, HostCall::Rfp), 0u);
  EXPECT_EQ(total_calls(st), ch.all_ops().size());
  EXPECT_EQ(total_calls(st), 8u);
  uint64_t cycles = 0;
  for (size_t i = 0; i < size_t(HostCall::Count); ++i) cycles += st.cycles[i];
  EXPECT_EQ(cycles, 8 * FakeStubChannel::kCycles);
  EXPECT_EQ(st.evictions, 0u);

  // Stats accumulate over flushes.
  mmu.map(kVa, 1, 1, RW, RW, false);
  mmu.flush(ch);
  EXPECT_EQ(st.batches, 2u);
  EXPECT_EQ(calls(st, HostCall::Mremap), 3u);
  EXPECT_EQ(st.queued, 16u);
}

TEST(HostMmu, EnomemMidBatchEvictsEverything) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  for (uint64_t i = 0; i < 10; ++i) mmu.map(kVa + i * kPageSize, 100 + 2 * i, 1, RW, RW, false);
  ch.fail_at(0, 4, ENOMEM);
  EXPECT_EQ(mmu.flush(ch), HostMmu::Flush::Evicted);
  EXPECT_FALSE(mmu.pending()); // the rest is dropped, not retried
  EXPECT_EQ(st.evictions, 1u);
  ASSERT_EQ(ch.batches.size(), 2u);
  EXPECT_EQ(ch.batches[0].count, 10u);
  EXPECT_EQ(ch.batches[0].done, 5u);
  ASSERT_EQ(ch.batches[1].count, 1u);
  expect_op(ch.batches[1].ops[0], __NR_munmap, {0, stub::kUserTop});
  EXPECT_EQ(st.batches, 2u);
  EXPECT_EQ(calls(st, HostCall::Mmap), 5u); // the ops that ran, the failed one included
  EXPECT_EQ(calls(st, HostCall::Munmap), 1u);

  // The MMU keeps working afterwards.
  mmu.map(kVa, 100, 1, RW, RW, false);
  EXPECT_EQ(mmu.flush(ch), HostMmu::Flush::Done);
  EXPECT_EQ(ch.batches.size(), 3u);
  EXPECT_EQ(st.evictions, 1u);
}

TEST(HostMmu, EnomemOnTheLastOpOfABatchEvictsToo) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  for (uint64_t i = 0; i < 3; ++i) mmu.map(kVa + i * kPageSize, 100 + 2 * i, 1, RW, RW, false);
  ch.fail_at(0, 2, ENOMEM); // done == count
  EXPECT_EQ(mmu.flush(ch), HostMmu::Flush::Evicted);
  EXPECT_EQ(st.evictions, 1u);
  ASSERT_EQ(ch.batches.size(), 2u);
  expect_op(ch.batches[1].ops[0], __NR_munmap, {0, stub::kUserTop});
}

TEST(HostMmu, OtherHostErrorsThrow) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  mmu.map(kVa, 100, 1, RW, RW, false);
  mmu.map(kVa + 4 * kPageSize, 100, 1, RW, RW, false);
  ch.fail_at(0, 1, EINVAL);
  EXPECT_THROW(mmu.flush(ch), std::runtime_error);
  EXPECT_EQ(st.evictions, 0u);
  EXPECT_EQ(ch.batches.size(), 1u);
}

TEST(HostMmu, LongQueuesAreSplitIntoBatchesOfMaxOps) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  const uint64_t n = stub::kMaxOps + 500;
  for (uint64_t i = 0; i < n; ++i) mmu.map(kVa + i * kPageSize, 2 * i, 1, RW, RW, false);
  EXPECT_EQ(mmu.flush(ch), HostMmu::Flush::Done);
  ASSERT_EQ(ch.batches.size(), 2u);
  EXPECT_EQ(ch.batches[0].count, stub::kMaxOps);
  EXPECT_EQ(ch.batches[1].count, 500u);
  // Order is kept across the split.
  EXPECT_EQ(ch.batches[0].ops[0].args[0], kVa);
  EXPECT_EQ(ch.batches[0].ops[stub::kMaxOps - 1].args[0], kVa + (stub::kMaxOps - 1) * kPageSize);
  EXPECT_EQ(ch.batches[1].ops[0].args[0], kVa + stub::kMaxOps * kPageSize);
  EXPECT_EQ(ch.batches[1].ops[499].args[5], 2 * (n - 1) * kPageSize);
  EXPECT_EQ(st.batches, 2u);
  EXPECT_EQ(calls(st, HostCall::Mmap), n);
}

TEST(HostMmu, EnomemInALaterBatchEvictsAfterEarlierBatchesRan) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  const uint64_t n = 2 * stub::kMaxOps + 10; // three batches
  for (uint64_t i = 0; i < n; ++i) mmu.map(kVa + i * kPageSize, 2 * i, 1, RW, RW, false);
  ch.fail_at(1, 0, ENOMEM);
  EXPECT_EQ(mmu.flush(ch), HostMmu::Flush::Evicted);
  ASSERT_EQ(ch.batches.size(), 3u); // full, failed, eviction; the third never ran
  EXPECT_EQ(ch.batches[0].done, stub::kMaxOps);
  EXPECT_EQ(ch.batches[1].done, 1u);
  expect_op(ch.batches[2].ops[0], __NR_munmap, {0, stub::kUserTop});
  EXPECT_EQ(calls(st, HostCall::Mmap), uint64_t(stub::kMaxOps) + 1);
  EXPECT_EQ(st.batches, 3u);
  EXPECT_EQ(st.evictions, 1u);
}

TEST(HostMmu, TraceSeesQueuedOpsAndHostCalls) {
  MmuStats st;
  HostMmu mmu(Backend::Mmap, kPhys, st);
  FakeStubChannel ch;
  std::vector<std::string> lines;
  mmu.trace = [&](std::string_view s) { lines.emplace_back(s); };
  mmu.map(kVa, 0x42, 1, RW, RW, false);
  mmu.map(kVa + kPageSize, 0x43, 1, RW, RW, false);
  mmu.flush(ch);
  // Each op as it is queued (and coalesced), then the batch, the op and the
  // host call it became, with the stub's measured cost.
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_NE(lines[0].find("mmu queue map va=0x10000000 pages=1 pfn=0x42 prot=rw-"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("(coalesced: the op at 0x10000000 now has 2 pages)"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("mmu flush: 1 queued ops -> 1 host calls"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("mmu map va=0x10000000 pages=2 pfn=0x42 prot=rw-"), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find("host mmap(0x10000000, 0x2000, 0x3, 0x11, "), std::string::npos) << lines[4];
  EXPECT_NE(lines[4].find(", 0x42000) = "), std::string::npos) << lines[4];
  EXPECT_NE(lines[4].find(" us in the stub]"), std::string::npos) << lines[4];
}

TEST(HostMmu, BackendNames) {
  for (Backend b : {Backend::Rfp, Backend::Mremap, Backend::Mmap}) {
    auto parsed = parse_backend(backend_name(b));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, b);
  }
  EXPECT_FALSE(parse_backend("mmap2"));
  EXPECT_FALSE(parse_backend(""));
  EXPECT_STREQ(host_call_name(HostCall::Rfp), "remap_file_pages");
  EXPECT_STREQ(host_call_name(HostCall::Mremap), "mremap");
}

} // namespace
} // namespace gk::mm
