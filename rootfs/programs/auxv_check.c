/* auxv_check [ARGS...]: checks the initial process stack a kernel built.
 *
 * Prints "argc=N", every "argv[i]=...", every "envp[i]=..." in order, then
 * one "ok - ..." / "not ok - ..." line per check of the stack layout and the
 * aux vector, then "auxv: PASS" (exit 0) or "auxv: FAIL" (exit 1).
 *
 * The aux vector is read two ways: by walking the initial stack past envp
 * (environ, before anything can change it, up to its NULL, then
 * Elf64_auxv_t pairs up to AT_NULL), and through getauxval(); both must
 * agree. Nothing printed depends on addresses, pids, times or random bytes,
 * so a native run and a guest run print the same text for the same
 * arguments, environment and credentials. */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern char _start[];
/* Defined by the GNU linker when the ELF header lies in a loaded segment. */
extern const Elf64_Ehdr __ehdr_start __attribute__((weak, visibility("hidden")));

#define MAX_AUX_TYPE 64
#define MAX_AUX_ENTRIES 256

static int failures;

static void check(int ok, const char *what) {
  printf("%s - %s\n", ok ? "ok" : "not ok", what);
  if (!ok) failures++;
}

struct aux {
  int present;
  uint64_t val;
};
static struct aux aux[MAX_AUX_TYPE];

static const char *aux_name(unsigned long type) {
  switch (type) {
  case AT_PHDR: return "AT_PHDR";
  case AT_PHENT: return "AT_PHENT";
  case AT_PHNUM: return "AT_PHNUM";
  case AT_PAGESZ: return "AT_PAGESZ";
  case AT_BASE: return "AT_BASE";
  case AT_ENTRY: return "AT_ENTRY";
  case AT_UID: return "AT_UID";
  case AT_EUID: return "AT_EUID";
  case AT_GID: return "AT_GID";
  case AT_EGID: return "AT_EGID";
  case AT_CLKTCK: return "AT_CLKTCK";
  case AT_SECURE: return "AT_SECURE";
  case AT_RANDOM: return "AT_RANDOM";
  case AT_EXECFN: return "AT_EXECFN";
  default: return "?";
  }
}

static int has(unsigned long type) { return type < MAX_AUX_TYPE && aux[type].present; }
static uint64_t val(unsigned long type) { return has(type) ? aux[type].val : 0; }

