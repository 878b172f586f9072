/* sigchld: SIGCHLD and waiting for children.
 *   1. 5 children exit with 10..14 (after 0..40 ms); an SA_SIGINFO SIGCHLD
 *      handler reaps with waitpid(-1, WNOHANG) in a loop; main waits in
 *      sigsuspend() with SIGCHLD blocked outside it (no lost wake-up). All 5
 *      are reaped with the right codes; the handler ran between 1 and 5
 *      times (SIGCHLD coalesces; the count itself is not printed); every
 *      siginfo it got was SIGCHLD / CLD_EXITED with si_status in 10..14 and
 *      si_pid one of the children; afterwards waitpid(-1) gives ECHILD;
 *   2. a child killed by SIGTERM: CLD_KILLED, si_status SIGTERM;
 *   3. with SIGCHLD blocked and collected by sigtimedwait(): SIGSTOP of a
 *      child gives CLD_STOPPED/SIGSTOP, SIGCONT gives CLD_CONTINUED/SIGCONT;
 *      with SA_NOCLDSTOP a stop sends no SIGCHLD; SIGKILL gives CLD_KILLED;
 *   4. waitid(): WNOHANG with a running child returns 0 (si_pid 0); WEXITED
 *      with WNOWAIT reports CLD_EXITED / 42 and leaves the child waitable,
 *      the second waitid() reaps it; waitid() with no children: ECHILD;
 *   5. SIGCHLD set to SIG_IGN: children are reaped by the kernel and
 *      waitpid(-1) blocks until they are gone, then gives ECHILD.
 * Output: a header line, 17 check lines, "sigchld: PASS". */
#define _GNU_SOURCE

#include "guest_test.h"

#define NCHILD 5

static volatile int handler_runs, reaped, bad_info, exit_mask, last_code, last_status;
static volatile pid_t kids[NCHILD];

static int is_kid(pid_t p) {
  for (int i = 0; i < NCHILD; i++)
    if (kids[i] == p) return 1;
  return 0;
}

static void on_chld(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  int saved = errno;
  handler_runs++;
  last_code = si->si_code;
  last_status = si->si_status;
  if (sig != SIGCHLD || si->si_signo != SIGCHLD || si->si_code != CLD_EXITED || si->si_status < 10 ||
      si->si_status > 14 || !is_kid(si->si_pid))
    bad_info++;
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    reaped++;
    if (WIFEXITED(st) && WEXITSTATUS(st) >= 10 && WEXITSTATUS(st) <= 14 && is_kid(p))
      exit_mask |= 1 << (WEXITSTATUS(st) - 10);
  }
  errno = saved;
}

/* For phase 2: records, reaps everything. */
static volatile int killed_seen;
static void on_chld_killed(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  int saved = errno;
  last_code = si->si_code;
  last_status = si->si_status;
  int st;
  while (waitpid(-1, &st, WNOHANG) > 0)
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) killed_seen++;
  errno = saved;
}

static void phase_exits(void) {
  set_handler(SIGCHLD, (void *)on_chld, SA_SIGINFO);
  sigset_t chld, outside;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &outside);
  sigdelset(&outside, SIGCHLD);
  int forked = 0;
  for (int i = 0; i < NCHILD; i++) {
    pid_t p = gt_fork();
    if (p == 0) {
      sleep_ms(10L * i);
      _exit(10 + i);
    }
    if (p > 0) {
      kids[i] = p;
      forked++;
    }
  }
  check(forked == NCHILD, "forked %d children", NCHILD);
  int64_t deadline = mono_ns() + 10LL * 1000 * 1000 * 1000;
  while (reaped < forked && mono_ns() < deadline) sigsuspend(&outside);
  sigprocmask(SIG_UNBLOCK, &chld, NULL);
  check(reaped == NCHILD && exit_mask == 0x1F, "the SIGCHLD handler reaped all 5 children with codes 10..14");
  check(handler_runs >= 1 && handler_runs <= NCHILD, "the handler ran at least once and at most 5 times");
  check(bad_info == 0, "every SIGCHLD siginfo was CLD_EXITED with si_status 10..14 and a child's si_pid");
  int st;
  check_ret(waitpid(-1, &st, WNOHANG), -1, ECHILD, "waitpid(-1) afterwards gives ECHILD");
}

static void phase_killed(void) {
  set_handler(SIGCHLD, (void *)on_chld_killed, SA_SIGINFO);
  sigset_t chld, outside;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &outside);
  sigdelset(&outside, SIGCHLD);
  pid_t p = gt_fork();
  if (p == 0) {
    for (;;) pause();
  }
  if (p > 0) kill(p, SIGTERM);
  int64_t deadline = mono_ns() + 10LL * 1000 * 1000 * 1000;
  while (p > 0 && killed_seen == 0 && mono_ns() < deadline) sigsuspend(&outside);
  sigprocmask(SIG_UNBLOCK, &chld, NULL);
  check(killed_seen == 1 && last_code == CLD_KILLED && last_status == SIGTERM,
        "a child killed by SIGTERM: SIGCHLD with CLD_KILLED, si_status SIGTERM");
}

