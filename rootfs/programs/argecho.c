/* argecho ARGS...: prints each argument (not argv[0]) on its own line.
 *
 * Each line goes out as exactly one write(1, "arg\n", len) syscall (no stdio
 * buffering), so --trace output is predictable: `argecho alpha beta` makes
 * write(1, "alpha\n", 6) and write(1, "beta\n", 5). Arguments too long for
 * the line buffer are written as the argument, then "\n". */
#include <string.h>
#include <unistd.h>

static int write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  static char line[4096];
  for (int i = 1; i < argc; i++) {
    size_t len = strlen(argv[i]);
    if (len + 1 <= sizeof line) {
      memcpy(line, argv[i], len);
      line[len] = '\n';
      if (write_all(line, len + 1)) return 1;
    } else if (write_all(argv[i], len) || write_all("\n", 1)) {
      return 1;
    }
  }
  return 0;
}
