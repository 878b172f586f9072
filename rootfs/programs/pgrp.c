/* pgrp: process groups and sessions. Ids are only compared, never printed.
 *   1. a child is in its parent's process group and session;
 *   2. setpgid(0, 0) makes a child a group leader (getpgid == getpid, also
 *      as seen by the parent); setsid() by that group leader gives EPERM;
 *   3. its child (a grandchild, not a leader) calls setsid(): it returns the
 *      grandchild's pid, getsid and getpgid are its pid; seen from the
 *      child, getsid(grandchild) is the grandchild, and moving it back with
 *      setpgid gives EPERM (another session); the session leader's own
 *      setpgid(0, 0) and a second setsid() give EPERM;
 *   4. three children in one group (the first the leader, the others joined
 *      with setpgid(0, leader)) all die of kill(-pgid, SIGTERM), while the
 *      parent, in another group, does not;
 *   5. waitpid(-pgid) picks the child in that group, not an already exited
 *      child in the parent's group (WNOHANG gives 0 while the group's child
 *      runs); waitpid(0) then picks the one in the parent's own group;
 *      waitpid(-pgid) with nobody left in the group gives ECHILD;
 *   6. errors: setpgid(0, -1) EINVAL; setpgid of a live process that is not
 *      a child (a grandchild) ESRCH; setpgid into a group that does not exist EPERM;
 *      getpgid of a pid that does not exist ESRCH.
 * Children report through exit statuses. Output: a header line, 22 check
 * lines, "pgrp: PASS". */
#define _GNU_SOURCE

#include "guest_test.h"

static int reap(pid_t pid) {
  int st = -1;
  if (pid <= 0 || wait_for(pid, &st, 0) != pid) return -1;
  return st;
}

static void inherit_test(void) {
  pid_t pgid = getpgrp(), sid = getsid(0);
  check(getpgid(0) == pgid && sid > 0, "getpgid(0) equals getpgrp(), getsid(0) is valid");
  pid_t pid = gt_fork();
  if (pid == 0) _exit((getpgid(0) == pgid ? 0 : 1) | (getsid(0) == sid ? 0 : 2));
  check_status(reap(pid), 0, 0, "a child is in its parent's process group and session");
}

/* The leader child's exit status: its own failures in the low 4 bits, the
 * grandchild's in the high 4 (all 4 set when the grandchild did not exit
 * normally). */
enum {
  L_LEADER = 1,       /* getpgid(0) == getpid() after setpgid(0, 0) */
  L_SETSID_EPERM = 2, /* setsid() by the group leader */
  L_GC_SID = 4,       /* getsid(grandchild) == grandchild */
  L_GC_MOVE = 8,      /* setpgid(grandchild, my group) -> EPERM */
  G_SHIFT = 4,
};

enum {
  G_SETSID = 1,  /* setsid() returned getpid() */
  G_IDS = 2,     /* getsid(0) == getpgid(0) == getpid() */
  G_SETPGID = 4, /* setpgid(0, 0) as session leader -> EPERM */
  G_SETSID2 = 8, /* second setsid -> EPERM */
  G_ALL = 15,
};

static int grandchild(int ready_w, int go_r) {
  int fails = 0;
  pid_t me = getpid();
  if (setsid() != me) fails |= G_SETSID;
  if (getsid(0) != me || getpgid(0) != me) fails |= G_IDS;
  errno = 0;
  if (!(setpgid(0, 0) == -1 && errno == EPERM)) fails |= G_SETPGID;
  errno = 0;
  if (!(setsid() == -1 && errno == EPERM)) fails |= G_SETSID2;
  char c = 'r';
  write_all(ready_w, &c, 1);
  read_full(go_r, &c, 1); /* end of file when the child is done looking */
  return fails;
}

static int leader_child(void) {
  int fails = 0;
  if (setpgid(0, 0) != 0 || getpgid(0) != getpid()) fails |= L_LEADER;
  errno = 0;
  if (!(setsid() == -1 && errno == EPERM)) fails |= L_SETSID_EPERM;
  int ready[2], go[2];
  if (pipe(ready) != 0 || pipe(go) != 0) return fails | G_ALL << G_SHIFT;
  pid_t gc = fork();
  if (gc == 0) {
    close(ready[0]);
    close(go[1]);
    _exit(grandchild(ready[1], go[0]));
  }
  close(ready[1]);
  close(go[0]);
  char c;
  if (gc < 0 || read_full(ready[0], &c, 1) != 1) fails |= G_ALL << G_SHIFT;
  if (gc > 0 && getsid(gc) != gc) fails |= L_GC_SID;
  errno = 0;
  if (!(gc > 0 && setpgid(gc, getpid()) == -1 && errno == EPERM)) fails |= L_GC_MOVE;
  close(go[1]);
  int st = reap(gc);
  if (st == -1 || !WIFEXITED(st))
    fails |= G_ALL << G_SHIFT;
  else
    fails |= (WEXITSTATUS(st) & G_ALL) << G_SHIFT;
  return fails;
}

