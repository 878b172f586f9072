/* syslog(2) (klogctl) against the kernel log: its errnos, reading all of
 * it, reading what is unread (partly, then the rest), clearing it, waiting
 * for a new message and being interrupted while waiting, and what a user
 * other than root may do. Guest only: natively the host's own log differs.
 * A new message comes from calling an unimplemented syscall, which the
 * kernel logs (once per number); `klogcheck nosys N` only calls syscall N. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

enum { CLOSE, OPEN, READ, READ_ALL, READ_CLEAR, CLEAR, CONSOLE_OFF, CONSOLE_ON, CONSOLE_LEVEL, SIZE_UNREAD, SIZE_BUFFER };

static long klog(int type, char *buf, int len) { return syscall(SYS_syslog, type, buf, len); }

static char buf[1 << 17];

static int has(const char *text, long n, const char *part) { return n > 0 && memmem(text, (size_t)n, part, strlen(part)); }

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 3 && !strcmp(argv[1], "nosys")) return syscall(atol(argv[2])) == -1 && errno == ENOSYS ? 0 : 1;
  printf("size buffer: %s\n", result_text(klog(SIZE_BUFFER, NULL, 0)));
  printf("read all, NULL: %s\n", result_text(klog(READ_ALL, NULL, 10)));
  printf("read all, negative length: %s\n", result_text(klog(READ_ALL, buf, -1)));
  printf("read all, no length: %s\n", result_text(klog(READ_ALL, buf, 0)));
  printf("read all, bad buffer: %s\n", result_text(klog(READ_ALL, (char *)8, 100)));
  printf("read, NULL: %s\n", result_text(klog(READ, NULL, 10)));
  printf("bad type: %s\n", result_text(klog(42, buf, 10)));
  printf("console level 0: %s\n", result_text(klog(CONSOLE_LEVEL, NULL, 0)));
  printf("console level 9: %s\n", result_text(klog(CONSOLE_LEVEL, NULL, 9)));
  printf("console level 7: %s\n", result_text(klog(CONSOLE_LEVEL, NULL, 7)));
  printf("open: %s\n", result_text(klog(OPEN, NULL, 0)));
  printf("close: %s\n", result_text(klog(CLOSE, NULL, 0)));

  long n = klog(READ_ALL, buf, sizeof buf);
  printf("the log begins with the banner: %d\n", n > 0 && !strncmp(buf, "<5>[    0.", 10) && has(buf, n, "] Linux version 6.1.0-guestkernel"));
  long tail = klog(READ_ALL, buf, 40);
  printf("a short read all is the newest whole records: %d\n", tail >= 0 && tail <= 40 && (tail == 0 || buf[tail - 1] == '\n'));

  long unread = klog(SIZE_UNREAD, NULL, 0);
  long part = klog(READ, buf, 3);
  long after = klog(SIZE_UNREAD, NULL, 0);
  printf("read 3 of %s unread: %s \"%.3s\", now unread %ld less\n", unread > 0 ? "some" : "none", result_text(part), buf,
         unread - after);
  long rest = klog(READ, buf, sizeof buf);
  printf("the rest: %d\n", rest == unread - 3);
  printf("unread now: %s\n", result_text(klog(SIZE_UNREAD, NULL, 0)));

  printf("clear: %s\n", result_text(klog(CLEAR, NULL, 0)));
  printf("read all after it: %s\n", result_text(klog(READ_ALL, buf, sizeof buf)));
  syscall(500);
  n = klog(READ_ALL, buf, sizeof buf);
  printf("after an unimplemented syscall: <4> %d, named %d\n", !strncmp(buf, "<4>[", 4),
         has(buf, n, " called unimplemented syscall unknown (500); returning ENOSYS\n"));
  long cleared = klog(READ_CLEAR, buf, sizeof buf);
  printf("read clear: %d\n", cleared == n);
  printf("read all after it: %s\n", result_text(klog(READ_ALL, buf, sizeof buf)));

  /* A reader waits for the next message. */
  klog(READ, buf, sizeof buf);
  int fds[2];
  if (pipe(fds)) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    long r = klog(READ, buf, sizeof buf);
    int named = has(buf, r, "called unimplemented syscall unknown (501)");
    if (write(fds[1], &named, sizeof named) != sizeof named) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  usleep(100000);
  syscall(501);
  int named = 0;
  if (read(fds[0], &named, sizeof named) != sizeof named) named = -1;
  waitpid(pid, NULL, 0);
  printf("a waiting reader gets the next message: %d\n", named);

  /* A signal interrupts the wait. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  printf("interrupted wait: %s\n", result_text(klog(READ, buf, sizeof buf)));

  /* Not root: reading all and the size only. */
  pid = fork();
  if (pid == 0) {
    if (setuid(1000)) _exit(1);
    printf("as uid 1000: read all %s\n", klog(READ_ALL, buf, sizeof buf) > 0 ? "ok" : "fails");
    printf("as uid 1000: size %s\n", result_text(klog(SIZE_BUFFER, NULL, 0)));
    printf("as uid 1000: read %s\n", result_text(klog(READ, buf, 10)));
    printf("as uid 1000: clear %s\n", result_text(klog(CLEAR, NULL, 0)));
    printf("as uid 1000: read clear %s\n", result_text(klog(READ_CLEAR, buf, 10)));
    printf("as uid 1000: size unread %s\n", result_text(klog(SIZE_UNREAD, NULL, 0)));
    printf("as uid 1000: console level %s\n", result_text(klog(CONSOLE_LEVEL, NULL, 5)));
    printf("as uid 1000: bad type %s\n", result_text(klog(42, NULL, 0)));
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
