/* signals: generation, blocking, queueing and delivery of signals, in one
 * thread and between a parent and its children. One check line each:
 *   - kill(getpid()), raise() and tgkill() to itself run the handler before
 *     the call returns; siginfo: SI_USER / SI_TKILL, si_pid == getpid(),
 *     si_uid == getuid() (compared, not printed);
 *   - a blocked signal stays pending (sigpending) and runs exactly once when
 *     unblocked; a standard signal raised twice while blocked runs once;
 *   - SIGRTMIN+1 queued 3 times with sigqueue() values 1, 2, 3 while blocked
 *     is delivered 3 times, in order, with the values and SI_QUEUE; of two
 *     pending real-time signals the lower-numbered is delivered first;
 *   - SA_RESETHAND: the disposition is SIG_DFL after the first delivery;
 *   - SA_NODEFER: a handler that raises its own signal nests (depth 2);
 *     without it, the second delivery waits until the handler returned;
 *   - sa_mask: another signal raised inside the handler waits until the
 *     handler returns; both are blocked inside it;
 *   - sigsuspend() waits for a signal a child sends 50 ms later, returns
 *     EINTR and puts the mask back;
 *   - sigtimedwait() takes a pending blocked signal without running the
 *     handler, returns EAGAIN after a 50 ms timeout (and at once with a zero
 *     timeout) when nothing is pending;
 *   - SIG_IGN: an ignored signal is discarded, and ignoring a pending signal
 *     discards it;
 *   - default actions in a child: SIGWINCH, SIGURG and SIGCHLD are ignored,
 *     SIGUSR2 kills it (WTERMSIG == SIGUSR2);
 *   - SIGSTOP / SIGCONT / SIGKILL of a child, seen by waitpid() with
 *     WUNTRACED and WCONTINUED;
 *   - SIGKILL and SIGSTOP cannot be caught, ignored (EINVAL) or blocked;
 *   - kill(pid, 0) probes: 0 for itself, ESRCH for a reaped child; an
 *     invalid signal number gives EINVAL.
 * Output: a header line, 43 check lines, "signals: PASS". */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "guest_test.h"

struct rec {
  int signo, code, pid, uid, value;
};
#define MAXREC 16
static volatile struct rec recs[MAXREC];
static volatile int nrec;
static volatile sig_atomic_t plain_count;

static void on_plain(int sig) {
  (void)sig;
  plain_count++;
}

static void on_info(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  int i = nrec;
  if (i < MAXREC) {
    recs[i].signo = si->si_signo;
    recs[i].code = si->si_code;
    recs[i].pid = si->si_pid;
    recs[i].uid = (int)si->si_uid;
    recs[i].value = si->si_value.sival_int;
  }
  nrec = i + 1;
}

static void reset_recs(void) {
  nrec = 0;
  plain_count = 0;
}

static pid_t my_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/* SA_NODEFER nesting */
static volatile int depth, max_depth, nest_runs;
static void on_nest(int sig) {
  depth++;
  if (depth > max_depth) max_depth = depth;
  if (nest_runs++ == 0) raise(sig);
  depth--;
}

/* sa_mask */
static volatile int log_pos;
static volatile char order_log[8];
static volatile int inside_usr1_blocked, inside_usr2_blocked, usr2_ran_inside;
static void on_masked_usr1(int sig) {
  (void)sig;
  order_log[log_pos++] = '1';
  inside_usr1_blocked = is_blocked(SIGUSR1);
  inside_usr2_blocked = is_blocked(SIGUSR2);
  raise(SIGUSR2);
  usr2_ran_inside = order_log[log_pos - 1] == '2';
  order_log[log_pos++] = 'e';
}
static void on_masked_usr2(int sig) {
  (void)sig;
  order_log[log_pos++] = '2';
}

static void plain_tests(void) {
  set_handler(SIGUSR1, (void *)on_plain, 0);
  reset_recs();
  kill(getpid(), SIGUSR1);
  check(plain_count == 1, "kill(getpid(), SIGUSR1) ran the handler once before kill returned");
  raise(SIGUSR1);
  check(plain_count == 2, "raise(SIGUSR1) ran the handler once before raise returned");

  set_handler(SIGUSR1, (void *)on_info, SA_SIGINFO);
  reset_recs();
  kill(getpid(), SIGUSR1);
  check(nrec == 1 && recs[0].signo == SIGUSR1 && recs[0].code == SI_USER,
        "SA_SIGINFO after kill: si_signo SIGUSR1, si_code SI_USER");
  check(nrec == 1 && recs[0].pid == getpid() && recs[0].uid == (int)getuid(),
        "SA_SIGINFO after kill: si_pid is the sender's pid, si_uid its uid");
  reset_recs();
  long r = syscall(SYS_tgkill, getpid(), my_gettid(), SIGUSR1);
  check(r == 0 && nrec == 1 && recs[0].code == SI_TKILL && recs[0].pid == getpid(),
        "tgkill to its own thread: handler ran, si_code SI_TKILL, si_pid == getpid()");
}

