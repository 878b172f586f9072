// How the guest ends, besides init exiting: reboot(2) (power off, halt,
// restart) and a termination signal the host sends the kernel (SIGTERM,
// SIGINT, SIGHUP), which shuts the guest down as a power button would:
// SIGTERM to every process, a grace period, then SIGKILL to what is left.
// Either way run() then kills the host children, syncs the file systems and
// gives the terminal back.
#include <fmt/format.h>

#include "guestkernel/kernel.h"
#include "guestkernel/signal_names.h"

namespace gk {

namespace {
// Long enough for busybox init's own shutdown (SIGTERM, 1 s, SIGKILL, 1 s, reboot).
constexpr uint64_t kShutdownGraceNs = 3'000'000'000;
} // namespace

const char* power_action_message(PowerAction a) {
  switch (a) {
  case PowerAction::PowerOff: return "reboot: Power down";
  case PowerAction::Halt: return "reboot: System halted";
  case PowerAction::Restart: return "reboot: Restarting system";
  case PowerAction::None: break;
  }
  return "";
}

void Kernel::power(Task& caller, PowerAction a) {
  // During a shutdown the host asked for, a restart is the end too.
  if (a == PowerAction::Restart && host_signal_) a = PowerAction::PowerOff;
  power_ = a;
  say(LOG_EMERG, power_action_message(a), !opts_.quiet);
  shutdown_ = true;
  // The machine stops here: the loop ends before the caller could run again.
  block(caller, nullptr, -1, false);
}

void Kernel::host_signal(int sig) {
  if (host_signal_) { // asked twice: no more waiting
    kill_everything();
    return;
  }
  host_signal_ = sig;
  say(LOG_NOTICE, fmt::format("{} from the host: shutting the guest down", signal_name(sig)));
  siginfo_t term{};
  term.si_signo = SIGTERM;
  term.si_code = SI_KERNEL;
  for (auto& [pid, p] : processes_) {
    if (p->zombie) continue;
    // Init hears of it only through a handler (busybox init's is its own shutdown).
    if (pid == 1 && p->sighand->action[SIGTERM].handler <= uint64_t(SIG_IGN)) continue;
    send_signal(*p, term);
    shutdown_waiting_.insert(pid);
  }
  shutdown_timer_ = timers_.add(now_ns() + kShutdownGraceNs, [this] { kill_everything(); });
  shutdown_progress();
}

// Called by the loop while a host-asked shutdown runs: once every process
// that was told has gone, there is nothing left worth waiting for.
void Kernel::shutdown_progress() {
  if (!host_signal_ || shutdown_) return;
  std::erase_if(shutdown_waiting_, [this](int pid) {
    Process* p = find_process(pid);
    return !p || p->zombie;
  });
  if (shutdown_waiting_.empty()) kill_everything();
}

void Kernel::kill_everything() {
  if (shutdown_timer_) timers_.cancel(shutdown_timer_);
  shutdown_timer_ = 0;
  shutdown_waiting_.clear();
  siginfo_t kill{};
  kill.si_signo = SIGKILL;
  kill.si_code = SI_KERNEL;
  std::vector<Process*> live;
  for (auto& [pid, p] : processes_)
    if (!p->zombie) live.push_back(p.get());
  for (auto it = live.rbegin(); it != live.rend(); ++it) send_signal(**it, kill); // init last
  if (live.empty()) shutdown_ = true;
}

} // namespace gk
