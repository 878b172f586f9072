/* Calls a syscall number no kernel implements, twice: each returns ENOSYS. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void) {
  for (int i = 0; i < 2; i++) {
    long r = syscall(1000, 1, 2, 3);
    printf("syscall(1000) = %ld errno=%s\n", r, errno == ENOSYS ? "ENOSYS" : strerror(errno));
  }
  return 0;
}