static void blocking_tests(void) {
  set_handler(SIGUSR1, (void *)on_info, SA_SIGINFO);
  reset_recs();
  mask_one(SIG_BLOCK, SIGUSR1);
  raise(SIGUSR1);
  check(nrec == 0 && is_pending(SIGUSR1), "a blocked SIGUSR1 is not delivered and shows in sigpending");
  mask_one(SIG_UNBLOCK, SIGUSR1);
  check(nrec == 1 && !is_pending(SIGUSR1), "unblocking it delivers it exactly once");

  reset_recs();
  mask_one(SIG_BLOCK, SIGUSR1);
  raise(SIGUSR1);
  raise(SIGUSR1);
  mask_one(SIG_UNBLOCK, SIGUSR1);
  check(nrec == 1, "a standard signal raised twice while blocked is delivered once");

  int rt = SIGRTMIN + 1;
  set_handler(rt, (void *)on_info, SA_SIGINFO);
  reset_recs();
  mask_one(SIG_BLOCK, rt);
  int queued = 1;
  for (int v = 1; v <= 3; v++) queued &= sigqueue(getpid(), rt, (union sigval){.sival_int = v}) == 0;
  check(queued && nrec == 0 && is_pending(rt), "SIGRTMIN+1 queued 3 times while blocked is pending");
  mask_one(SIG_UNBLOCK, rt);
  int in_order = nrec == 3;
  for (int i = 0; in_order && i < 3; i++)
    in_order = recs[i].signo == rt && recs[i].value == i + 1 && recs[i].code == SI_QUEUE && recs[i].pid == getpid();
  check(in_order, "unblocking delivers it 3 times with values 1, 2, 3 in order, si_code SI_QUEUE");

  /* Which of two pending signals is taken first: sigtimedwait shows the
   * order directly. (Handlers would show it only with each one's sa_mask
   * blocking the other: otherwise the second signal's frame is pushed on top
   * of the first's before either runs, and its handler runs first.) */
  int rt2 = SIGRTMIN + 2;
  sigset_t both;
  sigemptyset(&both);
  sigaddset(&both, rt);
  sigaddset(&both, rt2);
  sigprocmask(SIG_BLOCK, &both, NULL);
  sigqueue(getpid(), rt2, (union sigval){.sival_int = 20});
  sigqueue(getpid(), rt, (union sigval){.sival_int = 10});
  struct timespec ts0 = {0, 0};
  siginfo_t a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  int first = sigtimedwait(&both, &a, &ts0), second = sigtimedwait(&both, &b, &ts0);
  check(first == rt && a.si_value.sival_int == 10 && second == rt2 && b.si_value.sival_int == 20,
        "of SIGRTMIN+2 and SIGRTMIN+1 pending, sigtimedwait takes SIGRTMIN+1 first");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_info;
  sa.sa_flags = SA_SIGINFO;
  sa.sa_mask = both;
  sigaction(rt, &sa, NULL);
  sigaction(rt2, &sa, NULL);
  reset_recs();
  sigqueue(getpid(), rt2, (union sigval){.sival_int = 20});
  sigqueue(getpid(), rt, (union sigval){.sival_int = 10});
  sigprocmask(SIG_UNBLOCK, &both, NULL);
  check(nrec == 2 && recs[0].value == 10 && recs[1].value == 20,
        "with handlers that block each other, SIGRTMIN+1's runs first, then SIGRTMIN+2's");
  set_disposition(rt, SIG_DFL);
  set_disposition(rt2, SIG_DFL);
}

