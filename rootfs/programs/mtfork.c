/* fork from a multi-threaded process: while another thread keeps writing a
 * counter, each forked child must see the counter frozen at its fork (its
 * copy-on-write copy), never the parent thread's later writes. 50 forks.
 * Output: one line, "mtfork: PASS" / "mtfork: FAIL". */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long counter;
static volatile int stop;

static void* writer(void* arg) {
  while (!stop) counter++;
  return arg;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, 0, writer, 0);
  int bad = 0;
  for (int i = 0; i < 50; i++) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
      long v = counter;
      for (volatile int k = 0; k < 2000000; k++) {}
      _exit(counter == v ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) bad++;
  }
  stop = 1;
  pthread_join(t, 0);
  puts(bad ? "mtfork: FAIL" : "mtfork: PASS");
  return bad != 0;
}
