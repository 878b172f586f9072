/* reboot(2), sethostname(2) and setdomainname(2) argument checks, in the
 * order Linux makes them (magic numbers, then privilege, then the command).
 * Guest only: natively a successful call would reboot the host. Nothing
 * here powers anything off: every call is one that must fail, or CAD_ON. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* <linux/reboot.h>'s numbers (musl has no kernel headers). */
#define LINUX_REBOOT_MAGIC1 0xfee1deadU
#define LINUX_REBOOT_MAGIC2 672274793U
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321FEDCU
#define LINUX_REBOOT_CMD_CAD_ON 0x89ABCDEFU

static long sys_reboot(unsigned m1, unsigned m2, unsigned cmd) { return syscall(SYS_reboot, m1, m2, cmd, 0); }

static const char *res(long r) {
  static char buf[32];
  if (r == 0) return "0";
  switch (errno) {
  case EINVAL: return "EINVAL";
  case EPERM: return "EPERM";
  case EFAULT: return "EFAULT";
  default: snprintf(buf, sizeof buf, "errno %d", errno); return buf;
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("bad magic: %s\n", res(sys_reboot(0x1234, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF)));
  printf("bad magic2: %s\n", res(sys_reboot(LINUX_REBOOT_MAGIC1, 42, LINUX_REBOOT_CMD_POWER_OFF)));
  printf("bad command: %s\n", res(sys_reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x12345678)));
  printf("cad on: %s\n", res(sys_reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_ON)));
  pid_t pid = fork();
  if (pid == 0) {
    if (setuid(1000) != 0) _exit(1);
    printf("as uid 1000: %s\n", res(sys_reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF)));
    printf("sethostname as uid 1000: %s\n", res(sethostname("x", 1)));
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  char big[65];
  memset(big, 'a', sizeof big);
  printf("sethostname too long: %s\n", res(sethostname(big, sizeof big)));
  struct utsname u;
  long r = sethostname("abc", 3);
  uname(&u);
  printf("sethostname: %s name=%s\n", res(r), u.nodename);
  r = setdomainname("example", 7);
  uname(&u);
  printf("setdomainname: %s domain=%s\n", res(r), u.domainname);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
