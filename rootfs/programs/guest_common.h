/* Helpers shared by the guest test programs (header-only, each program is a
 * single translation unit built twice: with musl-gcc and with gcc, -static). */
#ifndef GUEST_COMMON_H
#define GUEST_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define GUEST_PAGE_SIZE 4096UL

/* Error text that is the same under both libcs. musl's strerror() words some
 * errors differently from glibc (ENOMEM is "Out of memory" in musl and
 * "Cannot allocate memory" in glibc); programs whose output is compared with a
 * native run, or searched for a fixed string, use glibc's wording. */
static inline const char *err_text(int e) {
  switch (e) {
  case EPERM: return "Operation not permitted";
  case ENOENT: return "No such file or directory";
  case EBADF: return "Bad file descriptor";
  case ENOMEM: return "Cannot allocate memory";
  case EACCES: return "Permission denied";
  case EFAULT: return "Bad address";
  case EEXIST: return "File exists";
  case EINVAL: return "Invalid argument";
  case ENOSYS: return "Function not implemented";
  default: return strerror(e);
  }
}

/* A deterministic permutation of [0, n): every index comes out exactly once,
 * in a scattered order.
 *
 * A counter x walks all of [0, m) (m = smallest power of two >= n) with a
 * full-period LCG (Hull-Dobell: multiplier = 1 mod 4, odd increment). Each x
 * is passed through a bijection of [0, m) (odd multiply, xorshift, odd
 * multiply, all mod m) to break up the LCG's regular low bits; results >= n
 * are skipped (cycle walking, fewer than half of the values). Different
 * `salt` values give different orders over the same n. */
struct perm {
  uint64_t n, mask, x, mul, inc, k1, k2;
  unsigned shift;
};

static inline void perm_init(struct perm *p, uint64_t n, uint64_t salt) {
  uint64_t m = 1;
  unsigned bits = 0;
  while (m < n) {
    m <<= 1;
    bits++;
  }
  p->n = n;
  p->mask = m - 1;
  p->x = (salt * 0x2545F4914F6CDD1DULL) & p->mask;
  p->mul = ((0x5851F42D4C957F2DULL + salt * 8) & ~3ULL) | 1; /* = 1 mod 4 */
  p->inc = (0x14057B7EF767814FULL + salt * 2) | 1;           /* odd */
  p->k1 = (0x9E3779B97F4A7C15ULL ^ (salt << 4)) | 1;
  p->k2 = (0xBF58476D1CE4E5B9ULL ^ (salt << 8)) | 1;
  p->shift = bits / 2 ? bits / 2 : 1;
}

/* The next index; call exactly n times for one full pass. */
static inline uint64_t perm_next(struct perm *p) {
  for (;;) {
    p->x = (p->x * p->mul + p->inc) & p->mask;
    uint64_t y = (p->x * p->k1) & p->mask;
    y ^= y >> p->shift;
    y = (y * p->k2) & p->mask;
    if (y < p->n) return y;
  }
}

#endif
