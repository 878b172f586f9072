/* ttyldisc: the terminal on fds 0/1 (a pty natively, the console in the
 * guest), driven by a test on the other side that types the input each
 * "<<NAME>>" marker asks for (tests/integration/tty_test.cpp):
 *   1. defaults: canonical mode, echo, signals, the control characters, our
 *      group in the foreground of our session's terminal;
 *   2. canonical reads: erase, kill, word erase, VEOF mid-line and at the
 *      start of a line, VLNEXT, a read smaller than the line, FIONREAD and
 *      poll() of a partial and of a complete line;
 *   3. non-canonical reads: VMIN/VTIME in their four combinations,
 *      O_NONBLOCK, poll(), TCSAFLUSH and tcflush, ICRNL/INLCR/IGNCR;
 *   4. signal characters: VINTR flushes the input (not with NOFLSH), VQUIT
 *      and VSUSP reach handlers;
 *   5. job control from children in a background group: reads stop them
 *      with SIGTTIN (EIO when ignored), writes with TOSTOP and tcsetattr
 *      with SIGTTOU, tcsetpgrp with SIGTTOU blocked works; a new session has
 *      no terminal (ENOTTY, EPERM for TIOCSCTTY), tcsetpgrp to another
 *      session's group is EPERM, to no group ESRCH; TIOCNOTTY;
 *   6. window size: TIOCSWINSZ, SIGWINCH only on a change;
 *   7. output processing: ONLCR, OPOST off.
 * The transcript (echoes included) is compared with the native one. */
#define _GNU_SOURCE

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "guest_test.h"

static struct termios orig;
static volatile sig_atomic_t got[65];

static void on_sig(int sig) { got[sig]++; }

static void catch_signal(int sig) { set_handler(sig, (void *)on_sig, 0); }

static int reap(pid_t pid) {
  int st = -1;
  return wait_for(pid, &st, 0) == pid ? st : -1;
}

/* Asks the test for input. */
static void marker(const char *name) { printf("<<%s>>\n", name); }

static int inq(void) {
  int n = -1;
  ioctl(0, FIONREAD, &n);
  return n;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int read_is(const char *want, const char *what) {
  char buf[64];
  ssize_t n = read(0, buf, sizeof buf);
  size_t len = strlen(want);
  return check(n == (ssize_t)len && memcmp(buf, want, len) == 0, "%s", what);
}

static void set_mode(tcflag_t lflag_off, int vmin, int vtime) {
  struct termios t = orig;
  t.c_lflag &= ~lflag_off;
  t.c_cc[VMIN] = (cc_t)vmin;
  t.c_cc[VTIME] = (cc_t)vtime;
  tcsetattr(0, TCSANOW, &t);
}

static void wait_for_signal(int sig) {
  long long end = now_ms() + 5000;
  while (!got[sig] && now_ms() < end) sleep_ms(10);
}

static void defaults(void) {
  check(isatty(0) && isatty(1), "stdin and stdout are terminals");
  check((orig.c_lflag & (ICANON | ECHO | ISIG | IEXTEN)) == (ICANON | ECHO | ISIG | IEXTEN),
        "canonical mode with echo and signal characters");
  check((orig.c_iflag & ICRNL) && (orig.c_oflag & (OPOST | ONLCR)) == (OPOST | ONLCR), "ICRNL, OPOST|ONLCR");
  check(orig.c_cc[VINTR] == 3 && orig.c_cc[VERASE] == 0177 && orig.c_cc[VKILL] == 025 && orig.c_cc[VEOF] == 4 &&
            orig.c_cc[VSUSP] == 032 && orig.c_cc[VWERASE] == 027 && orig.c_cc[VLNEXT] == 026,
        "default control characters");
  check(tcgetpgrp(0) == getpgrp(), "our group is the terminal's foreground group");
  check(tcgetsid(0) == getsid(0), "the terminal belongs to our session");
  check_ret(ioctl(0, TIOCSCTTY, 0), 0, 0, "TIOCSCTTY on our own controlling terminal");
}

static void canonical(void) {
  char buf[64];
  marker("erase");
  read_is("ac\n", "VERASE removes a character");
  marker("kill");
  read_is("ok\n", "VKILL removes the line");
  marker("werase");
  read_is("one three\n", "VWERASE removes a word");
  marker("eof");
  read_is("xy", "VEOF mid-line returns the line without a newline");
  marker("eof0");
  check_ret(read(0, buf, sizeof buf), 0, 0, "VEOF at the start of a line reads 0");
  marker("lnext");
  read_is("a\177b\n", "VLNEXT makes the next character literal");
  marker("short");
  check(read(0, buf, 2) == 2 && memcmp(buf, "he", 2) == 0, "a short read takes part of the line");
  read_is("llo\n", "the next read takes the rest");
  marker("partial");
  sleep_ms(300);
  struct pollfd p = {0, POLLIN, 0};
  check(poll(&p, 1, 0) == 0 && inq() == 0, "a partial line is not readable (poll, FIONREAD)");
  marker("enter");
  check(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN) && inq() == 4, "a complete line is (poll, FIONREAD 4)");
  read_is("abc\n", "and reads whole");
}

