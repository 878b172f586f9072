// The kernel: guest physical memory, the syscall table, every task and
// process, and the event loop that turns host stops into guest events.
//
// One host thread runs everything. Each guest thread (Task) has a
// Boost.Context fiber as its kernel stack: its fiber resumes guest code,
// parks while the guest runs, and handles the stop the loop hands it; a
// handler that must wait parks on a WaitQueue. The loop waits on a signalfd
// (SIGCHLD: some child stopped), the timers, and the console.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "guestkernel/kmsg.h"
#include "guestkernel/options.h"
#include "guestkernel/sched/timers.h"
#include "guestkernel/syscalls/syscall.h"
#include "guestkernel/task.h"
#include "guestkernel/trace.h"
#include "guestkernel/vfs/locks.h"
#include "mm/physmem.h"

namespace gk {

inline constexpr const char* kGuestRelease = "6.1.0-guestkernel";
// "Linux version ..." as /proc/version and the first line of the log say it (kmsg.cpp).
std::string version_banner();

// Linux's internal restart codes: never seen by the guest.
inline constexpr int64_t kErestartSys = -512;
inline constexpr int64_t kErestartNoIntr = -513;
inline constexpr int64_t kErestartNoHand = -514;
inline constexpr int64_t kErestartRestartBlock = -516;

// What reboot(2) asked the machine to do.
enum class PowerAction { None, PowerOff, Halt, Restart };
const char* power_action_message(PowerAction a); // Linux's console line for it

// One host child's figures over the life of one address space (--stats).
struct ChildFigures {
  int host_pid = 0, pid = 0; // pid: the guest process that used it last (0: none)
  std::string comm;
  uint64_t peak_host_vmas = 0, exit_host_vmas = 0, host_minor_faults = 0;
  arch::ChildCounters stops;
};

struct KernelStats {
  std::array<uint64_t, SyscallTable::kSize> syscalls{};
  uint64_t unknown_syscalls = 0;
  uint64_t fault_stops = 0;   // host SIGSEGV/SIGBUS stops of children
  uint64_t guest_signals = 0; // signals delivered to guest handlers
  uint64_t preemptions = 0;
  uint64_t forks = 0, execs = 0, host_children = 0;
  mm::FaultCounters faults;
  mm::MmuStats mmu;
  uint64_t peak_host_vmas = 0; // sampled from children's /proc
  uint64_t exit_host_vmas = 0;
  uint64_t host_minor_faults = 0; // of children, summed at their end
  arch::ChildCounters stops;      // summed over children
  // Stub runs by the guest event whose host ops they ran (Task::last_event).
  std::array<uint64_t, SyscallTable::kSize> stub_runs_after_syscall{};
  uint64_t stub_runs_after_fault = 0, stub_runs_after_other = 0;
  // Per address space that ended, the first kMaxChildFigures of them.
  static constexpr size_t kMaxChildFigures = 64;
  std::vector<ChildFigures> children;
  uint64_t children_unlisted = 0;
  uint64_t start_ns = 0, end_ns = 0;
};

class Kernel {
public:
  explicit Kernel(const Options& o);
  ~Kernel();
  // Runs the program as pid 1 until it exits; returns the status a shell would see.
  int run();

  const std::string& hostname() const { return hostname_; }
  void set_hostname(std::string h) { hostname_ = std::move(h); }
  const std::string& domainname() const { return domainname_; }
  void set_domainname(std::string d) { domainname_ = std::move(d); }
  // After run(): reboot(2) asked for a restart (main re-executes the kernel).
  bool restart_requested() const { return power_ == PowerAction::Restart; }

  // ---- shutdown (shutdown.cpp) ----
  // reboot(2): the machine stops (power off, halt) or restarts; `caller`
  // never returns to user mode.
  void power(Task& caller, PowerAction a);
  // The host sent the kernel SIGTERM/SIGINT/SIGHUP: SIGTERM to every guest
  // process, SIGKILL to what is left after a grace period (or at once, the
  // second time).
  void host_signal(int sig);
  // ---- messages (kmsg.cpp) ----
  // A kernel message at a syslog level (LOG_ERR, LOG_INFO, ...): a record
  // of the log dmesg reads and, when `console` and the level is below the
  // console level (`dmesg -n`), the line "guestkernel: TEXT" on stderr.
  void say(int level, const std::string& text, bool console = true);
  KernelLog& log() { return log_; }

