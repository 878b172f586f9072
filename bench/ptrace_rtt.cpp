// ptrace_rtt: the raw host cost guestkernel pays for every guest syscall.
//
// A child loops on syscall(SYS_getppid) forever. The tracer, per iteration:
//   PTRACE_SYSEMU (resume to the next syscall entry, which the host will not
//   execute), waitpid, PTRACE_GETREGS, rax = 0, PTRACE_SETREGS.
// That is the smallest possible "emulated syscall" round trip: the floor under
// guestkernel's null-syscall time with the same CPU placement. Run it under
// `taskset -c 0` to pin tracer and (by inheritance) child to one CPU.
//
// It also times native getppid() in-process, for scale.
//
// Output: one JSON line on stdout
//   {"bench":"ptrace_rtt","iters":N,"ns_per_op":X,"batch_median_ns":M,
//    "native_getppid_ns":Y,"batches":B}
// where X is the total time over all N iterations / N, measured as the guest
// benchmark programs measure (so that ratios to them compare like with
// like), M and Y the median over B batches (of N/B iterations each) of the
// per-iteration time. Errors go to stderr, exit status 1.

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

pid_t g_child = -1;

// Kill and reap the child; safe to call more than once.
void reap_child() {
  if (g_child <= 0) return;
  kill(g_child, SIGKILL);
  int status = 0;
  while (waitpid(g_child, &status, __WALL) < 0 && errno == EINTR) {
  }
  g_child = -1;
}

[[noreturn]] void die(std::string_view what) {
  int e = errno;
  if (e)
    fmt::print(stderr, "ptrace_rtt: {}: {}\n", what, std::strerror(e));
  else
    fmt::print(stderr, "ptrace_rtt: {}\n", what);
  reap_child();
  std::exit(1);
}

[[noreturn]] void usage(const char* argv0) {
  fmt::print(stderr, "usage: {} [--iters N] [--batches B]\n", argv0);
  std::exit(2);
}

std::uint64_t parse_count(const char* s, const char* argv0) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || end == s || *end != '\0' || v == 0 || v > (1ULL << 40)) usage(argv0);
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// Child side: never returns.
[[noreturn]] void child_main(pid_t parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(101);
  if (getppid() != parent) _exit(102);  // the parent died before prctl
  if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(103);
  // A raw kill, not raise(): glibc's raise() wraps tgkill in sigprocmask
  // calls, which would be emulated (skipped) by the tracer and leave every
  // signal blocked. After this stop the very next syscall is getppid.
  syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
  for (;;) syscall(SYS_getppid);
}

// Resume the child to its next syscall entry and emulate it as "return 0".
// Returns the syscall number the child tried to make.
inline long round_trip() {
  if (ptrace(PTRACE_SYSEMU, g_child, nullptr, nullptr) != 0) die("PTRACE_SYSEMU");
  int status = 0;
  pid_t r;
  while ((r = waitpid(g_child, &status, __WALL)) < 0 && errno == EINTR) {
  }
  if (r != g_child) die("waitpid");
  if (!WIFSTOPPED(status)) {
    errno = 0;
    fmt::print(stderr, "ptrace_rtt: child did not stop (status {:#x})\n", status);
    g_child = -1;  // already gone
    std::exit(1);
  }
  if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
    errno = 0;
    die(fmt::format("unexpected stop, signal {}", WSTOPSIG(status)));
  }
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, g_child, nullptr, &regs) != 0) die("PTRACE_GETREGS");
  regs.rax = 0;
  if (ptrace(PTRACE_SETREGS, g_child, nullptr, &regs) != 0) die("PTRACE_SETREGS");
  return static_cast<long>(regs.orig_rax);
}

double time_ptrace_batch(std::uint64_t n) {
  long bad = -1;
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    long nr = round_trip();
    if (nr != SYS_getppid) bad = nr;
  }
  auto t1 = Clock::now();
  if (bad != -1) {
    errno = 0;
    die(fmt::format("child made syscall {} instead of getppid", bad));
  }
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

double time_native_batch(std::uint64_t n) {
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) syscall(SYS_getppid);
  auto t1 = Clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t iters = 20000;
  std::uint64_t batches = 5;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--iters" && i + 1 < argc) {
      iters = parse_count(argv[++i], argv[0]);
    } else if (a.starts_with("--iters=")) {
      iters = parse_count(argv[i] + 8, argv[0]);
    } else if (a == "--batches" && i + 1 < argc) {
      batches = parse_count(argv[++i], argv[0]);
    } else if (a.starts_with("--batches=")) {
      batches = parse_count(argv[i] + 10, argv[0]);
    } else {
      usage(argv[0]);
    }
  }
  if (batches > iters) batches = iters;
  const std::uint64_t per_batch = iters / batches;
  const std::uint64_t warmup = std::clamp<std::uint64_t>(iters / 10, 100, 2000);

  // Native getppid, in-process.
  time_native_batch(warmup * 10);
  std::vector<double> native;
  for (std::uint64_t b = 0; b < batches; ++b) native.push_back(time_native_batch(per_batch));

  // The traced child.
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) child_main(parent);
  g_child = pid;

  int status = 0;
  while (waitpid(g_child, &status, __WALL) < 0) {
    if (errno != EINTR) die("waitpid (initial stop)");
  }
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
    errno = 0;
    fmt::print(stderr, "ptrace_rtt: child did not stop with SIGSTOP (status {:#x})\n", status);
    if (WIFSTOPPED(status)) reap_child();
    return 1;
  }
  if (ptrace(PTRACE_SETOPTIONS, g_child, nullptr,
             reinterpret_cast<void*>(PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)) != 0)
    die("PTRACE_SETOPTIONS");

  // The first PTRACE_SYSEMU suppresses the pending SIGSTOP (data = 0).
  for (std::uint64_t i = 0; i < warmup; ++i) round_trip();

  std::vector<double> traced;
  for (std::uint64_t b = 0; b < batches; ++b) traced.push_back(time_ptrace_batch(per_batch));

  reap_child();

  double mean = 0;
  for (double t : traced) mean += t / static_cast<double>(traced.size()); // equal batches
  fmt::print("{{\"bench\":\"ptrace_rtt\",\"iters\":{},\"ns_per_op\":{:.1f},\"batch_median_ns\":{:.1f},"
             "\"native_getppid_ns\":{:.1f},\"batches\":{}}}\n",
             per_batch * batches, mean, median(traced), median(native), batches);
  return 0;
}