static void noncanonical(void) {
  char buf[64];
  set_mode(ICANON | ECHO, 0, 0);
  check_ret(read(0, buf, sizeof buf), 0, 0, "VMIN 0 VTIME 0: read returns 0 at once");
  set_mode(ICANON | ECHO, 0, 2);
  long long t0 = now_ms();
  ssize_t n = read(0, buf, sizeof buf);
  long long dt = now_ms() - t0;
  check(n == 0 && dt >= 150 && dt < 2000, "VMIN 0 VTIME 2: read returns 0 after 0.2 s");
  set_mode(ICANON | ECHO, 3, 0);
  marker("min3");
  read_is("1234", "VMIN 3: read waits for 3 bytes, returns all there are");
  set_mode(ICANON | ECHO, 2, 3);
  marker("interbyte");
  t0 = now_ms();
  read_is("z", "VMIN 2 VTIME 3: one byte, then the inter-byte timer ends the read");
  check(now_ms() - t0 >= 200, "after the inter-byte time");
  set_mode(ICANON | ECHO, 1, 0);
  int fl = fcntl(0, F_GETFL);
  fcntl(0, F_SETFL, fl | O_NONBLOCK);
  check_ret(read(0, buf, sizeof buf), -1, EAGAIN, "O_NONBLOCK: EAGAIN without input");
  fcntl(0, F_SETFL, fl);
  struct pollfd p = {0, POLLIN, 0};
  check(poll(&p, 1, 0) == 0, "poll: nothing to read");
  marker("pollin");
  check(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "poll: input wakes it");
  read_is("q", "and it reads");
  marker("flush");
  sleep_ms(300);
  int before = inq();
  struct termios t;
  tcgetattr(0, &t);
  tcsetattr(0, TCSAFLUSH, &t);
  check(before == 4 && inq() == 0, "TCSAFLUSH discards queued input");
  marker("flush2");
  sleep_ms(300);
  before = inq();
  tcflush(0, TCIFLUSH);
  check(before == 4 && inq() == 0, "tcflush(TCIFLUSH) discards queued input");
  marker("icrnl");
  read_is("\n", "ICRNL: CR reads as NL");
  t.c_iflag = (t.c_iflag & ~ICRNL) | INLCR;
  tcsetattr(0, TCSANOW, &t);
  marker("inlcr");
  read_is("\r", "INLCR: NL reads as CR");
  t.c_iflag = (t.c_iflag & ~INLCR) | IGNCR;
  tcsetattr(0, TCSANOW, &t);
  marker("igncr");
  read_is("x", "IGNCR: CR is dropped");
  tcsetattr(0, TCSANOW, &orig);
}

static void signal_keys(void) {
  catch_signal(SIGINT);
  catch_signal(SIGQUIT);
  catch_signal(SIGTSTP);
  set_mode(ICANON, 1, 0);
  marker("intr");
  wait_for_signal(SIGINT);
  check(got[SIGINT] == 1 && inq() == 0, "VINTR: SIGINT, queued input flushed");
  struct termios t;
  tcgetattr(0, &t);
  t.c_lflag |= NOFLSH;
  tcsetattr(0, TCSANOW, &t);
  marker("noflsh");
  wait_for_signal(SIGQUIT);
  check(got[SIGQUIT] == 1 && inq() == 2, "VQUIT with NOFLSH: SIGQUIT, input kept");
  tcflush(0, TCIFLUSH);
  marker("susp");
  wait_for_signal(SIGTSTP);
  check(got[SIGTSTP] == 1, "VSUSP: SIGTSTP");
  tcsetattr(0, TCSANOW, &orig);
  signal(SIGINT, SIG_DFL);
  signal(SIGQUIT, SIG_DFL);
  signal(SIGTSTP, SIG_DFL);
}

/* Runs fn in a child in a background group; returns its wait status
 * (WUNTRACED: a stopped child is killed after being seen stopped). */
static int in_background(int (*fn)(void)) {
  pid_t pid = gt_fork();
  if (pid == 0) {
    setpgid(0, 0);
    _exit(fn());
  }
  setpgid(pid, pid);
  int st = -1;
  waitpid(pid, &st, WUNTRACED);
  if (WIFSTOPPED(st)) {
    kill(pid, SIGKILL);
    int st2;
    waitpid(pid, &st2, 0);
  }
  return st;
}

static int bg_read(void) {
  char c;
  return read(0, &c, 1) == -1 ? 10 : 11;
}
static int bg_read_ignored(void) {
  signal(SIGTTIN, SIG_IGN);
  char c;
  return read(0, &c, 1) == -1 && errno == EIO ? 0 : 1;
}
static int bg_write(void) { return write(1, "background write\n", 17) == 17 ? 0 : 1; }
static int bg_write_ignored(void) {
  signal(SIGTTOU, SIG_IGN);
  return bg_write();
}
static int bg_tcsetattr(void) { return tcsetattr(0, TCSANOW, &orig) == 0 ? 10 : 11; }
static int bg_tcsetpgrp_blocked(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTTOU);
  sigprocmask(SIG_BLOCK, &s, NULL);
  int r = 0;
  if (tcsetpgrp(0, getpgrp()) != 0) r |= 1;
  if (tcgetpgrp(0) != getpgrp()) r |= 2;
  if (tcsetpgrp(0, getppid()) != 0) r |= 4; /* the parent's group (it leads it) */
  return r;
}

