#include "guestkernel/procfs/figures.h"

#include <cmath>
#include <set>

#include "guestkernel/kernel.h"

namespace gk::procfs {

uint64_t process_cpu_ns(const Process& p) {
  uint64_t ns = p.cpu_ns;
  std::set<const MmContext*> seen; // threads share one host child
  for (const Task* t : p.threads)
    if (t->mm && t->mm->child && t->mm->child->alive() && seen.insert(t->mm.get()).second)
      ns += t->mm->child->cpu_ns();
  return ns;
}

uint64_t total_cpu_ns(const Kernel& k) {
  uint64_t ns = 0;
  for (auto& [pid, p] : k.processes()) ns += process_cpu_ns(*p) + p->children_utime_ns;
  return ns;
}

uint64_t uptime_ns(const Kernel& k) { return Kernel::now_ns() - k.stats().start_ns; }

bool task_running(const Task& t) {
  switch (t.state) {
  case TaskState::Runnable:
  case TaskState::Running:
  case TaskState::InGuest: return true;
  case TaskState::Blocked: return t.mm && t.blocked_on == &t.mm->child_free; // its turn on a shared child
  default: return false;
  }
}

int running_tasks(const Kernel& k) {
  int n = 0;
  for (auto& [pid, p] : k.processes())
    for (const Task* t : p->threads) n += task_running(*t);
  return n;
}

int blocked_tasks(const Kernel& k) {
  int n = 0;
  for (auto& [pid, p] : k.processes())
    for (const Task* t : p->threads)
      n += t->state == TaskState::Blocked && !t->interruptible && !task_running(*t) && !p->stopped;
  return n;
}

namespace {

LoadAvg g_load;
constexpr uint64_t kSampleNs = 5'000'000'000ULL;

void sample(Kernel& k, uint64_t when) {
  double n = running_tasks(k);
  auto damp = [n](double& l, double minutes) {
    double e = std::exp(-5.0 / (60.0 * minutes));
    l = l * e + n * (1 - e);
  };
  damp(g_load.one, 1);
  damp(g_load.five, 5);
  damp(g_load.fifteen, 15);
  k.timers().add(when + kSampleNs, [&k, next = when + kSampleNs] { sample(k, next); });
}

} // namespace

LoadAvg load_average() { return g_load; }

void start_load_sampling(Kernel& k) {
  g_load = {};
  uint64_t first = Kernel::now_ns() + kSampleNs;
  k.timers().add(first, [&k, first] { sample(k, first); });
}

} // namespace gk::procfs
