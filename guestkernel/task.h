// Guest threads (Task), thread groups (Process), and the address-space
// context they run in (MmContext: one host child + one AddressSpace).
#pragma once
#include <signal.h>
#include <sys/resource.h>
#include <sys/user.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/context/fiber.hpp>

#include "arch-um/host_child.h"
#include "guestkernel/sched/timers.h"
#include "guestkernel/sched/wait_queue.h"
#include "guestkernel/vfs/file.h"
#include "guestkernel/vfs/vfs.h"
#include "mm/address_space.h"

namespace gk {

namespace drivers {
class Tty;
}

struct Task;
struct Process;

struct Creds {
  uint32_t uid = 0, euid = 0, suid = 0, gid = 0, egid = 0, sgid = 0;
  uint32_t fsuid = 0, fsgid = 0;  // follow euid/egid unless set apart
  std::vector<uint32_t> groups;   // supplementary groups
  bool in_group(uint32_t g) const;
};

// struct k_sigaction as the x86-64 rt_sigaction ABI has it.
struct KSigaction {
  uint64_t handler = 0; // SIG_DFL = 0, SIG_IGN = 1
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};

struct SigHand {
  std::array<KSigaction, 65> action{}; // index = signal number
};

constexpr uint64_t sigbit(int sig) { return 1ULL << (sig - 1); }

// Pending signals with their siginfo: standard signals coalesce, real-time
// signals queue.
struct SignalQueue {
  uint64_t pending = 0;
  std::deque<siginfo_t> infos;
};

// How long a thread may keep its host child while others wait for it.
inline constexpr uint64_t kTimeSliceNs = 10'000'000;

// An address space and the host child that mirrors it, shared by the tasks
// created with CLONE_VM (threads, vfork children).
struct MmContext {
  std::unique_ptr<arch::HostChild> child;
  std::unique_ptr<mm::AddressSpace> as;
  Task* owner = nullptr;        // the task running guest code in the child, or holding it
  Task* regs_loaded = nullptr;  // whose general registers the child holds
  Task* xstate_loaded = nullptr;
  WaitQueue child_free;         // tasks waiting to run guest code here
  // The current time slice in the child: whose it is and since when. A
  // thread keeps its slice across its stops (a syscall, a fault), so one
  // that makes syscalls without end still gives way when the slice is up.
  int slice_tid = 0;
  uint64_t slice_start_ns = 0;
  bool interrupt_sent = false;
  int users = 0;                // tasks using this context
  uint64_t peak_host_vmas = 0;  // --stats: sampled from the child's /proc
};

enum class TaskState { Runnable, Running, InGuest, Blocked, Dead };
enum class WakeReason { None, Woken, Timeout, Signal };

struct Task {
  int tid = 0;
  Process* proc = nullptr;
  std::shared_ptr<MmContext> mm;

  // Guest CPU state while the task is not loaded in its child.
  user_regs_struct regs{};
  bool regs_dirty = false;       // regs differ from what the child holds
  std::vector<uint8_t> xstate;   // saved FPU/SSE/AVX state (NT_X86_XSTATE)

  // set_mempolicy(2)'s policy (sys_numa.cpp): the mode with its flags, and
  // the node mask as the caller gave it (MPOL_DEFAULT: none set).
  struct MemPolicy {
    int mode = 0, flags = 0;
    std::array<uint64_t, 16> user_nodes{}; // MAX_NUMNODES = 1024 bits
  } mempolicy;

  // Signals.
  uint64_t sigmask = 0;
  uint64_t saved_sigmask = 0;    // restored after rt_sigsuspend's handler
  bool restore_sigmask = false;
  SignalQueue pending;
  stack_t altstack{nullptr, SS_DISABLE, 0};

  uint64_t clear_child_tid = 0;
  uint64_t robust_list = 0;

  // Scheduling.
  TaskState state = TaskState::Runnable;
  boost::context::fiber fiber;   // the task's kernel stack
  boost::context::fiber loop;    // the event loop, while the task runs
  arch::Stop stop{};             // the host stop that woke this task
  WaitQueue* blocked_on = nullptr;
  Timers::Id block_timer = 0;
  bool interruptible = false;
  WakeReason wake_reason = WakeReason::None;

