// The syscall table: handlers are plain functions of (context, arguments)
// returning a value or -errno, registered by one file per area.
#pragma once
#include <array>
#include <cstdint>

#include <climits>

#include "guestkernel/task.h"

namespace gk {

class Kernel;

struct SyscallArgs {
  uint64_t nr;
  uint64_t a[6];
};

struct SyscallCtx {
  Kernel& kernel;
  Task& task;
  Process& proc() { return *task.proc; }
  mm::AddressSpace& mm() { return *task.mm->as; }
  user_regs_struct& regs() { return task.regs; } // the caller marks them dirty
};

// A handler's result when it has set the registers itself (execve, sigreturn).
inline constexpr int64_t kSyscallNoReturn = INT64_MIN;

using SyscallFn = int64_t (*)(SyscallCtx&, const SyscallArgs&);

struct SyscallTable {
  static constexpr size_t kSize = 512;
  std::array<SyscallFn, kSize> fn{};
  // Argument kinds for --trace, one char per argument:
  // d int (32-bit), l long, u unsigned long, x hex, o octal, s string,
  // b buffer sized by the next argument, r buffer sized by the return value.
  std::array<const char*, kSize> sig{};
  void add(long nr, SyscallFn f, const char* signature) {
    fn[size_t(nr)] = f;
    sig[size_t(nr)] = signature;
  }
};

// x86-64 syscall names, from the host's <asm/unistd_64.h> at build time.
const char* syscall_name(uint64_t nr);

// One per area (syscalls/sys_*.cpp).
void register_io_syscalls(SyscallTable& t);
void register_mm_syscalls(SyscallTable& t);
void register_process_syscalls(SyscallTable& t);
void register_signal_syscalls(SyscallTable& t);
void register_info_syscalls(SyscallTable& t);
void register_time_syscalls(SyscallTable& t);
void register_futex_syscalls(SyscallTable& t);
void register_pipe_syscalls(SyscallTable& t);
void register_fs_open_syscalls(SyscallTable& t);
void register_fs_dir_syscalls(SyscallTable& t);
void register_fs_attr_syscalls(SyscallTable& t);
void register_fs_ctx_syscalls(SyscallTable& t);
void register_lock_syscalls(SyscallTable& t);
void register_creds_syscalls(SyscallTable& t);
void register_prctl_syscalls(SyscallTable& t);
void register_syslog_syscalls(SyscallTable& t);
void register_numa_syscalls(SyscallTable& t);
void register_timerfd_syscalls(SyscallTable& t);
void register_signalfd_syscalls(SyscallTable& t);

// fcntl's lock commands and what close() does to locks (sys_lock.cpp).
int64_t fcntl_lock(SyscallCtx& c, const std::shared_ptr<File>& f, int cmd, uint64_t uarg);
// Before `f` leaves p's table: POSIX locks of p on its file go; flock and
// OFD locks go with the last reference (`f` and the table's count as two).
void release_locks_on_close(Kernel& k, Process& p, const std::shared_ptr<File>& f);
void register_poll_syscalls(SyscallTable& t);
void register_eventfd_syscalls(SyscallTable& t);
void register_epoll_syscalls(SyscallTable& t);
void register_socket_syscalls(SyscallTable& t);
void register_sockopt_syscalls(SyscallTable& t);
void register_socket_msg_syscalls(SyscallTable& t);

inline SyscallTable make_syscall_table() {
  SyscallTable t;
  register_io_syscalls(t);
  register_mm_syscalls(t);
  register_process_syscalls(t);
  register_signal_syscalls(t);
  register_info_syscalls(t);
  register_time_syscalls(t);
  register_futex_syscalls(t);
  register_pipe_syscalls(t);
  register_fs_open_syscalls(t);
  register_fs_dir_syscalls(t);
  register_fs_attr_syscalls(t);
  register_fs_ctx_syscalls(t);
  register_lock_syscalls(t);
  register_creds_syscalls(t);
  register_prctl_syscalls(t);
  register_syslog_syscalls(t);
  register_numa_syscalls(t);
  register_timerfd_syscalls(t);
  register_signalfd_syscalls(t);
  register_poll_syscalls(t);
  register_eventfd_syscalls(t);
  register_epoll_syscalls(t);
  register_socket_syscalls(t);
  register_sockopt_syscalls(t);
  register_socket_msg_syscalls(t);
  return t;
}

} // namespace gk