/* Waits up to 5 s for a SIGCHLD (blocked) and describes it. */
static int take_chld(siginfo_t *si) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  struct timespec ts = {5, 0};
  memset(si, 0, sizeof *si);
  return sigtimedwait(&set, si, &ts);
}

static void phase_stop(void) {
  set_handler(SIGCHLD, (void *)on_chld, SA_SIGINFO); /* never runs: blocked */
  mask_one(SIG_BLOCK, SIGCHLD);
  pid_t p = gt_fork();
  if (p == 0) {
    for (;;) pause();
  }
  siginfo_t si;
  int st, ok;
  kill(p, SIGSTOP);
  ok = take_chld(&si) == SIGCHLD && si.si_code == CLD_STOPPED && si.si_status == SIGSTOP && si.si_pid == p;
  ok &= wait_for(p, &st, WUNTRACED) == p && WIFSTOPPED(st);
  check(ok, "SIGSTOP of a child: SIGCHLD with CLD_STOPPED, si_status SIGSTOP");
  kill(p, SIGCONT);
  ok = take_chld(&si) == SIGCHLD && si.si_code == CLD_CONTINUED && si.si_status == SIGCONT && si.si_pid == p;
  ok &= wait_for(p, &st, WCONTINUED) == p && WIFCONTINUED(st);
  check(ok, "SIGCONT of the stopped child: SIGCHLD with CLD_CONTINUED, si_status SIGCONT");

  set_handler(SIGCHLD, (void *)on_chld, SA_SIGINFO | SA_NOCLDSTOP);
  kill(p, SIGSTOP);
  ok = wait_for(p, &st, WUNTRACED) == p && WIFSTOPPED(st);
  check(ok && !is_pending(SIGCHLD), "with SA_NOCLDSTOP a stopped child sends no SIGCHLD");
  kill(p, SIGKILL);
  ok = take_chld(&si) == SIGCHLD && si.si_code == CLD_KILLED && si.si_status == SIGKILL;
  st = -1;
  if (wait_for(p, &st, 0) != p) st = -1;
  check(ok, "SIGKILL of the stopped child: SIGCHLD with CLD_KILLED, si_status SIGKILL");
  check_status(st, 0, SIGKILL, "waitpid reports it killed by SIGKILL");
  set_disposition(SIGCHLD, SIG_DFL);
  mask_one(SIG_UNBLOCK, SIGCHLD);
}

static void phase_waitid(void) {
  int go[2];
  if (pipe(go) != 0) {
    check(0, "pipe");
    return;
  }
  pid_t p = gt_fork();
  if (p == 0) {
    char c;
    close(go[1]);
    read_full(go[0], &c, 1);
    _exit(42);
  }
  close(go[0]);
  siginfo_t si;
  memset(&si, 0xFF, sizeof si);
  si.si_pid = 12345;
  int r = waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG);
  check(r == 0 && si.si_pid == 0, "waitid(WNOHANG) with the child still running returns 0, si_pid 0");
  close(go[1]); /* the child reads end of file and exits */
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, (id_t)p, &si, WEXITED | WNOWAIT);
  check(r == 0 && si.si_signo == SIGCHLD && si.si_code == CLD_EXITED && si.si_status == 42 && si.si_pid == p,
        "waitid(WEXITED | WNOWAIT): SIGCHLD, CLD_EXITED, si_status 42, si_pid the child");
  memset(&si, 0, sizeof si);
  r = waitid(P_ALL, 0, &si, WEXITED);
  check(r == 0 && si.si_code == CLD_EXITED && si.si_status == 42 && si.si_pid == p,
        "the child stayed waitable: waitid(P_ALL, WEXITED) reaps it");
  r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
  check_ret(r, -1, ECHILD, "waitid with no children left gives ECHILD");
}

static void phase_ignored(void) {
  set_disposition(SIGCHLD, SIG_IGN);
  int forked = 0;
  for (int i = 0; i < 3; i++) {
    pid_t p = gt_fork();
    if (p == 0) {
      sleep_ms(10L * i);
      _exit(0);
    }
    if (p > 0) forked++;
  }
  int st;
  pid_t r = wait_for(-1, &st, 0);
  int e = errno;
  check(forked == 3, "forked 3 children with SIGCHLD ignored");
  check_call(r, e, -1, ECHILD, "waitpid(-1) waits for them to go and gives ECHILD (no zombies)");
  set_disposition(SIGCHLD, SIG_DFL);
}

int main(void) {
  printf("sigchld: SIGCHLD delivery and waiting\n");
  phase_exits();
  phase_killed();
  phase_stop();
  phase_waitid();
  phase_ignored();
  return finish("sigchld");
}
