/* The demo guest: one line through stdio, exit 0. */
#include <stdio.h>

int main(void) {
  printf("Hello from a guest program!\n");
  return 0;
}
