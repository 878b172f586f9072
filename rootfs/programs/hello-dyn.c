/* hello-dyn: like hello.c, but linked dynamically against glibc (built by
 * its own target at the end of rootfs/meson.build, not as NAME-musl and
 * NAME-glibc): the guest kernel must load the ELF interpreter
 * (/lib64/ld-linux-x86-64.so.2) and the program's shared libraries. One line
 * through stdio, exit 0. */
#include <stdio.h>

int main(void) {
  printf("Hello from a dynamic guest program!\n");
  return 0;
}