static void flag_tests(void) {
  /* SA_RESETHAND */
  set_handler(SIGUSR2, (void *)on_plain, SA_RESETHAND);
  reset_recs();
  raise(SIGUSR2);
  struct sigaction old;
  memset(&old, 0, sizeof old);
  sigaction(SIGUSR2, NULL, &old);
  check(plain_count == 1 && old.sa_handler == SIG_DFL, "SA_RESETHAND: the handler ran once, then SIGUSR2 is SIG_DFL");

  /* SA_NODEFER */
  set_handler(SIGUSR1, (void *)on_nest, SA_NODEFER);
  depth = max_depth = nest_runs = 0;
  raise(SIGUSR1);
  check(nest_runs == 2 && max_depth == 2, "SA_NODEFER: a handler raising its own signal nests to depth 2");
  set_handler(SIGUSR1, (void *)on_nest, 0);
  depth = max_depth = nest_runs = 0;
  raise(SIGUSR1);
  check(nest_runs == 2 && max_depth == 1,
        "without SA_NODEFER the second delivery waits until the handler returned (depth 1, 2 runs)");

  /* sa_mask */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_masked_usr1;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  sigaction(SIGUSR1, &sa, NULL);
  set_handler(SIGUSR2, (void *)on_masked_usr2, 0);
  log_pos = 0;
  raise(SIGUSR1);
  check(inside_usr1_blocked && inside_usr2_blocked, "inside the handler its signal and its sa_mask are blocked");
  check(log_pos == 3 && order_log[0] == '1' && order_log[1] == 'e' && order_log[2] == '2' && !usr2_ran_inside,
        "a signal in sa_mask raised inside the handler runs after the handler returned");
  check(!is_blocked(SIGUSR1) && !is_blocked(SIGUSR2), "after the handler the mask is restored");
}

