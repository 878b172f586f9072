/* exitcode N: exits with status N (0..255, taken mod 256); prints nothing.
 * No argument (or a non-number) exits 0. */
#include <stdlib.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 0) : 0;
  return (int)(n & 0xff);
}
