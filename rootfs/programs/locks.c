/* locks [DIR]: advisory locks between two processes on DIR/locks.PID
 * (DIR defaults to "."): fcntl record locks (F_SETLK, F_GETLK, F_SETLKW,
 * ranges, F_UNLCK, released by close) and flock (shared, exclusive, LOCK_NB,
 * conversion, kept by a dup after the original fd closes). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>

#include "guest_test.h"

static int set_lock(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

/* F_GETLK for [start, start+len): the type that blocks it, or F_UNLCK. */
static int blocker(int fd, short type, off_t start, off_t len, pid_t *pid, off_t *bstart, off_t *blen) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  if (fcntl(fd, F_GETLK, &fl)) return -1;
  if (pid) *pid = fl.l_pid;
  if (bstart) *bstart = fl.l_start;
  if (blen) *blen = fl.l_len;
  return fl.l_type;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  char path[4096];
  snprintf(path, sizeof path, "%s/locks.%d", dir, (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(path);
    return 1;
  }
  int go[2], done[2];
  if (pipe(go) || pipe(done)) return 1;
  check_ret(set_lock(fd, F_SETLK, F_WRLCK, 10, 10), 0, 0, "parent write-locks bytes 10..19");
  check_ret(set_lock(fd, F_SETLK, F_RDLCK, 100, 0), 0, 0, "parent read-locks 100..EOF");
  check_ret(flock(fd, LOCK_SH), 0, 0, "parent takes a shared flock");
  pid_t parent = getpid();
  pid_t pid = gt_fork();
  if (pid == 0) {
    close(fd); /* the inherited description carries the parent's flock */
    int cfd = open(path, O_RDWR);
    pid_t who = 0;
    off_t s = 0, l = 0;
    int ok = 1;
    ok &= blocker(cfd, F_WRLCK, 0, 15, &who, &s, &l) == F_WRLCK && who == parent && s == 10 && l == 10;
    ok &= blocker(cfd, F_RDLCK, 0, 10, NULL, NULL, NULL) == F_UNLCK;
    ok &= blocker(cfd, F_RDLCK, 150, 1, NULL, NULL, NULL) == F_UNLCK; /* read locks share */
    ok &= blocker(cfd, F_WRLCK, 150, 1, NULL, NULL, NULL) == F_RDLCK;
    ok &= set_lock(cfd, F_SETLK, F_WRLCK, 19, 1) == -1 && (errno == EAGAIN || errno == EACCES);
    ok &= set_lock(cfd, F_SETLK, F_WRLCK, 20, 80) == 0; /* between the parent's ranges */
    ok &= flock(cfd, LOCK_SH | LOCK_NB) == 0;            /* shared with the parent */
    ok &= flock(cfd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
    ok &= flock(cfd, LOCK_UN) == 0;
    if (write(done[1], ok ? "y" : "n", 1) != 1) _exit(2);
    /* Wait for the parent's close, then F_SETLKW must get the range. */
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    if (set_lock(cfd, F_SETLKW, F_WRLCK, 0, 0) != 0) _exit(3);
    if (flock(cfd, LOCK_EX) != 0) _exit(4); /* blocks until the parent's last reference goes */
    _exit(0);
  }
  char c = 0;
  check_ret(read(done[0], &c, 1), 1, 0, "child ran its checks");
  check_call(c == 'y', 0, 1, 0, "child saw the parent's record locks via F_GETLK, EAGAIN on overlap, flock sharing");
  check_ret(blocker(fd, F_WRLCK, 20, 1, NULL, NULL, NULL), F_WRLCK, 0, "parent sees the child's lock on 20..99");
  check_ret(set_lock(fd, F_SETLK, F_UNLCK, 10, 5), 0, 0, "parent unlocks part of its range");
  check_ret(flock(fd, LOCK_EX | LOCK_NB), 0, 0, "parent converts to an exclusive flock");
  int dupfd = dup(fd);
  close(fd); /* drops the POSIX locks; the flock stays with the dup */
  if (write(go[1], "g", 1) != 1) return 1;
  sleep_ms(100);
  int st = -1;
  pid_t w = waitpid(pid, &st, WNOHANG);
  check_call(w, 0, 0, 0, "child still waits for the flock the dup holds");
  close(dupfd); /* the last reference: the flock goes */
  wait_for(pid, &st, 0);
  check_status(st, 0, 0, "child got the whole file with F_SETLKW and the flock after the close");
  unlink(path);
  return finish("locks");
}
