#include "guestkernel/sched/timers.h"

namespace gk {

Timers::Id Timers::add(uint64_t deadline_ns, std::function<void()> fn) {
  Id id = next_++;
  heap_.push({deadline_ns, id});
  fns_[id] = std::move(fn);
  live_.insert(id);
  return id;
}

void Timers::run_expired(uint64_t now_ns) {
  while (!heap_.empty() && heap_.top().deadline <= now_ns) {
    Id id = heap_.top().id;
    heap_.pop();
    auto fn = std::move(fns_[id]);
    fns_.erase(id);
    if (live_.erase(id)) fn();
  }
}

int64_t Timers::until_next(uint64_t now_ns) {
  while (!heap_.empty() && !live_.count(heap_.top().id)) {
    fns_.erase(heap_.top().id);
    heap_.pop();
  }
  if (heap_.empty()) return -1;
  return heap_.top().deadline <= now_ns ? 0 : int64_t(heap_.top().deadline - now_ns);
}

} // namespace gk
