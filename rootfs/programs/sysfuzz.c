/* sysfuzz ROUNDS CALLS: robustness of the kernel against random syscall
 * arguments. Each round forks a child that makes CALLS syscalls, picked
 * from a list of numbers, with random arguments: small integers, wild
 * pointers, pointers into its own memory, huge lengths, -1. The child may
 * die of what it does to itself (a clobbered TLS pointer, an unmapped
 * stack); the parent kills it if it blocks for more than 2 s. The kernel
 * must survive every round. Never run it natively outside a throw-away VM:
 * the arguments are random. Output: "sysfuzz: survived N rounds". */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static char scratch[1 << 16];

static long arg(void) {
  switch (next() % 10) {
  case 0: return 0;
  case 1: return -1;
  case 2: return (long)(next() % 64);
  case 3: return (long)(next() & 0xffff);
  case 4: return (long)next();                        /* wild */
  case 5: return (long)(scratch + next() % sizeof scratch);
  case 6: return (long)(0x7fc000000000ULL + (next() & 0xffffff)); /* the stub's side */
  case 7: return 0x1000;
  case 8: return (long)(next() % 4096) << 12;
  default: return (long)(1ULL << (next() % 63));
  }
}

/* Calls that cannot end the process or block it for long on their own. */
static const long calls[] = {
    SYS_read, SYS_write, SYS_close, SYS_fstat, SYS_lseek, SYS_mmap, SYS_mprotect, SYS_munmap, SYS_brk,
    SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_ioctl, SYS_pread64, SYS_readv, SYS_writev, SYS_access,
    SYS_pipe, SYS_sched_yield, SYS_madvise, SYS_dup, SYS_dup2, SYS_getpid, SYS_getppid, SYS_uname,
    SYS_fcntl, SYS_getcwd, SYS_readlink, SYS_gettimeofday, SYS_getrlimit, SYS_getrusage, SYS_times,
    SYS_getuid, SYS_getgid, SYS_sigaltstack, SYS_arch_prctl, SYS_setrlimit, SYS_gettid, SYS_time,
    SYS_futex, SYS_sched_getaffinity, SYS_set_tid_address, SYS_timer_create, SYS_timer_settime,
    SYS_timer_gettime, SYS_timer_delete, SYS_clock_gettime, SYS_clock_getres, SYS_newfstatat,
    SYS_pipe2, SYS_dup3, SYS_prlimit64, SYS_getrandom, SYS_rt_sigpending, SYS_get_robust_list,
    SYS_set_robust_list, SYS_getpgid, SYS_getsid, SYS_setitimer, SYS_getitimer, SYS_openat, SYS_stat,
    SYS_lstat, SYS_faccessat, SYS_tgkill, 999, 1000, 100000, -5,
    SYS_socket, SYS_socketpair, SYS_bind, SYS_connect, SYS_listen, SYS_accept4, SYS_getsockname,
    SYS_getpeername, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_shutdown, SYS_setsockopt,
    SYS_getsockopt, SYS_sendmmsg, SYS_recvmmsg,
};

/* A unix socket address (a short path or abstract name) half the time,
 * so that sockets get names and find each other. */
static void socket_address(long *addr, long *len) {
  static char a[110];
  if (next() & 1) return;
  a[0] = 1; /* AF_UNIX */
  a[1] = 0;
  for (unsigned i = 2; i < sizeof a; i++) a[i] = "ab\0/."[next() % 5];
  *addr = (long)a;
  *len = (long)(next() % sizeof a);
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  int per = argc > 2 ? atoi(argv[2]) : 2000;
  for (int r = 0; r < rounds; r++) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
      rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(r + 1);
      close(0); /* random writes must not reach the terminal */
      close(1);
      close(2);
      for (int i = 0; i < per; i++) {
        long nr = calls[next() % (sizeof calls / sizeof calls[0])];
        long a0 = arg(), a1 = arg(), a2 = arg(), a3 = arg(), a4 = arg(), a5 = arg();
        if (nr == SYS_futex) a3 = 0;                       /* no timeout pointer: keep waits short */
        if (nr == SYS_futex && (a1 & 127) == 0) a1 = 1;    /* FUTEX_WAKE, not an untimed WAIT */
        if (nr == SYS_tgkill) a0 = getpid(), a1 = getpid(); /* only ever ourselves */
        if (nr == SYS_read && (a0 == 0)) a0 = -1;           /* never wait for the console */
        if (nr == SYS_setitimer || nr == SYS_timer_settime) continue; /* a SIGALRM would end the round early */
        if (nr == SYS_socket || nr == SYS_socketpair) { /* mostly AF_UNIX, never blocking */
          if (next() & 1) a0 = 1;
          a1 = (long)(next() % 6) | 04000;
        }
        if (nr == SYS_accept4) a3 |= 04000;
        if (nr == SYS_bind || nr == SYS_connect) socket_address(&a1, &a2);
        if (nr == SYS_sendto) socket_address(&a4, &a5);
        syscall(nr, a0, a1, a2, a3, a4, a5);
      }
      _exit(0);
    }
    struct timespec d = {0, 10 * 1000 * 1000};
    int st, waited = 0;
    while (waitpid(c, &st, WNOHANG) == 0) {
      if (++waited > 200) { /* 2 s: it blocked somewhere; that is allowed */
        kill(c, SIGKILL);
        waitpid(c, &st, 0);
        break;
      }
      nanosleep(&d, 0);
    }
  }
  printf("sysfuzz: survived %d rounds\n", rounds);
  return 0;
}
