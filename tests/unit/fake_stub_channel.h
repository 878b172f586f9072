// A StubChannel that runs nothing: it records every batch the host MMU hands
// to the "stub" and answers with ret=0 for each op, or with an injected
// failure at a chosen op, stopping there like the real stub does.
#pragma once
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "arch-um/stub_abi.h"
#include "mm/host_mmu.h"

namespace gk::test {

struct RecordedBatch {
  uint32_t count = 0;           // ops handed over
  uint32_t done = 0;            // ops "run"
  std::vector<stub::Op> ops;    // the `count` ops, as the stub saw them
};

class FakeStubChannel : public mm::StubChannel {
public:
  static constexpr uint64_t kCycles = 7; // reported per op

  FakeStubChannel()
      : ops_(std::make_unique<stub::OpsPage>()), results_(std::make_unique<stub::ResultPage>()) {}

  stub::OpsPage& ops() override { return *ops_; }
  const stub::ResultPage& results() override { return *results_; }

  uint32_t run_batch(uint32_t count) override {
    ops_->count = count;
    RecordedBatch b;
    b.count = count;
    b.ops.assign(ops_->ops, ops_->ops + count);
    uint32_t done = 0;
    bool fail_here = fail_ && fail_->batch == batches.size();
    while (done < count) {
      stub::OpResult& r = results_->results[done];
      r.cycles = kCycles;
      r.ret = 0;
      ++done;
      if (fail_here && done - 1 == fail_->index) {
        r.ret = -fail_->err;
        break; // the stub stops at the first failing op
      }
    }
    if (fail_here) fail_.reset();
    results_->done = done;
    b.done = done;
    batches.push_back(std::move(b));
    return done;
  }

  // Make op `index` of batch number `batch` (counted over this channel's
  // lifetime, starting at 0) fail with -err. One shot.
  void fail_at(size_t batch, uint32_t index, int err = ENOMEM) { fail_ = Fail{batch, index, err}; }

  // Every op that was handed over, in order, over all batches.
  std::vector<stub::Op> all_ops() const {
    std::vector<stub::Op> out;
    for (const auto& b : batches) out.insert(out.end(), b.ops.begin(), b.ops.end());
    return out;
  }

  std::vector<RecordedBatch> batches;

private:
  struct Fail {
    size_t batch;
    uint32_t index;
    int err;
  };
  std::unique_ptr<stub::OpsPage> ops_;
  std::unique_ptr<stub::ResultPage> results_;
  std::optional<Fail> fail_;
};

} // namespace gk::test