  const Options& options() const { return opts_; }
  KernelStats& stats() { return stats_; }
  const KernelStats& stats() const { return stats_; }
  Trace& trace() { return trace_; }
  mm::PhysMem& physmem() { return physmem_; }
  Timers& timers() { return timers_; }
  vfs::Vfs& vfs() { return vfs_; }
  vfs::LockTable& locks() { return locks_; }
  static uint64_t now_ns();
  // The task whose kernel fiber is running: the caller of the syscall being
  // handled (procfs's "self"); null in the event loop.
  Task* current() const { return current_; }
  int last_pid() const { return next_pid_ - 1; } // the pid/tid handed out last

  // ---- scheduling (sched.cpp) ----
  // Parks `t` until woken, until `deadline_ns` (CLOCK_MONOTONIC, -1: none),
  // or, if interruptible, until a signal arrives.
  WakeReason block(Task& t, WaitQueue* q, int64_t deadline_ns, bool interruptible);
  void wake(Task& t, WakeReason why = WakeReason::Woken);
  void yield(Task& t); // to the back of the run queue
  // Host fds the loop waits on besides its own (a driver's input):
  // `ready` runs in the loop, not in a task, with the epoll events.
  // 0 or -errno (EPERM: epoll cannot wait for it, e.g. a regular file).
  int watch_fd(int fd, uint32_t events, std::function<void(uint32_t)> ready);
  void unwatch_fd(int fd);

  // ---- tasks and processes (lifecycle.cpp) ----
  Task* find_task(int tid);
  Process* find_process(int pid);
  const std::map<int, std::unique_ptr<Process>>& processes() const { return processes_; }
  Process* init_process() { return find_process(1); }
  // A new address-space context with its own host child (as may be null: a fresh one).
  std::shared_ptr<MmContext> new_mm_context(std::unique_ptr<mm::AddressSpace> as = nullptr);
  // A fresh address space; `pid` labels its --trace=fault,pte,mmu lines.
  std::unique_ptr<mm::AddressSpace> new_address_space(int pid);
  void trace_mmu_of(mm::AddressSpace& as, int pid); // hooks those traces up
  // clone/fork/vfork: returns the new tid or -errno.
  int64_t clone_task(Task& parent, uint64_t flags, uint64_t stack, uint64_t parent_tid, uint64_t child_tid,
                     uint64_t tls);
  // exec: replace the process image; -errno (and, given `why`, a line
  // saying why), or 0 and the task continues at the new entry.
  int64_t exec(Task& t, const std::string& path, std::vector<std::string> argv, std::vector<std::string> envp,
               std::string* why = nullptr);
  void exit_thread(Task& t, int code);
  void exit_group(Task& t, int wait_status);
  // wait4/waitid core: returns pid, 0 (WNOHANG, nothing yet) or -errno.
  int64_t wait_child(Task& t, int64_t pid, int options, int* status, siginfo_t* info, rusage* ru);
  int task_count() const { return int(tasks_.size()); }

