/* sigsegv: synchronous signals from faults, caught by an SA_SIGINFO handler
 * that records si_signo, si_code and si_addr and siglongjmp()s out.
 *   a. read of address 0x10             SIGSEGV SEGV_MAPERR, si_addr 0x10
 *   b. write to a PROT_READ page        SIGSEGV SEGV_ACCERR, si_addr = the byte
 *   c. read of a PROT_NONE page         SIGSEGV SEGV_ACCERR, si_addr = the byte
 *   d. read of an unmapped page         SIGSEGV SEGV_MAPERR, si_addr = the byte
 *   e. call into a PROT_READ|PROT_WRITE page (not executable)
 *                                       SIGSEGV SEGV_ACCERR, si_addr = the page
 *   f. integer division by zero         SIGFPE  FPE_INTDIV
 *   g. ud2                              SIGILL  ILL_ILLOPN, si_addr = the ud2
 *   h. int3                             SIGTRAP, si_code printed as Linux
 *                                       gives it (SI_KERNEL on x86-64)
 * then: the handler can return instead of jumping out, after making the page
 * writable (the faulting write is retried and lands); the fault signal is
 * not left blocked after siglongjmp; and in a child, a fault with SIGSEGV
 * blocked kills the child with SIGSEGV anyway (a blocked fault signal cannot
 * be held back), as does a fault with no handler.
 * Codes are printed symbolically; addresses only compared (except the
 * constant 0x10). Output: a header line, 16 check lines and the fact line
 * "int3: SIGTRAP SI_KERNEL" (the code as the kernel gives it), then
 * "sigsegv: PASS". */
#define _GNU_SOURCE
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "guest_test.h"

#define PG GUEST_PAGE_SIZE

static sigjmp_buf env;
static volatile int got_sig, got_code, handler_runs;
static void *volatile got_addr;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  got_sig = si->si_signo == sig ? sig : -1;
  got_code = si->si_code;
  got_addr = si->si_addr;
  handler_runs++;
  siglongjmp(env, 1);
}

/* Runs fn; returns 1 if it was left through the handler. */
static int faults(void (*fn)(void)) {
  got_sig = 0;
  got_code = 0;
  got_addr = NULL;
  if (sigsetjmp(env, 1) == 0) {
    fn();
    return 0;
  }
  return 1;
}

static volatile uintptr_t low_addr = 0x10;
static volatile char *volatile target;
static void (*volatile jump_target)(void);
static volatile int zero, seven = 7, sink;
static void *volatile ud2_addr;

static void do_read_low(void) { sink = *(volatile int *)low_addr; }
static void do_write_target(void) { *target = 1; }
static void do_read_target(void) { sink = *target; }
static void do_jump(void) { jump_target(); }
static void do_div(void) { sink = seven / zero; } /* 1 / x would be folded into a compare */
static void do_ud2(void) {
  __asm__ volatile(
      "lea 1f(%%rip), %%rax\n\t"
      "mov %%rax, %0\n\t"
      "1: ud2\n\t"
      : "=m"(ud2_addr)
      :
      : "rax", "memory");
}
static void do_int3(void) { __asm__ volatile("int3" ::: "memory"); }

/* One "ok" line for a fault with the expected signal, code and address
 * (want_addr NULL: address not checked). */
static void expect(const char *what, void (*fn)(void), int sig, int code, void *want_addr, const char *addr_text) {
  int jumped = faults(fn);
  int ok = jumped && got_sig == sig && got_code == code && (want_addr == NULL || got_addr == want_addr);
  if (ok) {
    check(1, "%s: %s %s%s%s", what, sig_name(sig), code_name(sig, code), addr_text ? ", si_addr " : "",
          addr_text ? addr_text : "");
    return;
  }
  char got[96];
  if (!jumped)
    snprintf(got, sizeof got, "no signal");
  else
    snprintf(got, sizeof got, "%s %s%s", got_sig == -1 ? "wrong si_signo" : sig_name(got_sig),
             code_name(got_sig, got_code), want_addr && got_addr != want_addr ? ", wrong si_addr" : "");
  check(0, "%s: %s %s%s%s (got %s)", what, sig_name(sig), code_name(sig, code), addr_text ? ", si_addr " : "",
        addr_text ? addr_text : "", got);
}

