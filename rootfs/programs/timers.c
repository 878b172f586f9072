/* timers: clocks, sleeps, interval timers and POSIX timers. Durations are
 * measured with CLOCK_MONOTONIC but only compared, never printed.
 *   - clock_getres(CLOCK_MONOTONIC) is > 0 and <= 1 ms; CLOCK_MONOTONIC never
 *     goes backwards over 1000 reads; CLOCK_REALTIME is after 2020;
 *   - alarm(1) + pause(): pause returns EINTR after the handler ran, at least
 *     ~1 s later; alarm(5) then alarm(0) returns 5 (the seconds left,
 *     rounded);
 *   - nanosleep(50 ms), clock_nanosleep(CLOCK_MONOTONIC, 50 ms) relative and
 *     with TIMER_ABSTIME each sleep at least 50 ms (the absolute one until
 *     its deadline);
 *   - setitimer(ITIMER_REAL) every 20 ms delivers at least 3 SIGALRMs (5 are
 *     due in the first 100 ms; to stay deterministic on an overloaded
 *     machine, where expirations coalesce while the process does not run,
 *     the third may come up to 2 s after the start) and, over the first
 *     100 ms, never more than one per 20 ms elapsed (plus one);
 *     getitimer shows 0 < it_value <= 20 ms and it_interval 20 ms; after
 *     disarming, getitimer shows zero;
 *   - timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL SIGRTMIN, sival_int 42),
 *     timer_settime(30 ms): timer_gettime shows it armed, the handler gets
 *     SIGRTMIN with si_code SI_TIMER and si_value 42 no earlier than 30 ms
 *     later; timer_delete succeeds;
 *   - times() and getrusage(RUSAGE_SELF) succeed with non-negative user and
 *     system times; sched_yield() returns 0; sched_getaffinity() reports at
 *     least one CPU.
 * Output: a header line, 24 check lines, "timers: PASS"; it takes about
 * 1.5 s. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>

#include "guest_test.h"

#define MS 1000000LL

static volatile int alarms;
static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

static volatile int timer_fired, timer_code, timer_value, timer_signo;
static volatile int64_t timer_fired_at;
static void on_timer(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  timer_fired++;
  timer_signo = sig;
  timer_code = si->si_code;
  timer_value = si->si_value.sival_int;
  timer_fired_at = mono_ns();
}

static void clock_tests(void) {
  struct timespec res = {0, 0};
  int r = clock_getres(CLOCK_MONOTONIC, &res);
  check(r == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000,
        "clock_getres(CLOCK_MONOTONIC) is > 0 and <= 1 ms");
  int64_t prev = mono_ns(), backwards = 0;
  for (int i = 0; i < 1000; i++) {
    int64_t now = mono_ns();
    if (now < prev) backwards++;
    prev = now;
  }
  check(backwards == 0, "CLOCK_MONOTONIC never goes backwards over 1000 reads");
  struct timespec rt;
  r = clock_gettime(CLOCK_REALTIME, &rt);
  check(r == 0 && rt.tv_sec > 1577836800, "CLOCK_REALTIME is after 2020-01-01");
}

static void alarm_tests(void) {
  set_handler(SIGALRM, (void *)on_alarm, 0);
  alarms = 0;
  int64_t t0 = mono_ns();
  alarm(1);
  int r = pause();
  int e = errno;
  int64_t took = mono_ns() - t0;
  check(r == -1 && e == EINTR && alarms == 1, "alarm(1) + pause(): pause returns EINTR after the handler ran");
  check(took >= 900 * MS, "the alarm came about 1 s later (at least 0.9 s)");
  alarm(5);
  unsigned left = alarm(0);
  check(left == 5, "alarm(5) then alarm(0) returns 5");
}

static void sleep_tests(void) {
  struct timespec req = {0, 50 * MS};
  int64_t t0 = mono_ns();
  int r = nanosleep(&req, NULL);
  int64_t took = mono_ns() - t0;
  check(r == 0 && took >= 50 * MS, "nanosleep: slept at least 50 ms");

  t0 = mono_ns();
  r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
  took = mono_ns() - t0;
  check(r == 0 && took >= 50 * MS, "clock_nanosleep relative: slept at least 50 ms");

  int64_t deadline = mono_ns() + 50 * MS;
  struct timespec abs_ts = ns_to_ts(deadline);
  r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs_ts, NULL);
  check(r == 0 && mono_ns() >= deadline, "clock_nanosleep TIMER_ABSTIME: slept until the deadline (50 ms)");
}

static void itimer_tests(void) {
  set_handler(SIGALRM, (void *)on_alarm, 0);
  alarms = 0;
  struct itimerval it = {{0, 20000}, {0, 20000}};
  int64_t t0 = mono_ns();
  check_ret(setitimer(ITIMER_REAL, &it, NULL), 0, 0, "setitimer(ITIMER_REAL, every 20 ms)");
  struct itimerval cur;
  memset(&cur, 0, sizeof cur);
  getitimer(ITIMER_REAL, &cur);
  check(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 20000 &&
            cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 20000,
        "getitimer: 0 < it_value <= 20 ms, it_interval 20 ms");
  /* Sleep through the first 100 ms (sleep_ms goes on after each signal). */
  sleep_ms(100);
  int64_t elapsed = mono_ns() - t0;
  int in_100ms = alarms;
  /* On a very slow machine, wait up to 2 s for the third one. */
  while (alarms < 3 && mono_ns() - t0 < 2000 * MS) sleep_ms(5);
  int got3 = alarms >= 3;
  struct itimerval zero;
  memset(&zero, 0, sizeof zero);
  setitimer(ITIMER_REAL, &zero, NULL);
  memset(&cur, 0xFF, sizeof cur);
  getitimer(ITIMER_REAL, &cur);
  check(got3, "the 20 ms interval timer delivered at least 3 SIGALRMs (5 are due in the first 100 ms)");
  check(in_100ms <= elapsed / (20 * MS) + 1, "and not more than one per 20 ms elapsed");
  check(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 && cur.it_interval.tv_sec == 0 &&
            cur.it_interval.tv_usec == 0,
        "after disarming, getitimer shows zero");
}