  // vfork: the child's parent sleeps on its own vfork_wait until the child
  // execs or exits.
  Task* vfork_parent = nullptr;
  bool vfork_done = false;
  WaitQueue vfork_wait;

  bool exiting = false;          // leave at the next chance (exit, fatal signal, exec of another thread)
  int exit_code = 0;             // exit(2)'s status, for the last thread of a process
  std::string comm;              // PR_SET_NAME of a thread other than the leader ("": the process's)
  int64_t syscall_nr = -1;       // the syscall being handled (for restarts)
  // --stats: the guest event of the task's last stop, to which the host ops
  // run before its next resume are counted: a syscall number, or one of:
  static constexpr int64_t kEventOther = -1, kEventFault = -2;
  int64_t last_event = kEventOther;
};

struct PosixTimer {
  int clock = 0;
  int signo = SIGALRM;
  uint64_t sigval = 0;
  int notify = 0;                // SIGEV_SIGNAL / SIGEV_NONE / SIGEV_THREAD_ID
  int target_tid = 0;
  uint64_t interval_ns = 0, deadline_ns = 0;
  Timers::Id timer = 0;
  int overrun = 0;
};

struct Process {
  int pid = 0; // thread-group id
  int pgid = 0, sid = 0;
  std::shared_ptr<drivers::Tty> ctty; // controlling terminal (shared by the session)
  Process* parent = nullptr;
  std::vector<Process*> children;
  std::vector<Task*> threads;
  std::string comm, exe;
  vfs::Path exe_path;            // the executable, for /proc/PID/exe
  // Where exec put argv and envp strings (/proc/PID/cmdline, environ).
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  // prctl(2) state.
  int pdeath_signal = 0;         // sent when the parent dies
  bool dumpable = true, no_new_privs = false, child_subreaper = false;
  std::shared_ptr<FdTable> fds;
  std::shared_ptr<vfs::FsContext> fs; // root, cwd, umask
  std::shared_ptr<SigHand> sighand;
  SignalQueue shared_pending;
  // Woken, and moved on, whenever a signal is queued for the process or one
  // of its threads: what signalfd readers and pollers wait for.
  WaitQueue signal_queued;
  uint64_t signals_queued = 0;
  Creds creds;
  std::array<rlimit, RLIM_NLIMITS> rlimits{};
  int exit_signal = SIGCHLD;     // what the parent gets when this one dies

  // Life and death.
  bool zombie = false;
  int wait_status = 0;           // as wait4 reports it
  bool group_exit = false;
  int group_exit_status = 0;
  std::string death_note;        // why a fault killed it, for the kernel's message
  WaitQueue child_event;         // wait4/waitid sleepers of this process
  // Job control: a stopped group, and what the parent has yet to see.
  bool stopped = false;
  int stop_signal = 0;
  bool report_stop = false, report_continue = false;
  WaitQueue stop_wait;           // threads sitting out a group stop

  // Timers.
  Timers::Id itimer_real = 0;
  uint64_t itimer_real_interval_ns = 0, itimer_real_deadline_ns = 0;
  std::vector<std::unique_ptr<PosixTimer>> posix_timers; // index = timer id
  uint64_t cpu_ns = 0;            // CPU time of its host child(ren), taken as they end
  // Rusage of reaped children (ns).
  uint64_t children_utime_ns = 0, children_stime_ns = 0;
  uint64_t start_ns = 0;
  std::unordered_map<uint64_t, uint64_t> syscall_counts; // by number, for the FUSE view

  Process();
  Task* leader() const { return threads.empty() ? nullptr : threads.front(); }
};

// Adapts a host child to mm's stub channel (mm never sees ptrace).
class ChildChannel : public mm::StubChannel {
public:
  explicit ChildChannel(arch::HostChild& c) : c_(c) {}
  stub::OpsPage& ops() override { return c_.ops(); }
  const stub::ResultPage& results() override { return c_.results(); }
  uint32_t run_batch(uint32_t n) override { return c_.run_batch(n); }

private:
  arch::HostChild& c_;
};

} // namespace gk
