// How the event loop waits for the host: for a host child to stop (a
// guest syscall or fault), a kernel timer, a host fd a driver watches, or a
// termination signal from the host.
//
// Two ways, chosen per wait:
//  - only children or timers can need the loop (no host fd is watched): one
//    blocking waitpid, so a guest syscall costs the same host syscalls as a
//    bare ptrace round trip (PTRACE_SYSEMU, waitpid, GETREGS, SETREGS). A
//    host timer (SIGALRM at the next deadline) and the termination signals
//    cut it short through the *waker*, a child of our own that the signal
//    handler stops: its stop is one more event for waitpid, so a signal that
//    comes just before the kernel blocks is not lost;
//  - otherwise epoll over a signalfd (SIGCHLD), the watched fds and an
//    eventfd the handler writes, with the timers' timeout; then waitpid for
//    every stopped child.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "guestkernel/kernel.h"

namespace gk {

namespace {

// Set by the handlers, taken by the loop.
volatile sig_atomic_t g_term_signal = 0;
volatile sig_atomic_t g_deadline_passed = 0; // the armed deadline timer fired
int g_wake_fd = -1;                          // eventfd: wakes epoll_wait
pid_t g_waker = -1;                          // stopped by a handler: wakes waitpid

void wake_loop() {
  int saved = errno;
  uint64_t one = 1;
  ssize_t w = write(g_wake_fd, &one, sizeof one);
  (void)w;
  if (g_waker > 0) kill(g_waker, SIGSTOP);
  errno = saved;
}

void on_host_termination(int sig) {
  g_term_signal = sig;
  wake_loop();
}

void on_deadline(int) {
  g_deadline_passed = 1;
  wake_loop();
}

constexpr int kCaught[] = {SIGTERM, SIGINT, SIGHUP, SIGALRM};

// The waker: a child that only ever pauses (and dies with the kernel).
pid_t spawn_waker() {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    for (;;) pause();
  }
  return pid;
}

} // namespace

int Kernel::watch_fd(int fd, uint32_t events, std::function<void(uint32_t)> ready) {
  if (epoll_fd_ < 0) epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  bool known = fd_watchers_.count(fd);
  if (epoll_ctl(epoll_fd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) return -errno;
  fd_watchers_[fd] = std::move(ready);
  return 0;
}

void Kernel::unwatch_fd(int fd) {
  if (!fd_watchers_.erase(fd)) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void Kernel::start_waiting() {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  sigchld_fd_ = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  g_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0) epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {sigchld_fd_, g_wake_fd}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  g_waker = spawn_waker(); // before the handlers: it keeps main's blocked mask
  sigset_t caught;
  sigemptyset(&caught);
  for (int sig : kCaught) {
    struct sigaction sa {};
    sa.sa_handler = sig == SIGALRM ? on_deadline : on_host_termination;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
    sigaddset(&caught, sig);
  }
  // The deadline timer signals this thread only (main blocks SIGALRM, so
  // other threads never see it).
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGALRM;
  sev._sigev_un._tid = gettid();
  have_deadline_timer_ = timer_create(CLOCK_MONOTONIC, &sev, &deadline_timer_) == 0; // its id may be 0
  pthread_sigmask(SIG_UNBLOCK, &caught, nullptr);
}

void Kernel::stop_waiting() {
  sigset_t caught;
  sigemptyset(&caught);
  for (int sig : kCaught) sigaddset(&caught, sig);
  pthread_sigmask(SIG_BLOCK, &caught, nullptr);
  if (have_deadline_timer_) timer_delete(deadline_timer_);
  have_deadline_timer_ = false;
  if (g_waker > 0) {
    kill(g_waker, SIGKILL);
    waitpid(g_waker, nullptr, __WALL);
  }
  g_waker = -1;
}

int Kernel::take_host_signal() {
  int sig = g_term_signal;
  g_term_signal = 0;
  return sig;
}

void Kernel::wait_for_host(uint64_t now, int64_t wait_ns) {
  bool quiet = wait_ns != 0 && fd_watchers_.empty() && !by_host_pid_.empty() && have_deadline_timer_ && g_waker > 0;
  if (quiet) wait_for_child(wait_ns < 0 ? -1 : int64_t(now) + wait_ns);
  else wait_for_events(wait_ns);
}

// `deadline_ns`: absolute CLOCK_MONOTONIC, -1 for none. The host timer is
// re-armed only when it would fire too late (or has fired): one that fires
// early costs a spurious wake-up, while re-arming at every wait (the
// preemption deadline moves on at every resume) would cost a host syscall.
void Kernel::wait_for_child(int64_t deadline_ns) {
  if (deadline_ns >= 0 && (armed_deadline_ns_ < 0 || deadline_ns < armed_deadline_ns_ || g_deadline_passed)) {
    itimerspec its{};
    its.it_value.tv_sec = deadline_ns / 1'000'000'000;
    its.it_value.tv_nsec = deadline_ns % 1'000'000'000;
    g_deadline_passed = 0;
    timer_settime(deadline_timer_, TIMER_ABSTIME, &its, nullptr);
    armed_deadline_ns_ = deadline_ns;
  }
  if (g_term_signal || g_deadline_passed) return; // a signal after this stops the waker
  int status;
  pid_t pid = waitpid(-1, &status, __WALL | WUNTRACED);
  if (pid > 0) host_child_event(pid, status);
}

void Kernel::wait_for_events(int64_t wait_ns) {
  int timeout_ms = wait_ns < 0 ? -1 : int((wait_ns + 999'999) / 1'000'000);
  epoll_event evs[8];
  int n = epoll_wait(epoll_fd_, evs, 8, timeout_ms);
  for (int i = 0; i < n; ++i) {
    int fd = evs[i].data.fd;
    if (fd == sigchld_fd_ || fd == g_wake_fd) {
      // One read drains either: SIGCHLD does not queue, the eventfd is a counter.
      signalfd_siginfo si;
      ssize_t got = read(fd, &si, fd == sigchld_fd_ ? sizeof si : sizeof(uint64_t));
      (void)got;
    } else if (auto w = fd_watchers_.find(fd); w != fd_watchers_.end()) {
      auto ready = w->second; // the callback may unwatch (and so destroy) itself
      ready(evs[i].events);
    }
  }
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG | __WALL | WUNTRACED)) > 0) host_child_event(pid, status);
}

// A child changed state: the waker (continued at once; gone, the loop
// waits with epoll from now on) or a guest's host child.
void Kernel::host_child_event(pid_t pid, int status) {
  if (pid != g_waker) {
    dispatch_host_stop(pid, status);
    return;
  }
  if (WIFSTOPPED(status)) kill(pid, SIGCONT);
  else g_waker = -1;
}

} // namespace gk