int main(int argc, char **argv) {
  char **envp = environ; /* still the initial stack's envp: nothing ran setenv() */

  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  int envc = 0;
  while (envp[envc]) {
    printf("envp[%d]=%s\n", envc, envp[envc]);
    envc++;
  }

  /* Initial stack: argc, argv[0..argc-1], NULL, envp[...], NULL, auxv pairs. */
  check(argv[argc] == NULL, "argv is NULL-terminated");
  check(envp == argv + argc + 1, "envp follows argv on the initial stack");
  check(*(const long *)(argv - 1) == argc, "argc sits just below argv on the initial stack");

  const Elf64_auxv_t *av = (const Elf64_auxv_t *)(envp + envc + 1);
  int n = 0, duplicates = 0, terminated = 0;
  for (; n < MAX_AUX_ENTRIES; n++) {
    if (av[n].a_type == AT_NULL) {
      terminated = 1;
      break;
    }
    uint64_t t = av[n].a_type;
    if (t < MAX_AUX_TYPE) {
      if (aux[t].present) duplicates++;
      aux[t].present = 1;
      aux[t].val = av[n].a_un.a_val;
    }
  }
  check(terminated, "auxv follows envp and ends with AT_NULL");
  check(duplicates == 0, "no auxv entry type appears twice");

  char msg[256];
  check(val(AT_PAGESZ) == 4096, "AT_PAGESZ is 4096");

  uint64_t phdr_addr = val(AT_PHDR);
  check(phdr_addr != 0, "AT_PHDR is present and non-zero");
  check(val(AT_PHENT) == sizeof(Elf64_Phdr), "AT_PHENT is sizeof(Elf64_Phdr)");
  uint64_t phnum = val(AT_PHNUM);
  check(phnum > 0 && phnum < 1024, "AT_PHNUM is present and plausible");

  /* The program headers themselves. */
  int phdr_ok = phdr_addr != 0 && val(AT_PHENT) == sizeof(Elf64_Phdr) && phnum > 0 && phnum < 1024;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(uintptr_t)phdr_addr;
  int loads = 0, sane = 1;
  const Elf64_Phdr *pt_phdr = NULL;
  if (phdr_ok) {
    for (uint64_t i = 0; i < phnum; i++) {
      uint32_t t = ph[i].p_type;
      if (t > PT_TLS && t < PT_LOOS) sane = 0;
      if (t == PT_LOAD) {
        loads++;
        if (ph[i].p_memsz < ph[i].p_filesz) sane = 0;
      }
      if (t == PT_PHDR) pt_phdr = &ph[i];
    }
  }
  check(phdr_ok && sane && loads > 0, "AT_PHDR points to sane program headers with a PT_LOAD");

  /* The ELF header as linked (__ehdr_start) must describe the same headers. */
  const Elf64_Ehdr *eh = &__ehdr_start;
  uint64_t bias = 0;
  int have_ehdr = eh != NULL && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0;
  check(have_ehdr, "the ELF header is mapped (__ehdr_start)");
  if (have_ehdr) {
    check((uintptr_t)eh + eh->e_phoff == phdr_addr, "AT_PHDR is __ehdr_start + e_phoff");
    check(eh->e_phnum == phnum, "AT_PHNUM is e_phnum");
    check(eh->e_phentsize == val(AT_PHENT), "AT_PHENT is e_phentsize");
    /* Load bias: where the segment holding the ELF header ended up. */
    int found = 0;
    if (phdr_ok)
      for (uint64_t i = 0; i < phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
          bias = (uintptr_t)eh - ph[i].p_vaddr;
          found = 1;
          break;
        }
    check(found, "a PT_LOAD segment maps file offset 0");
    if (found) {
      check(eh->e_entry + bias == val(AT_ENTRY), "AT_ENTRY is e_entry plus the load bias");
      if (pt_phdr)
        check(pt_phdr->p_vaddr + bias == phdr_addr, "PT_PHDR's p_vaddr plus the load bias is AT_PHDR");
      else
        check(1, "no PT_PHDR entry (nothing more to compare)");
    }
  }

  check(has(AT_ENTRY) && val(AT_ENTRY) == (uintptr_t)_start, "AT_ENTRY is the address of _start");

  int random_ok = val(AT_RANDOM) != 0;
  if (random_ok) {
    const volatile unsigned char *r = (const unsigned char *)(uintptr_t)val(AT_RANDOM);
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) sum += r[i];
    (void)sum;
  }
  check(random_ok, "AT_RANDOM is non-zero and its 16 bytes are readable");

  check(has(AT_UID) && val(AT_UID) == (uint64_t)getuid(), "AT_UID is getuid()");
  check(has(AT_EUID) && val(AT_EUID) == (uint64_t)geteuid(), "AT_EUID is geteuid()");
  check(has(AT_GID) && val(AT_GID) == (uint64_t)getgid(), "AT_GID is getgid()");
  check(has(AT_EGID) && val(AT_EGID) == (uint64_t)getegid(), "AT_EGID is getegid()");
  check(has(AT_SECURE) && val(AT_SECURE) == 0, "AT_SECURE is 0");
  check(val(AT_CLKTCK) == 100, "AT_CLKTCK is 100");
  check(has(AT_HWCAP), "AT_HWCAP is present");

  int execfn_ok = val(AT_EXECFN) != 0;
  if (execfn_ok) execfn_ok = strnlen((const char *)(uintptr_t)val(AT_EXECFN), 4096) < 4096;
  check(execfn_ok, "AT_EXECFN is a non-NULL string");
  check(has(AT_BASE), "AT_BASE is present");

  /* getauxval() must see the same values. (Not AT_HWCAP: glibc's getauxval()
   * returns its own HWCAP_X86_64 there instead of the kernel's value.) */
  static const unsigned long same[] = {AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_ENTRY, AT_RANDOM, AT_UID,
                                       AT_EUID,   AT_GID,  AT_EGID,  AT_SECURE, AT_CLKTCK, AT_EXECFN, AT_BASE};
  char differ[200] = "";
  for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
    unsigned long t = same[i];
    if (has(t) && getauxval(t) != val(t)) {
      strncat(differ, " ", sizeof differ - strlen(differ) - 1);
      strncat(differ, aux_name(t), sizeof differ - strlen(differ) - 1);
    }
  }
  if (differ[0])
    snprintf(msg, sizeof msg, "getauxval() agrees with the auxv on the stack (differs:%s)", differ);
  else
    snprintf(msg, sizeof msg, "getauxval() agrees with the auxv on the stack");
  check(differ[0] == 0, msg);

  printf("auxv: %s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