static void leader_test(void) {
  int go[2];
  if (pipe(go) != 0) {
    check(0, "pipe");
    return;
  }
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(go[1]);
    int fails = leader_child();
    char c;
    read_full(go[0], &c, 1); /* stay a group leader until the parent looked */
    _exit(fails);
  }
  close(go[0]);
  setpgid(pid, pid); /* the usual race-free idiom: both sides set it */
  check(pid > 0 && getpgid(pid) == pid, "after setpgid(0, 0) in a child, the parent sees getpgid(child) == child");
  close(go[1]);
  int st = reap(pid);
  if (!check(st != -1 && WIFEXITED(st), "the group-leader child exited normally")) return;
  int f = WEXITSTATUS(st);
  check(!(f & L_LEADER), "setpgid(0, 0) makes the child a group leader (getpgid(0) == getpid())");
  check(!(f & L_SETSID_EPERM), "setsid() by a group leader gives EPERM");
  check(!((f >> G_SHIFT) & G_SETSID), "setsid() in a grandchild returns its pid");
  check(!((f >> G_SHIFT) & G_IDS), "the grandchild's getsid(0) and getpgid(0) are its pid");
  check(!((f >> G_SHIFT) & G_SETPGID), "setpgid(0, 0) by the session leader gives EPERM");
  check(!((f >> G_SHIFT) & G_SETSID2), "a second setsid() gives EPERM");
  check(!(f & L_GC_SID), "getsid(grandchild) seen from the child is the grandchild");
  check(!(f & L_GC_MOVE), "moving the grandchild back into the child's group gives EPERM (another session)");
}

static void group_kill_test(void) {
  int hold[2];
  if (pipe(hold) != 0) {
    check(0, "pipe");
    return;
  }
  pid_t kids[3];
  pid_t leader = 0;
  for (int i = 0; i < 3; i++) {
    pid_t pgid = i == 0 ? 0 : leader;
    kids[i] = gt_fork();
    if (kids[i] == 0) {
      close(hold[1]);
      setpgid(0, pgid);
      char c;
      read_full(hold[0], &c, 1);
      _exit(0);
    }
    if (kids[i] > 0) setpgid(kids[i], i == 0 ? kids[i] : leader);
    if (i == 0) leader = kids[0];
  }
  int in_group = leader > 0;
  for (int i = 0; i < 3; i++) in_group &= kids[i] > 0 && getpgid(kids[i]) == leader;
  check(in_group, "three children share one process group (the first one's)");
  int r = kill(-leader, SIGTERM);
  int all = r == 0;
  for (int i = 0; i < 3; i++) {
    int st = reap(kids[i]);
    all &= st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
  }
  close(hold[1]);
  close(hold[0]);
  check(all, "kill(-pgid, SIGTERM) killed all three with SIGTERM, and not the parent");
}

static void waitpid_group_test(void) {
  pid_t b = gt_fork();
  if (b == 0) _exit(6);
  /* Make sure b has exited (stays a zombie: WNOWAIT). */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  waitid(P_PID, (id_t)b, &si, WEXITED | WNOWAIT);
  int go[2];
  if (pipe(go) != 0) {
    check(0, "pipe");
    return;
  }
  pid_t a = gt_fork();
  if (a == 0) {
    close(go[1]);
    setpgid(0, 0);
    char c;
    read_full(go[0], &c, 1);
    _exit(5);
  }
  close(go[0]);
  if (a > 0) setpgid(a, a);
  int st = -1;
  pid_t r = waitpid(-a, &st, WNOHANG);
  check(r == 0, "waitpid(-pgid, WNOHANG) gives 0 while the group's child runs (an exited child elsewhere)");
  close(go[1]);
  st = -1;
  r = wait_for(-a, &st, 0);
  check(r == a && WIFEXITED(st) && WEXITSTATUS(st) == 5, "waitpid(-pgid) returns the child in that group");
  st = -1;
  r = wait_for(0, &st, 0);
  check(r == b && WIFEXITED(st) && WEXITSTATUS(st) == 6, "waitpid(0) returns the child in the parent's own group");
  check_ret(waitpid(-a, &st, WNOHANG), -1, ECHILD, "waitpid(-pgid) with nobody left in the group gives ECHILD");
}

static void error_tests(void) {
  check_ret(setpgid(0, -1), -1, EINVAL, "setpgid(0, -1) gives EINVAL");
  /* A grandchild: alive, but not our child. */
  int hold[2], idp[2];
  if (pipe(hold) != 0 || pipe(idp) != 0) {
    check(0, "pipe");
    return;
  }
  pid_t c = gt_fork();
  if (c == 0) {
    close(hold[1]);
    close(idp[0]);
    pid_t g = fork();
    if (g == 0) {
      char ch;
      read_full(hold[0], &ch, 1);
      _exit(0);
    }
    write_all(idp[1], &g, sizeof g);
    char ch;
    read_full(hold[0], &ch, 1);
    reap(g);
    _exit(0);
  }
  close(hold[0]);
  close(idp[1]);
  pid_t g = -1;
  if (c < 0 || read_full(idp[0], &g, sizeof g) != sizeof g) g = -1;
  close(idp[0]);
  int r = g > 0 ? setpgid(g, 0) : 0;
  check_ret(r, -1, ESRCH, "setpgid of a process that is not a child (a grandchild) gives ESRCH");
  close(hold[1]);
  reap(c);
  pid_t gone = gt_fork();
  if (gone == 0) _exit(0);
  reap(gone);
  check_ret(setpgid(0, gone), -1, EPERM, "setpgid into a process group that does not exist gives EPERM");
  check_ret(getpgid(gone), -1, ESRCH, "getpgid of a pid that does not exist gives ESRCH");
}

int main(void) {
  printf("pgrp: process groups and sessions\n");
  inherit_test();
  leader_test();
  group_kill_test();
  waitpid_group_test();
  error_tests();
  return finish("pgrp");
}
