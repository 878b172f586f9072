/* numacheck: get_mempolicy(2) and set_mempolicy(2) on a machine with one
 * NUMA node: modes and mode flags, node masks as given and as in effect,
 * MPOL_F_NODE/ADDR/MEMS_ALLOWED, a fork inheriting the policy, every errno.
 * Natively (one node) and in the guest the output must be the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

enum { DEFAULT, PREFERRED, BIND, INTERLEAVE, LOCAL };
#define F_STATIC (1 << 15)
#define F_RELATIVE (1 << 14)
#define F_BALANCING (1 << 13)
#define F_NODE 1
#define F_ADDR 2
#define F_MEMS_ALLOWED 4

static void get(const char *what, unsigned long flags, void *addr) {
  int mode = -1;
  unsigned long mask[2] = {~0UL, ~0UL};
  long r = syscall(SYS_get_mempolicy, &mode, mask, 128UL, addr, flags);
  if (r) printf("%s: %s\n", what, result_text(r));
  else printf("%s: mode %#x mask %#lx %#lx\n", what, mode, mask[0], mask[1]);
}

static void set(const char *what, int mode, unsigned long nodes, unsigned long maxnode) {
  unsigned long mask[2] = {nodes, 0};
  printf("%s: %s\n", what, result_text(syscall(SYS_set_mempolicy, mode, mask, maxnode)));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *gone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(gone, 4096);
  page[0] = 1;

  printf("get, nothing asked: %s\n", result_text(syscall(SYS_get_mempolicy, NULL, NULL, 0UL, NULL, 0UL)));
  get("default", 0, NULL);
  unsigned long m = 0;
  printf("get, mask of 0 nodes: %s\n", result_text(syscall(SYS_get_mempolicy, NULL, &m, 0UL, NULL, 0UL)));
  get("mems allowed", F_MEMS_ALLOWED, NULL);
  get("mems allowed and node", F_MEMS_ALLOWED | F_NODE, NULL);
  get("unknown flag", 8, NULL);
  get("address without MPOL_F_ADDR", 0, page);
  get("policy at a mapped address", F_ADDR, page);
  get("policy at an unmapped address", F_ADDR, gone);
  get("node of a mapped page", F_ADDR | F_NODE, page);
  get("next interleave node, not interleaving", F_NODE, NULL);
  printf("get, bad mode pointer: %s\n", result_text(syscall(SYS_get_mempolicy, (void *)8, NULL, 0UL, NULL, 0UL)));

  set("bind to node 0", BIND, 1, 64);
  get("after it", 0, NULL);
  get("policy at an address still default", F_ADDR, page);
  pid_t pid = fork();
  if (pid == 0) {
    get("in a forked child", 0, NULL);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  set("interleave on node 0", INTERLEAVE, 1, 64);
  get("next interleave node", F_NODE, NULL);
  set("bind to no node", BIND, 0, 64);
  set("bind to node 1 only (not present)", BIND, 2, 64);
  set("bind with no mask bits counted", BIND, 1, 0);
  set("preferred, no node: local", PREFERRED, 0, 64);
  get("after it", 0, NULL);
  set("preferred node 0 and 5", PREFERRED, 0x21, 64);
  get("after it", 0, NULL);
  set("local with a node", LOCAL, 1, 64);
  set("local", LOCAL, 0, 64);
  get("after it", 0, NULL);
  set("default with a node", DEFAULT, 1, 64);
  set("unknown mode", 99, 1, 64);
  set("static and relative", BIND | F_STATIC | F_RELATIVE, 1, 64);
  set("static nodes 0 and 3", BIND | F_STATIC, 9, 64);
  get("after it", 0, NULL);
  set("static node 3 only", BIND | F_STATIC, 8, 64);
  set("relative node 1", INTERLEAVE | F_RELATIVE, 2, 64);
  get("after it", 0, NULL);
  set("preferred, static, no node", PREFERRED | F_STATIC, 0, 64);
  set("bind with numa balancing", BIND | F_BALANCING, 1, 64);
  get("after it", 0, NULL);
  printf("set, bad mask pointer: %s\n", result_text(syscall(SYS_set_mempolicy, BIND, (void *)8, 64UL)));
  set("default", DEFAULT, 0, 64);
  get("after it", 0, NULL);
  return 0;
}
