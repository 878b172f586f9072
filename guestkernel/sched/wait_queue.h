// Wait queues, as in Linux: a task that must wait parks on one and switches
// back to the event loop; whoever changes the condition wakes it.
#pragma once
#include <algorithm>
#include <vector>

namespace gk {

struct Task;

class WaitQueue {
public:
  void add(Task* t) { waiters_.push_back(t); }
  void remove(Task* t) { waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), t), waiters_.end()); }
  void wake_all();
  // Wakes up to n waiters (FIFO); returns how many.
  int wake(int n);
  bool empty() const { return waiters_.empty(); }
  size_t size() const { return waiters_.size(); }

private:
  std::vector<Task*> waiters_;
};

} // namespace gk
