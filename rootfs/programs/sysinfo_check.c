/* Prints the memory size sysinfo(2) reports, in MiB: the guest's own --mem
 * under guestkernel, the host's RAM natively (so it is not compared). */
#include <stdio.h>
#include <sys/sysinfo.h>

int main(void) {
  struct sysinfo s;
  if (sysinfo(&s) != 0) {
    perror("sysinfo");
    return 1;
  }
  printf("totalram %lu MiB\n", (unsigned long)((unsigned long long)s.totalram * s.mem_unit >> 20));
  printf("free <= total: %s\n", s.freeram <= s.totalram ? "yes" : "no");
  printf("at least one process: %s\n", s.procs >= 1 ? "yes" : "no");
  return 0;
}
