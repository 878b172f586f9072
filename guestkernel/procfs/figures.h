// Guest-wide and per-process figures that /proc and sysinfo(2) report
// alike, so ps, top, free and uptime agree with each other.
#pragma once
#include <cstdint>

namespace gk {
class Kernel;
struct Process;
struct Task;
} // namespace gk

namespace gk::procfs {

inline constexpr uint64_t kTicksPerSec = 100; // USER_HZ
inline constexpr uint64_t kNsPerTick = 1000000000ULL / kTicksPerSec;

// CPU time a process has used: its ended host children and its live ones.
uint64_t process_cpu_ns(const Process& p);
// CPU time of every guest process since boot (live ones and everything
// they reaped, recursively).
uint64_t total_cpu_ns(const Kernel& k);
uint64_t uptime_ns(const Kernel& k);
// Tasks that run or wait only for a CPU (Linux's nr_running), and tasks in
// an uninterruptible sleep.
int running_tasks(const Kernel& k);
int blocked_tasks(const Kernel& k);
// Whether `t` runs or waits only for its turn on its host child.
bool task_running(const Task& t);

// Load averages over 1, 5 and 15 minutes, sampled every 5 s as Linux does.
struct LoadAvg {
  double one = 0, five = 0, fifteen = 0;
};
LoadAvg load_average();
// Starts the 5-second sampling (from register_procfs).
void start_load_sampling(Kernel& k);

} // namespace gk::procfs
