// The stub: the only code of ours that runs inside a host child.
//
// Freestanding (no libc, no SSE, no stack protector), linked at kStubText above
// guest user space. At start it maps the kernel's channel (ops page read-only,
// result page read-write) and traps with int3, passing the address of
// stub_batch in rax. Every later batch starts at stub_batch with a fresh stack
// pointer: it runs the listed host syscalls, records each result and its cost
// in TSC cycles, and traps back with int3. Guest code never runs stub code
// unless it jumps here itself (see the README on isolation).
#include <asm/unistd.h>
#include <linux/mman.h>

#include "arch-um/stub_abi.h"

using namespace gk::stub;

namespace {

inline long raw_syscall(long nr, long a, long b, long c, long d, long e, long f) {
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t(hi) << 32) | lo;
}

[[noreturn]] void die(long code) {
  for (;;) raw_syscall(__NR_exit_group, code, 0, 0, 0, 0, 0);
}

} // namespace

extern "C" [[noreturn]] void stub_batch() {
  for (;;) {
    const volatile OpsPage* ops = reinterpret_cast<const volatile OpsPage*>(kOpsPage);
    volatile ResultPage* res = reinterpret_cast<volatile ResultPage*>(kResultPage);
    uint32_t n = ops->count;
    if (n > kMaxOps) n = kMaxOps;
    uint32_t done = 0;
    while (done < n) {
      const volatile Op& op = ops->ops[done];
      uint64_t t0 = rdtsc();
      long r = raw_syscall(long(op.nr), long(op.args[0]), long(op.args[1]), long(op.args[2]),
                           long(op.args[3]), long(op.args[4]), long(op.args[5]));
      uint64_t t1 = rdtsc();
      res->results[done].ret = r;
      res->results[done].cycles = t1 - t0;
      ++done;
      if (r < 0 && r > -4096) break; // the kernel decides what a failure means
    }
    res->done = done;
    asm volatile("int3" ::: "memory");
  }
}

extern "C" [[noreturn]] void stub_start_c() {
  long r = raw_syscall(__NR_mmap, long(kOpsPage), long(kOpsSize), PROT_READ, MAP_SHARED | MAP_FIXED,
                       kChannelFd, 0);
  if (r != long(kOpsPage)) die(120);
  r = raw_syscall(__NR_mmap, long(kResultPage), long(kResultSize), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_FIXED, kChannelFd, long(kOpsSize));
  if (r != long(kResultPage)) die(121);
  raw_syscall(__NR_close, kChannelFd, 0, 0, 0, 0, 0);
  // Hand-shake: rax = batch entry point. The kernel never returns here.
  asm volatile("int3" ::"a"(&stub_batch) : "memory");
  die(122);
}

asm(".globl _start\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  and $-16, %rsp\n"
    "  call stub_start_c\n"
    "  hlt\n");
