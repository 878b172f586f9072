// Waiting for several files at once (poll, select, epoll).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "guestkernel/task.h"

namespace gk {

class Kernel;

// Sleeps on every file's poll queues until one may have changed, the
// deadline (-1: none) passes, or a signal arrives. Files whose readiness
// comes from the host are re-checked every few milliseconds.
WakeReason wait_for_files(Kernel& k, Task& t, const std::vector<std::shared_ptr<File>>& files, int64_t deadline);

// ppoll/pselect6/epoll_pwait: run with `mask` as the signal mask; if a
// signal interrupts, the old mask comes back after its handler (as with
// sigsuspend), otherwise at once.
class TemporarySigmask {
public:
  TemporarySigmask(Task& t, const uint64_t* mask);
  void keep_for_handler() { keep_ = true; }
  ~TemporarySigmask();

private:
  Task& t_;
  bool active_ = false, keep_ = false;
  uint64_t old_ = 0;
};

} // namespace gk