/* A handler that makes the faulting page writable and returns. */
static void on_fault_fix(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  handler_runs++;
  uintptr_t page = (uintptr_t)si->si_addr & ~(PG - 1);
  mprotect((void *)page, PG, PROT_READ | PROT_WRITE);
}

/* In a child: fault (write to a PROT_READ page) with SIGSEGV blocked
 * (blocked != 0) or with no handler; returns the wait status. */
static int child_fault(char *ro_page, int blocked) {
  pid_t pid = gt_fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (blocked)
      mask_one(SIG_BLOCK, SIGSEGV);
    else
      set_disposition(SIGSEGV, SIG_DFL);
    ro_page[0] = 1;
    _exit(0);
  }
  int st = -1;
  if (pid < 0 || wait_for(pid, &st, 0) != pid) return -1;
  return st;
}

int main(void) {
  printf("sigsegv: fault signals and their siginfo\n");
  int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) set_handler(sigs[i], (void *)on_fault, SA_SIGINFO);

  char *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *gone = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *rw = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!check(ro != MAP_FAILED && none != MAP_FAILED && gone != MAP_FAILED && rw != MAP_FAILED, "mmap test pages"))
    return finish("sigsegv");
  munmap(gone, PG);
  memset(rw, 0xC3, PG); /* ret, ret, ... */

  expect("read of address 0x10", do_read_low, SIGSEGV, SEGV_MAPERR, (void *)0x10, "0x10");
  expect("read of address 0x10 again", do_read_low, SIGSEGV, SEGV_MAPERR, (void *)0x10, "0x10");
  target = ro + 123;
  expect("write to a PROT_READ page", do_write_target, SIGSEGV, SEGV_ACCERR, ro + 123, "= the byte");
  target = none + 5;
  expect("read of a PROT_NONE page", do_read_target, SIGSEGV, SEGV_ACCERR, none + 5, "= the byte");
  target = gone + 9;
  expect("read of an unmapped page", do_read_target, SIGSEGV, SEGV_MAPERR, gone + 9, "= the byte");
  jump_target = (void (*)(void))rw;
  expect("call into a non-executable page", do_jump, SIGSEGV, SEGV_ACCERR, rw, "= the page");
  expect("integer division by zero", do_div, SIGFPE, FPE_INTDIV, NULL, NULL);
  expect("ud2", do_ud2, SIGILL, ILL_ILLOPN, NULL, NULL);
  check(got_addr == ud2_addr && ud2_addr != NULL, "ud2: si_addr is the address of the ud2 instruction");

  int jumped = faults(do_int3);
  check(jumped && got_sig == SIGTRAP, "int3 raises SIGTRAP");
  printf("int3: SIGTRAP %s\n", jumped ? code_name(SIGTRAP, got_code) : "not delivered");

  check(!is_blocked(SIGSEGV) && !is_blocked(SIGFPE) && !is_blocked(SIGILL) && !is_blocked(SIGTRAP),
        "no fault signal is left blocked after siglongjmp out of the handler");
  check(handler_runs == 9, "the handler ran once per fault (9 times)");

  /* A handler that fixes the cause and returns: the write is retried. */
  char *fixme = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  set_handler(SIGSEGV, (void *)on_fault_fix, SA_SIGINFO);
  handler_runs = 0;
  if (fixme != MAP_FAILED) {
    ((volatile char *)fixme)[77] = 42;
  }
  check(fixme != MAP_FAILED && handler_runs == 1 && fixme[77] == 42,
        "a handler that mprotects the page and returns: the faulting write is retried and lands");

  /* Blocked or default SIGSEGV from a fault kills the process. */
  set_handler(SIGSEGV, (void *)on_fault, SA_SIGINFO);
  check_status(child_fault(ro, 1), 0, SIGSEGV, "a fault with SIGSEGV blocked kills the process with SIGSEGV");
  check_status(child_fault(ro, 0), 0, SIGSEGV, "a fault with SIGSEGV at SIG_DFL kills the process with SIGSEGV");
  return finish("sigsegv");
}
