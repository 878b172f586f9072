// guestkernel: boot a guest program on the guest kernel.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "guestkernel/kernel.h"
#include "guestkernel/options.h"

int main(int argc, char** argv) {
  gk::Options opts = gk::parse_options(argc, argv);
  // The host's termination signals reach the event loop (a guest shutdown),
  // never a default action halfway through boot. Blocked before any thread
  // starts, so every thread leaves them to the loop.
  sigset_t term;
  sigemptyset(&term);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGALRM}) sigaddset(&term, sig); // SIGALRM: the loop's deadline timer
  sigprocmask(SIG_BLOCK, &term, nullptr);
  int status;
  bool restart;
  try {
    // Never destroyed: at exit, guest tasks' fibers may still be parked, and
    // unwinding them buys nothing (host children are already gone).
    auto* kernel = new gk::Kernel(opts);
    status = kernel->run();
    restart = kernel->restart_requested();
  } catch (const std::exception& e) {
    fmt::print(stderr, "guestkernel: {}\n", e.what());
    return 125;
  }
  if (restart) { // reboot(2) RESTART: boot again, from a fresh kernel process
    fflush(nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv("/proc/self/exe", argv);
    fmt::print(stderr, "guestkernel: cannot restart: {}\n", strerror(errno));
    return 125;
  }
  return status;
}