static void posix_timer_tests(void) {
  set_handler(SIGRTMIN, (void *)on_timer, SA_SIGINFO);
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGRTMIN;
  sev.sigev_value.sival_int = 42;
  timer_t t;
  if (!check_ret(timer_create(CLOCK_MONOTONIC, &sev, &t), 0, 0,
                 "timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL SIGRTMIN, sival_int 42)"))
    return;
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  its.it_value.tv_nsec = 30 * MS;
  int64_t t0 = mono_ns();
  check_ret(timer_settime(t, 0, &its, NULL), 0, 0, "timer_settime(30 ms, one shot)");
  struct itimerspec cur;
  memset(&cur, 0, sizeof cur);
  int r = timer_gettime(t, &cur);
  /* it_value is 0 only if the timer already fired (the process did not run
   * for 30 ms between the two calls): then the handler has run too. */
  check(r == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 30 * MS &&
            (cur.it_value.tv_nsec > 0 || timer_fired) && cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 0,
        "timer_gettime: armed, 0 < it_value <= 30 ms, no interval");
  while (!timer_fired && mono_ns() - t0 < 2000 * MS) sleep_ms(5);
  check(timer_fired == 1 && timer_signo == SIGRTMIN && timer_code == SI_TIMER && timer_value == 42,
        "the timer delivered SIGRTMIN once with si_code SI_TIMER and si_value 42");
  check(timer_fired && timer_fired_at - t0 >= 30 * MS, "no earlier than 30 ms after it was set");
  check_ret(timer_delete(t), 0, 0, "timer_delete");
}

static void misc_tests(void) {
  struct tms tm;
  clock_t c = times(&tm);
  check(c != (clock_t)-1 && tm.tms_utime >= 0 && tm.tms_stime >= 0, "times() succeeds, user and system times >= 0");
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  int r = getrusage(RUSAGE_SELF, &ru);
  check(r == 0 && ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_stime.tv_sec >= 0 &&
            ru.ru_stime.tv_usec >= 0,
        "getrusage(RUSAGE_SELF) succeeds, user and system times >= 0");
  check_ret(sched_yield(), 0, 0, "sched_yield returns 0");
  cpu_set_t set;
  CPU_ZERO(&set);
  r = sched_getaffinity(0, sizeof set, &set);
  check(r == 0 && CPU_COUNT(&set) >= 1, "sched_getaffinity reports at least one CPU");
}

int main(void) {
  printf("timers: clocks, sleeps, itimers, POSIX timers\n");
  clock_tests();
  alarm_tests();
  sleep_tests();
  itimer_tests();
  posix_timer_tests();
  misc_tests();
  return finish("timers");
}
