/* forktree: a binary tree of processes, 3 levels of fork below the root
 * (root -> 2 children -> 4 grandchildren -> 8 leaves, 15 processes).
 *
 * Nodes are named by their position: the root is "root", its children "0"
 * and "1", their children "00", "01", "10", "11", the leaves "000".."111".
 * Every non-root node exits with 100 + its heap index (root 1, children of
 * node i are 2i and 2i+1: "0" = 2 -> 102, ..., "111" = 15 -> 115), except
 * leaf "101", which kills itself with SIGTERM.
 *
 * Each inner node forks both children first (so siblings run concurrently),
 * then waits for each child with waitpid(pid) in order and prints one line
 * per child, "node X: child Y exited with Z" / "... killed by signal 15".
 * A child's stdout is a pipe to its parent: the parent copies child 0's text
 * (its whole subtree's lines), then child 1's, then prints its own lines.
 * So the output order is fixed: a subtree's lines come before its parent's.
 * A node that sees a wrong status (or a wrong getppid(), or a waitpid() that
 * returns another pid) prints "not ok" and exits 1, so the error reaches the
 * root, which prints one summary check. Output: a header line, 14 "node"
 * lines, 1 check line, "forktree: PASS". */
#define _GNU_SOURCE
#include <stdlib.h>

#include "guest_test.h"

#define DEPTH 3
#define KILLED_LEAF "101"

static int heap_index(const char *label) {
  int idx = 1;
  for (const char *c = label; *c; c++) idx = idx * 2 + (*c - '0');
  return idx;
}

static int expected_status_ok(const char *label, int st) {
  if (strcmp(label, KILLED_LEAF) == 0) return WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
  return WIFEXITED(st) && WEXITSTATUS(st) == 100 + heap_index(label);
}

/* Runs the node `label` (depth = strlen(label)); never returns. */
__attribute__((noreturn)) static void node(const char *label) {
  size_t depth = strlen(label);
  if (depth == DEPTH) {
    if (strcmp(label, KILLED_LEAF) == 0) {
      kill(getpid(), SIGTERM);
      _exit(1); /* not reached */
    }
    _exit(100 + heap_index(label));
  }

  pid_t me = getpid();
  pid_t pids[2];
  int rfd[2];
  char child_label[2][DEPTH + 1];
  for (int c = 0; c < 2; c++) {
    snprintf(child_label[c], sizeof child_label[c], "%s%d", label, c);
    int p[2];
    if (pipe(p) != 0) {
      printf("not ok - node %s: pipe failed: %s\n", depth ? label : "root", errno_name(errno));
      exit(1);
    }
    pids[c] = gt_fork();
    if (pids[c] == 0) {
      for (int k = 0; k < c; k++) close(rfd[k]);
      close(p[0]);
      dup2(p[1], 1);
      close(p[1]);
      if (getppid() != me) _exit(1);
      node(child_label[c]);
    }
    close(p[1]);
    if (pids[c] < 0) {
      printf("not ok - node %s: fork failed: %s\n", depth ? label : "root", errno_name(errno));
      exit(1);
    }
    rfd[c] = p[0];
  }

  /* Copy each child's text through, in child order. */
  for (int c = 0; c < 2; c++) {
    char buf[4096];
    ssize_t n;
    while ((n = read(rfd[c], buf, sizeof buf)) != 0) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      fwrite(buf, 1, (size_t)n, stdout);
    }
    close(rfd[c]);
  }

  int all_ok = 1;
  for (int c = 0; c < 2; c++) {
    int st = 0;
    pid_t r = wait_for(pids[c], &st, 0);
    char text[64];
    if (r != pids[c]) {
      printf("not ok - node %s: waitpid for child %s returned %s\n", depth ? label : "root", child_label[c],
             r == -1 ? errno_name(errno) : "another pid");
      all_ok = 0;
      continue;
    }
    printf("node %s: child %s %s\n", depth ? label : "root", child_label[c], status_text(st, text, sizeof text));
    if (!expected_status_ok(child_label[c], st)) all_ok = 0;
  }
  if (depth == 0) {
    check(all_ok, "all 14 children in the tree ended with the expected status");
    exit(finish("forktree"));
  }
  exit(all_ok ? 100 + heap_index(label) : 1);
}

int main(void) {
  printf("forktree: depth %d, 15 processes\n", DEPTH);
  node("");
}
