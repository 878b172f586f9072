/* Runs until killed: alternates syscalls and page touches. */
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  static char page[1 << 20];
  for (unsigned long i = 0;; i++) {
    page[(i * 4096) % sizeof page] = (char)i;
    if (i % 64 == 0) getppid();
  }
}
