// The kernel's timers: one min-heap of deadlines on CLOCK_MONOTONIC, served
// by the event loop (its epoll timeout is the earliest deadline).
#pragma once
#include <cstdint>
#include <functional>
#include <queue>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace gk {

class Timers {
public:
  using Id = uint64_t;
  Id add(uint64_t deadline_ns, std::function<void()> fn);
  void cancel(Id id) { live_.erase(id); }
  // Runs every callback whose deadline has passed.
  void run_expired(uint64_t now_ns);
  // Nanoseconds until the next deadline (0 if due), or -1 if none.
  int64_t until_next(uint64_t now_ns);

private:
  struct Entry {
    uint64_t deadline;
    Id id;
    bool operator>(const Entry& o) const { return deadline > o.deadline; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::unordered_map<Id, std::function<void()>> fns_;
  std::unordered_set<Id> live_;
  Id next_ = 1;
};

} // namespace gk