static void wait_tests(void) {
  /* sigsuspend */
  set_handler(SIGUSR1, (void *)on_info, SA_SIGINFO);
  reset_recs();
  mask_one(SIG_BLOCK, SIGUSR1);
  pid_t child = gt_fork();
  if (child == 0) {
    sleep_ms(50);
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  sigset_t during;
  sigprocmask(SIG_BLOCK, NULL, &during);
  sigdelset(&during, SIGUSR1);
  int r = sigsuspend(&during);
  int e = errno;
  check(r == -1 && e == EINTR && nrec == 1 && recs[0].pid == child && recs[0].code == SI_USER,
        "sigsuspend returned EINTR after the handler ran for the child's SIGUSR1 (si_pid == the child)");
  check(is_blocked(SIGUSR1), "sigsuspend put the old mask back (SIGUSR1 blocked again)");
  int st;
  check_status(child > 0 ? wait_for(child, &st, 0) == child ? st : -1 : -1, 0, 0, "the signalling child exited 0");
  mask_one(SIG_UNBLOCK, SIGUSR1);

  /* sigtimedwait */
  set_handler(SIGUSR2, (void *)on_info, SA_SIGINFO);
  reset_recs();
  mask_one(SIG_BLOCK, SIGUSR2);
  raise(SIGUSR2);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  struct timespec one_s = {1, 0};
  /* The system call itself: glibc's sigtimedwait() reports SI_TKILL as
   * SI_USER. */
  r = (int)syscall(SYS_rt_sigtimedwait, &set, &si, &one_s, (size_t)8);
  check(r == SIGUSR2 && si.si_signo == SIGUSR2 && si.si_code == SI_TKILL && si.si_pid == getpid() && nrec == 0 &&
            !is_pending(SIGUSR2),
        "sigtimedwait takes a pending SIGUSR2 (SI_TKILL) without running the handler");
  struct timespec ms50 = {0, 50 * 1000 * 1000};
  int64_t t0 = mono_ns();
  r = sigtimedwait(&set, &si, &ms50);
  e = errno;
  int64_t waited = mono_ns() - t0;
  check_call(r, e, -1, EAGAIN, "sigtimedwait with nothing pending gives EAGAIN after its 50 ms timeout");
  check(waited >= 50 * 1000 * 1000, "sigtimedwait waited at least 50 ms");
  struct timespec zero = {0, 0};
  r = sigtimedwait(&set, &si, &zero);
  check_ret(r, -1, EAGAIN, "sigtimedwait with a zero timeout gives EAGAIN at once");
  mask_one(SIG_UNBLOCK, SIGUSR2);
  check(nrec == 0, "the handler never ran for the signal sigtimedwait took");
}

static void ignore_tests(void) {
  set_disposition(SIGUSR1, SIG_IGN);
  raise(SIGUSR1);
  check(!is_pending(SIGUSR1), "an ignored SIGUSR1 is discarded (not pending)");
  set_handler(SIGUSR1, (void *)on_info, SA_SIGINFO);
  reset_recs();
  mask_one(SIG_BLOCK, SIGUSR1);
  raise(SIGUSR1);
  int was_pending = is_pending(SIGUSR1);
  set_disposition(SIGUSR1, SIG_IGN);
  int still = is_pending(SIGUSR1);
  set_handler(SIGUSR1, (void *)on_info, SA_SIGINFO);
  mask_one(SIG_UNBLOCK, SIGUSR1);
  check(was_pending && !still && nrec == 0, "setting SIG_IGN discards a pending blocked signal");
}

static void child_tests(void) {
  /* Default actions. */
  pid_t pid = gt_fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int sigs[] = {SIGWINCH, SIGURG, SIGCHLD, SIGUSR2};
    for (int i = 0; i < 4; i++) set_disposition(sigs[i], SIG_DFL);
    raise(SIGWINCH);
    raise(SIGURG);
    raise(SIGCHLD);
    raise(SIGUSR2);
    _exit(3);
  }
  int st = -1;
  if (pid < 0 || wait_for(pid, &st, 0) != pid) st = -1;
  check_status(st, 0, SIGUSR2,
               "a child raising SIGWINCH, SIGURG, SIGCHLD (ignored by default), then SIGUSR2 dies of SIGUSR2");

  /* Stop and continue. */
  pid = gt_fork();
  if (pid == 0) {
    for (;;) pause();
  }
  int ok_stop = 0, ok_cont = 0, ok_stop2 = 0;
  if (pid > 0) {
    kill(pid, SIGSTOP);
    ok_stop = wait_for(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
    kill(pid, SIGCONT);
    ok_cont = wait_for(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st);
    kill(pid, SIGSTOP);
    ok_stop2 = wait_for(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
  }
  check(ok_stop, "SIGSTOP stops a child: waitpid(WUNTRACED) reports it stopped by SIGSTOP");
  check(ok_cont, "SIGCONT continues it: waitpid(WCONTINUED) reports it continued");
  check(ok_stop2, "a second SIGSTOP stops it again");
  st = -1;
  if (pid > 0) {
    kill(pid, SIGKILL);
    if (wait_for(pid, &st, 0) != pid) st = -1;
  }
  check_status(st, 0, SIGKILL, "SIGKILL ends the stopped child (WTERMSIG == SIGKILL)");

  /* Probing with signal 0. */
  check_ret(kill(getpid(), 0), 0, 0, "kill(getpid(), 0) succeeds");
  pid = gt_fork();
  if (pid == 0) _exit(0);
  if (pid > 0) wait_for(pid, &st, 0);
  check_ret(kill(pid, 0), -1, ESRCH, "kill(pid, 0) of a reaped child gives ESRCH");
  check_ret(kill(getpid(), 1000), -1, EINVAL, "kill with signal number 1000 gives EINVAL");
}

static void uncatchable_tests(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_plain;
  sigemptyset(&sa.sa_mask);
  check_ret(sigaction(SIGKILL, &sa, NULL), -1, EINVAL, "sigaction(SIGKILL) with a handler gives EINVAL");
  check_ret(sigaction(SIGSTOP, &sa, NULL), -1, EINVAL, "sigaction(SIGSTOP) with a handler gives EINVAL");
  sa.sa_handler = SIG_IGN;
  check_ret(sigaction(SIGKILL, &sa, NULL), -1, EINVAL, "sigaction(SIGKILL, SIG_IGN) gives EINVAL");
  struct sigaction old;
  memset(&old, 0, sizeof old);
  check_ret(sigaction(SIGKILL, NULL, &old), 0, 0, "sigaction(SIGKILL) can still be queried");
  check(old.sa_handler == SIG_DFL, "SIGKILL's disposition is SIG_DFL");
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGKILL);
  sigaddset(&s, SIGSTOP);
  sigprocmask(SIG_BLOCK, &s, NULL);
  check(!is_blocked(SIGKILL) && !is_blocked(SIGSTOP), "sigprocmask silently leaves SIGKILL and SIGSTOP unblocked");
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  sigset_t pend;
  sigemptyset(&pend);
  sigpending(&pend);
  int any = 0;
  for (int sig = 1; sig < 32; sig++) any |= sigismember(&pend, sig) == 1;
  check(!any, "nothing is left pending at the end");
}

int main(void) {
  printf("signals: generation, blocking, queueing, delivery\n");
  plain_tests();
  blocking_tests();
  flag_tests();
  wait_tests();
  ignore_tests();
  child_tests();
  uncatchable_tests();
  return finish("signals");
}