  // ---- signals (signal.cpp) ----
  void send_signal(Process& p, const siginfo_t& info);
  void send_signal(Task& t, const siginfo_t& info);
  void force_signal(Task& t, const siginfo_t& info); // synchronous faults: cannot be blocked or ignored
  void send_sigpipe(Task& t); // with EPIPE from a write to a pipe or socket nobody reads
  bool signal_pending(const Task& t) const;
  // After rt_sigaction: a disposition that ignores `sig` drops what is pending.
  void sigaction_changed(Process& p, int sig);
  // Before returning to user mode: act on one pending signal (handler
  // frame, default action) and on syscall restarts.
  void deliver_signals(Task& t);
  int64_t sigreturn(Task& t);
  // Save/load a task's xstate (FPU) from its child when it is live there.
  std::vector<uint8_t>& task_xstate(Task& t);
  // Takes the next deliverable (unblocked) pending signal of t.
  bool dequeue_signal(Task& t, siginfo_t& info);
  // The next pending signal in `set`, blocked or not (sigtimedwait, signalfd).
  bool dequeue_signal(Task& t, uint64_t set, siginfo_t& info);

private:
  friend void wake_waiter(Task* t);
  // sched.cpp
  void spawn_fiber(Task& t);
  void park(Task& t);
  void loop();
  // host_wait.cpp: how the loop waits for host events.
  void start_waiting();
  void stop_waiting();
  void wait_for_host(uint64_t now, int64_t wait_ns);
  void wait_for_child(int64_t deadline_ns);
  void wait_for_events(int64_t wait_ns);
  void host_child_event(pid_t pid, int status);
  int take_host_signal(); // a termination signal the host sent, or 0
  void dispatch_host_stop(pid_t pid, int status);
  int64_t preempt_check(uint64_t now);
  // boot.cpp: the root file system and the first process's place in it;
  // the first program (run mode) or init (boot mode) started in it.
  int64_t boot_fs(Process& init);
  int64_t start_init(Task& t);
  // shutdown.cpp
  void shutdown_progress();
  void kill_everything();
  // kernel.cpp
  void task_main(Task& t);
  void run_in_guest(Task& t);
  void handle_syscall(Task& t);
  void handle_fault(Task& t, const arch::Stop& s);
  std::string trace_args(Task& t, const SyscallArgs& a, int64_t ret);
  void trace_syscall(Task& t, const SyscallArgs& a, const std::string& args, int64_t ret);
  // The child's host VMAs in guest space now (0 if it is gone); keeps the peaks.
  uint64_t sample_host_figures(MmContext& m);
  // Runs the host ops queued for m's child in its stub, on behalf of t (the
  // caller holds the child); counts the stub runs to t's last event.
  void flush_host(Task& t, MmContext& m);
  // A host child is done with its address space: add its figures to the stats.
  void account_child_end(MmContext& m, Process* owner);
  // lifecycle.cpp
  Task* new_task(Process* p, std::shared_ptr<MmContext> mm);
  Process* new_process(Process* parent);
  void release_mm(Task& t);
  void process_exit(Process& p, int wait_status);
  void notify_parent(Process& p, int code, int status);
  void reap(Process& p, Process& parent);
  void destroy_task(Task* t);
  void shutdown_all();
  // signal.cpp
  bool setup_frame(Task& t, int sig, const KSigaction& act, const siginfo_t& info);
  void do_group_stop(Task& t, int sig);
  void restart_syscall_if_needed(Task& t, const KSigaction* act);

  Options opts_;
  std::string hostname_, domainname_ = "(none)";
  Trace trace_;
  KernelLog log_;
  mm::PhysMem physmem_;
  SyscallTable table_;
  KernelStats stats_;
  Timers timers_;
  vfs::Vfs vfs_;
  vfs::LockTable locks_;
  std::set<uint64_t> unknown_logged_;

  std::map<int, std::unique_ptr<Process>> processes_;
  std::unordered_map<int, std::unique_ptr<Task>> tasks_;
  std::unordered_map<pid_t, MmContext*> by_host_pid_;
  std::deque<Task*> runq_;
  std::vector<Task*> dead_;
  // Host children of address spaces that died, kept stopped for the next
  // fork or exec: spawning one (fork + exec of the stub) costs ~250 us.
  std::vector<std::unique_ptr<arch::HostChild>> spare_children_;
  static constexpr size_t kMaxSpareChildren = 8;
  int next_pid_ = 1;
  Task* current_ = nullptr;
  bool shutdown_ = false;
  int init_status_ = 0;
  PowerAction power_ = PowerAction::None;
  int host_signal_ = 0;                // the termination signal the host sent, if any
  std::set<int> shutdown_waiting_;     // pids told to terminate, not gone yet
  Timers::Id shutdown_timer_ = 0;
  int sigchld_fd_ = -1, epoll_fd_ = -1;
  timer_t deadline_timer_{};           // ends a blocking waitpid at the next timer (SIGALRM)
  bool have_deadline_timer_ = false;
  int64_t armed_deadline_ns_ = -1;
  std::map<int, std::function<void(uint32_t)>> fd_watchers_;
  uint64_t next_sample_ns_ = 0;
};

// --stats output (stats.cpp).
void print_stats(FILE* out, const Kernel& k, const KernelStats& s);
// Its host MMU and fault parts only (the FUSE export's mmu/stats).
void print_mmu_stats(FILE* out, const Kernel& k, const KernelStats& s);
void write_stats_json(const std::string& path, const Kernel& k, const KernelStats& s);
std::string stats_json(const Kernel& k, const KernelStats& s); // the same JSON, as text

} // namespace gk
