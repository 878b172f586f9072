// uml_fpfix: run User-Mode Linux 6.1 on a host whose FPU state is too big
// for it.
//
// UML up to 6.1 (Debian bookworm's user-mode-linux) saves and restores a guest
// process's FPU state with PTRACE_GETREGSET/PTRACE_SETREGSET(NT_X86_XSTATE)
// into a buffer of a fixed 2696 bytes. The host kernel's SETREGSET insists on
// the host's whole user xstate size, so on a host with a bigger one (AMX tile
// data alone is 8 KiB) every SETREGSET fails with EFAULT and UML kills its
// init at once:
//   userspace - ptrace set fp regs failed, errno = 14
//   Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b
// UML decides once, at boot, whether to use that path: if its probe
// PTRACE_GETREGSET(NT_X86_XSTATE) fails, it uses PTRACE_GETFPREGS/SETFPREGS
// (the 512-byte FXSAVE area) instead. This wrapper makes that probe fail:
// when the host's xstate size (CPUID leaf 0xD, subleaf 0, EBX: the size for
// the features enabled in XCR0) exceeds 2696 bytes, it installs a seccomp
// filter under which ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, ...)
// returns EIO (every other system call is allowed), then execs the program.
// Guest processes then keep only their x87/SSE state across UML's context
// switches, which the static benchmark programs are fine with. Newer UML
// kernels size the buffer at run time and need no wrapper.
//
// Usage:
//   uml_fpfix --probe            one JSON line: {"xstate_bytes":N,"uml_fp_bytes":2696,"filter":BOOL}
//   uml_fpfix PROGRAM [ARG...]   exec PROGRAM (found on PATH), with the filter if needed
// Exit status: PROGRAM's; 127 if it cannot be run; 2 bad usage; 1 if the
// filter cannot be installed.

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include <cpuid.h>
#include <elf.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

constexpr unsigned kUmlFpBytes = 2696;  // UML 6.1's HOST_FP_SIZE in bytes

unsigned host_xstate_bytes() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 0xD) return 0;
  __cpuid_count(0xD, 0, eax, ebx, ecx, edx);
  return ebx;
}

int install_filter() {
  constexpr unsigned kArgsLo0 = offsetof(struct seccomp_data, args[0]);
  constexpr unsigned kArgsLo2 = offsetof(struct seccomp_data, args[2]);
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArgsLo0),  // request (little-endian low word)
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PTRACE_GETREGSET, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArgsLo2),  // addr: the regset type
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NT_X86_XSTATE, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
  };
  struct sock_fprog fprog = {static_cast<unsigned short>(sizeof prog / sizeof prog[0]), prog};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: uml_fpfix --probe | PROGRAM [ARG...]\n");
    return 2;
  }
  unsigned xstate = host_xstate_bytes();
  bool need = xstate > kUmlFpBytes;
  if (std::strcmp(argv[1], "--probe") == 0) {
    std::printf("{\"xstate_bytes\":%u,\"uml_fp_bytes\":%u,\"filter\":%s}\n", xstate, kUmlFpBytes,
                need ? "true" : "false");
    return 0;
  }
  if (need && install_filter() != 0) {
    std::fprintf(stderr, "uml_fpfix: cannot install the seccomp filter: %s\n", std::strerror(errno));
    return 1;
  }
  execvp(argv[1], argv + 1);
  std::fprintf(stderr, "uml_fpfix: %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
