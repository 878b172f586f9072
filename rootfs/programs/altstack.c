/* altstack: alternate signal stacks (sigaltstack, SA_ONSTACK).
 *   - sigaltstack() with a 64 KiB malloc()ed stack; querying it gives the
 *     same ss_sp / ss_size and no SS_ONSTACK outside a handler;
 *   - an SA_ONSTACK handler runs on it: the address of one of its locals is
 *     inside the stack; sigaltstack(NULL, &old) inside says SS_ONSTACK, and
 *     changing the stack from inside fails with EPERM;
 *   - a handler without SA_ONSTACK runs on the normal stack;
 *   - a forked child inherits the alternate stack;
 *   - SS_DISABLE turns it off (the query then says SS_DISABLE) and an
 *     SA_ONSTACK handler then runs on the normal stack; a stack smaller than
 *     MINSIGSTKSZ is refused with ENOMEM;
 *   - stack overflow: infinite recursion on a 256 KiB stack (mmap()ed, with a
 *     PROT_NONE guard page below it, switched to with a few instructions of
 *     inline asm so that the test does not depend on RLIMIT_STACK or on how
 *     the main stack grows) hits the guard page; the SIGSEGV handler
 *     (SA_ONSTACK | SA_SIGINFO) runs on the alternate stack, sees
 *     SEGV_ACCERR with si_addr inside the guard page, and siglongjmp()s out.
 * Output: a header line, 12 check lines, "altstack: PASS". */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "guest_test.h"

#define ALT_SIZE (64 * 1024)
#define PG GUEST_PAGE_SIZE
#define RUN_SIZE (256 * 1024)

static char *alt;
static volatile int on_alt, said_onstack, change_eperm, runs;

static int inside_alt(const void *p) { return (const char *)p >= alt && (const char *)p < alt + ALT_SIZE; }

static void on_usr1(int sig) {
  (void)sig;
  volatile char local = 0;
  on_alt = inside_alt((const void *)&local);
  stack_t cur;
  memset(&cur, 0, sizeof cur);
  said_onstack = sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_ONSTACK);
  stack_t other = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
  errno = 0;
  change_eperm = sigaltstack(&other, NULL) == -1 && errno == EPERM;
  runs++;
  (void)local;
}

/* Stack overflow */
static sigjmp_buf env;
static char *guard;
static volatile int segv_on_alt, segv_code;
static volatile int segv_in_guard;
static volatile int keep_going = 1;

static void on_segv(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  volatile char local = 0;
  segv_on_alt = inside_alt((const void *)&local);
  segv_code = si->si_code;
  segv_in_guard = (char *)si->si_addr >= guard && (char *)si->si_addr < guard + PG;
  (void)local;
  siglongjmp(env, 1);
}

static volatile unsigned long deepest;
__attribute__((noinline)) static void recurse(unsigned long n) {
  volatile char frame[512];
  frame[0] = (char)n;
  deepest = n;
  if (keep_going) recurse(n + 1);
  frame[1] = frame[0]; /* not a tail call */
}

static void overflow(void) { recurse(0); }

/* Calls fn on the stack whose top is `top`. fn does not return here: it is
 * left with siglongjmp(), which restores the caller's stack pointer. */
static void call_on_stack(char *top, void (*fn)(void)) {
  __asm__ volatile(
      "mov %%rsp, %%rbx\n\t"
      "mov %0, %%rsp\n\t"
      "call *%1\n\t"
      "mov %%rbx, %%rsp\n\t"
      :
      : "r"(top), "r"(fn)
      : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}

int main(void) {
  printf("altstack: sigaltstack and SA_ONSTACK\n");
  alt = malloc(ALT_SIZE);
  stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
  check_ret(alt ? sigaltstack(&ss, NULL) : -1, 0, 0, "sigaltstack installs a 64 KiB stack");
  stack_t cur;
  memset(&cur, 0, sizeof cur);
  sigaltstack(NULL, &cur);
  check(cur.ss_sp == alt && cur.ss_size == ALT_SIZE && !(cur.ss_flags & (SS_ONSTACK | SS_DISABLE)),
        "querying it gives the same stack, not SS_ONSTACK outside a handler");

  set_handler(SIGUSR1, (void *)on_usr1, SA_ONSTACK);
  raise(SIGUSR1);
  check(runs == 1 && on_alt, "an SA_ONSTACK handler runs on the alternate stack");
  check(said_onstack, "inside it sigaltstack reports SS_ONSTACK");
  check(change_eperm, "changing the alternate stack from a handler running on it gives EPERM");

  set_handler(SIGUSR1, (void *)on_usr1, 0);
  raise(SIGUSR1);
  check(runs == 2 && !on_alt && !said_onstack, "a handler without SA_ONSTACK runs on the normal stack");

  set_handler(SIGUSR1, (void *)on_usr1, SA_ONSTACK);
  pid_t pid = gt_fork();
  if (pid == 0) {
    raise(SIGUSR1);
    _exit(on_alt && said_onstack ? 0 : 1);
  }
  int st = -1;
  if (pid < 0 || wait_for(pid, &st, 0) != pid) st = -1;
  check_status(st, 0, 0, "a forked child inherits the alternate stack");

  /* Overflow. */
  char *region = mmap(NULL, RUN_SIZE + PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region != MAP_FAILED && mprotect(region, PG, PROT_NONE) == 0) {
    guard = region;
    set_handler(SIGSEGV, (void *)on_segv, SA_ONSTACK | SA_SIGINFO);
    if (sigsetjmp(env, 1) == 0) call_on_stack(region + PG + RUN_SIZE, overflow);
    check(deepest > 100, "infinite recursion ran until the stack overflowed");
    check(segv_on_alt, "the SIGSEGV handler for the stack overflow ran on the alternate stack");
    check(segv_code == SEGV_ACCERR && segv_in_guard,
          "the overflow faulted in the guard page: SEGV_ACCERR, si_addr inside it");
  } else {
    check(0, "mmap and mprotect of the overflow stack");
  }

  stack_t off = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
  memset(&cur, 0, sizeof cur);
  int r = sigaltstack(&off, NULL);
  sigaltstack(NULL, &cur);
  raise(SIGUSR1);
  check(r == 0 && (cur.ss_flags & SS_DISABLE) && runs == 3 && !on_alt,
        "SS_DISABLE turns it off: the query says SS_DISABLE, SA_ONSTACK handlers use the normal stack");
  stack_t tiny = {.ss_sp = alt, .ss_size = 512, .ss_flags = 0};
  check_ret(sigaltstack(&tiny, NULL), -1, ENOMEM, "a stack smaller than MINSIGSTKSZ gives ENOMEM");
  return finish("altstack");
}
