/* forkbomb LIMIT   (LIMIT = 1..100000)
 *
 * Forks children that block until they are killed, until fork() fails or
 * LIMIT children exist, whichever comes first; then kills every child with
 * SIGKILL and reaps them all.
 *
 *   - in the guest, the tests pass a LIMIT above the guest kernel's task
 *     limit, so fork() must fail first, with EAGAIN:
 *       "ok - fork failed with EAGAIN"
 *   - natively, the process limit is usually out of reach: root ignores
 *     RLIMIT_NPROC, and lowering it to "current processes + 50" would need
 *     the count of the user's processes (from /proc, which these programs do
 *     not read). LIMIT bounds the run instead, and the line is
 *       "ok - reached LIMIT forks"   (with the number given)
 *     so a native run with a small LIMIT is harmless. Run it natively only
 *     with a LIMIT the machine can afford (e.g. 200).
 * The number of successful forks is never printed. A fork() failing with
 * anything but EAGAIN is "not ok". After the children are gone, one more
 * fork() must work again.
 *
 * The children block in read() on a pipe whose write end only the parent
 * holds (not in pause()): should the parent die, they see end of file and
 * exit instead of lingering. Output: a header line, 4 check lines,
 * "forkbomb: PASS". Exit status 64 on bad usage. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "guest_test.h"

int main(int argc, char **argv) {
  char *end = NULL;
  long limit = argc == 2 ? strtol(argv[1], &end, 10) : 0;
  if (argc != 2 || *argv[1] == '\0' || *end != '\0' || limit < 1 || limit > 100000) {
    fprintf(stderr, "usage: forkbomb LIMIT   (1..100000)\n");
    return 64;
  }
  printf("forkbomb: fork until fork fails, at most %ld times\n", limit);
  pid_t *pids = calloc((size_t)limit, sizeof *pids);
  int hold[2];
  if (!pids || pipe(hold) != 0) {
    check(0, "setup (calloc, pipe)");
    return finish("forkbomb");
  }
  fflush(stdout);
  fflush(stderr);
  long n = 0;
  int fork_errno = 0;
  while (n < limit) {
    pid_t p = fork();
    if (p == 0) {
      close(hold[1]);
      char c;
      while (read(hold[0], &c, 1) != 0) {
      }
      _exit(0);
    }
    if (p < 0) {
      fork_errno = errno;
      break;
    }
    pids[n++] = p;
  }
  if (fork_errno)
    check(fork_errno == EAGAIN, "fork failed with EAGAIN%s%s", fork_errno == EAGAIN ? "" : " - got ",
          fork_errno == EAGAIN ? "" : errno_name(fork_errno));
  else
    check(1, "reached %ld forks", limit);

  long killed = 0, reaped = 0;
  for (long i = 0; i < n; i++)
    if (kill(pids[i], SIGKILL) == 0) killed++;
  for (long i = 0; i < n; i++) {
    int st;
    if (wait_for(pids[i], &st, 0) == pids[i] && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) reaped++;
  }
  close(hold[1]);
  close(hold[0]);
  check(killed == n && reaped == n, "every child was killed with SIGKILL and reaped");
  int st;
  check_ret(waitpid(-1, &st, WNOHANG), -1, ECHILD, "no child is left (waitpid gives ECHILD)");

  pid_t p = gt_fork();
  if (p == 0) _exit(5);
  st = -1;
  if (p > 0 && wait_for(p, &st, 0) != p) st = -1;
  check_status(st, 5, 0, "fork works again once the children are gone");
  return finish("forkbomb");
}