static void job_control(void) {
  char text[64];
  int st = in_background(bg_read);
  check(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTTIN, "background read: stopped by SIGTTIN (%s)",
        status_text(st, text, sizeof text));
  check_status(in_background(bg_read_ignored), 0, 0, "background read with SIGTTIN ignored: EIO");
  check_status(in_background(bg_write), 0, 0, "background write without TOSTOP");
  struct termios t = orig;
  t.c_lflag |= TOSTOP;
  tcsetattr(0, TCSANOW, &t);
  st = in_background(bg_write);
  check(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTTOU, "background write with TOSTOP: stopped by SIGTTOU (%s)",
        status_text(st, text, sizeof text));
  check_status(in_background(bg_write_ignored), 0, 0, "background write with TOSTOP, SIGTTOU ignored");
  tcsetattr(0, TCSANOW, &orig);
  st = in_background(bg_tcsetattr);
  check(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTTOU, "background tcsetattr: stopped by SIGTTOU (%s)",
        status_text(st, text, sizeof text));
  check_status(in_background(bg_tcsetpgrp_blocked), 0, 0, "background tcsetpgrp with SIGTTOU blocked works");
  check(tcgetpgrp(0) == getpgrp(), "and the child gave the foreground back");

  /* A child in a session of its own. */
  int go[2], done[2];
  if (pipe(go) || pipe(done)) return;
  pid_t pid = gt_fork();
  if (pid == 0) {
    int r = 0;
    char c;
    if (setsid() != getpid()) r |= 1;
    if (tcgetpgrp(0) != -1 || errno != ENOTTY) r |= 2;
    if (ioctl(0, TIOCSCTTY, 0) != -1 || errno != EPERM) r |= 4;
    if (write(done[1], "x", 1) != 1) r |= 8;
    if (read(go[0], &c, 1) != 1) r |= 16;
    _exit(r);
  }
  char c;
  check(read(done[0], &c, 1) == 1, "a new session");
  check_ret(tcsetpgrp(0, pid), -1, EPERM, "tcsetpgrp to a group of another session");
  if (write(go[1], "x", 1) != 1) gt_failures++;
  check_status(reap(pid), 0, 0, "the new session has no terminal (ENOTTY; TIOCSCTTY EPERM)");
  check_ret(tcsetpgrp(0, pid), -1, ESRCH, "tcsetpgrp to a group that does not exist");
  check_ret(tcsetpgrp(0, -1), -1, EINVAL, "tcsetpgrp to -1");

  pid = gt_fork();
  if (pid == 0) {
    int r = 0;
    if (ioctl(0, TIOCNOTTY) != 0) r |= 1;
    if (tcgetpgrp(0) != -1 || errno != ENOTTY) r |= 2;
    _exit(r);
  }
  check_status(reap(pid), 0, 0, "TIOCNOTTY in a child: the terminal is no longer its own");
  check(tcgetpgrp(0) == getpgrp(), "and still ours");
}

static void window_size(void) {
  catch_signal(SIGWINCH);
  struct winsize ws0, ws = {33, 77, 0, 0}, got_ws;
  check_ret(ioctl(0, TIOCGWINSZ, &ws0), 0, 0, "TIOCGWINSZ");
  check_ret(ioctl(0, TIOCSWINSZ, &ws), 0, 0, "TIOCSWINSZ 33x77");
  check(ioctl(0, TIOCGWINSZ, &got_ws) == 0 && got_ws.ws_row == 33 && got_ws.ws_col == 77, "reads back");
  check(got[SIGWINCH] == 1, "SIGWINCH on a change");
  ioctl(0, TIOCSWINSZ, &ws);
  check(got[SIGWINCH] == 1, "none when the size stays");
  ioctl(0, TIOCSWINSZ, &ws0);
  signal(SIGWINCH, SIG_DFL);
}

static void output(void) {
  struct termios t = orig;
  if (write(1, "tab\tend\n", 8) != 8) gt_failures++;
  t.c_oflag &= ~ONLCR;
  tcsetattr(0, TCSANOW, &t);
  if (write(1, "no onlcr\n\r", 10) != 10) gt_failures++;
  t.c_oflag &= ~OPOST;
  t.c_oflag |= ONLCR;
  tcsetattr(0, TCSANOW, &t);
  if (write(1, "no opost\n\r", 10) != 10) gt_failures++;
  tcsetattr(0, TCSANOW, &orig);
  check(1, "output processing (see the transcript)");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("ttyldisc: the line discipline and job control\n");
  if (tcgetattr(0, &orig) != 0) {
    printf("ttyldisc: stdin is not a terminal\n");
    return 1;
  }
  defaults();
  canonical();
  noncanonical();
  signal_keys();
  job_control();
  window_size();
  output();
  tcsetattr(0, TCSANOW, &orig);
  return finish("ttyldisc");
}
