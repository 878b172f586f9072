/* Announces itself, then stores through a NULL pointer: the guest must be
 * killed by SIGSEGV (SEGV_MAPERR at address 0), exit status 139 in a shell.
 *
 * The pointer is a volatile variable so that the compiler cannot see it is
 * NULL and replace the store with a trap instruction (-O2 enables
 * -fisolate-erroneous-paths-dereference, which would give SIGILL). */
#include <stdio.h>

int main(void) {
  printf("about to dereference NULL\n");
  fflush(stdout);
  volatile int *volatile p = NULL;
  *p = 42;
  printf("still alive after dereferencing NULL\n");
  return 1;
}
