#include "guestkernel/exec/elf_loader.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace gk {

using mm::kPageSize;
using mm::page_down;
using mm::page_up;

namespace {

constexpr uint64_t kEtDynBase = 0x5555'5555'4000ULL; // where Linux puts PIE programs (no ASLR)
constexpr uint64_t kMaxArgBytes = 2ULL << 20;        // ARG_MAX-like

ExecError noexec(const std::string& path, const std::string& why) {
  return {ENOEXEC, fmt::format("{}: not a runnable ELF: {}", path, why)};
}

int elf_prot(uint32_t pf) {
  return ((pf & PF_R) ? PROT_READ : 0) | ((pf & PF_W) ? PROT_WRITE : 0) | ((pf & PF_X) ? PROT_EXEC : 0);
}

// Writes argv/envp/auxv the way Linux's create_elf_tables does and returns sp.
std::variant<uint64_t, ExecError> build_stack(mm::AddressSpace& as, const std::string& path,
                                              const std::vector<std::string>& argv,
                                              const std::vector<std::string>& envp, uint64_t phdr,
                                              uint64_t phnum, uint64_t entry, uint64_t interp_base,
                                              const AuxCreds& c, ExecImage& img) {
  uint64_t strings = path.size() + 1;
  for (auto& s : argv) strings += s.size() + 1;
  for (auto& s : envp) strings += s.size() + 1;
  if (strings > kMaxArgBytes) return ExecError{E2BIG, "argument list too long"};

  uint64_t top = as.stack_top();
  uint64_t stack_size = page_up(strings + (argv.size() + envp.size()) * 8 + 4096) + (128 << 10);
  mm::Vma stack;
  stack.start = top - stack_size;
  stack.end = top;
  stack.prot = PROT_READ | PROT_WRITE;
  stack.flags = mm::Vma::kGrowsDown;
  stack.name = "[stack]";
  if (as.mmap(stack.start, stack_size, stack.prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN,
              "[stack]") < 0)
    return ExecError{ENOMEM, "cannot map the stack"};

  bool ok = true;
  uint64_t p = top;
  auto push_bytes = [&](const void* data, size_t n) {
    p -= n;
    ok = ok && as.poke(p, data, n);
    return p;
  };
  auto push_str = [&](const std::string& s) { return push_bytes(s.c_str(), s.size() + 1); };
  uint64_t execfn = push_str(path);
  std::vector<uint64_t> envp_ptrs, argv_ptrs;
  img.env_end = p;
  for (auto it = envp.rbegin(); it != envp.rend(); ++it) envp_ptrs.insert(envp_ptrs.begin(), push_str(*it));
  img.env_start = img.arg_end = p;
  for (auto it = argv.rbegin(); it != argv.rend(); ++it) argv_ptrs.insert(argv_ptrs.begin(), push_str(*it));
  img.arg_start = p;
  uint64_t platform = push_str("x86_64");
  uint8_t random[16];
  if (getrandom(random, sizeof random, 0) != sizeof random) memset(random, 0x5a, sizeof random);
  p &= ~15ULL;
  uint64_t at_random = push_bytes(random, sizeof random);

  std::vector<uint64_t> aux = {
      AT_HWCAP, getauxval(AT_HWCAP), AT_PAGESZ, kPageSize, AT_CLKTCK, 100, AT_PHDR, phdr,
      AT_PHENT, sizeof(Elf64_Phdr), AT_PHNUM, phnum, AT_BASE, interp_base, AT_FLAGS, 0, AT_ENTRY, entry,
      AT_UID, c.uid, AT_EUID, c.euid, AT_GID, c.gid, AT_EGID, c.egid, AT_SECURE, 0,
      AT_RANDOM, at_random, AT_HWCAP2, 0, AT_EXECFN, execfn, AT_PLATFORM, platform,
      AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ) ? getauxval(AT_MINSIGSTKSZ) : 2048, AT_NULL, 0};
  std::vector<uint64_t> words;
  words.push_back(argv.size());
  words.insert(words.end(), argv_ptrs.begin(), argv_ptrs.end());
  words.push_back(0);
  words.insert(words.end(), envp_ptrs.begin(), envp_ptrs.end());
  words.push_back(0);
  words.insert(words.end(), aux.begin(), aux.end());
  p = (p - words.size() * 8) & ~15ULL;
  ok = ok && as.poke(p, words.data(), words.size() * 8);
  if (!ok) return ExecError{ENOMEM, "out of guest memory while building the stack"};
  return p;
}

struct Loaded {
  uint64_t entry = 0, phdr = 0, phnum = 0, bias = 0, end = 0;
  std::string interp;
};

// Exactly n bytes at off, or false.
bool read_exact(const ExecFile& f, void* buf, size_t n, uint64_t off) {
  auto* p = static_cast<uint8_t*>(buf);
  for (size_t done = 0; done < n;) {
    int64_t r = f.pread(p + done, n - done, off + done);
    if (r <= 0) return false;
    done += size_t(r);
  }
  return true;
}

// Maps one PT_LOAD segment's file pages [vstart, vstart+len) from file
// offset `off` (page aligned): from the page cache, or copied.
bool map_file_pages(mm::AddressSpace& as, const std::string& path, const ExecFile& f, uint64_t vstart,
                    uint64_t len, uint64_t off, int prot) {
  if (f.cache) {
    return as.mmap(vstart, len, prot, MAP_PRIVATE | MAP_FIXED, path, f.cache, off >> mm::kPageShift) >= 0;
  }
  if (as.mmap(vstart, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, path) < 0) return false;
  std::vector<uint8_t> buf(1 << 16);
  uint64_t n = off < f.size ? std::min(len, f.size - off) : 0;
  for (uint64_t done = 0; done < n;) {
    size_t chunk = size_t(std::min<uint64_t>(buf.size(), n - done));
    if (!read_exact(f, buf.data(), chunk, off + done) || !as.poke(vstart + done, buf.data(), chunk)) return false;
    done += chunk;
  }
  return true;
}

// Validates an ELF image and maps its PT_LOAD segments. `bias` is where an
// ET_DYN image goes (0: choose one: the PIE base for programs, a free range
// below the mmap base for the interpreter).
std::variant<Loaded, ExecError> load_image(mm::AddressSpace& as, const std::string& path, const ExecFile& f,
                                           bool is_interp) {
  if (f.size < sizeof(Elf64_Ehdr)) return noexec(path, "shorter than an ELF header");
  Elf64_Ehdr eh;
  if (!read_exact(f, &eh, sizeof eh, 0)) return ExecError{EIO, fmt::format("{}: cannot read the ELF header", path)};
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return noexec(path, "no ELF magic");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return noexec(path, "not a 64-bit little-endian ELF");
  if (eh.e_machine != EM_X86_64) return noexec(path, "not an x86-64 ELF");
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return noexec(path, "not an executable");
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 128)
    return noexec(path, "bad program header table");
  if (eh.e_phoff > f.size || f.size - eh.e_phoff < uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr))
    return noexec(path, "program headers lie past the end of the file (truncated?)");
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  if (!read_exact(f, ph.data(), ph.size() * sizeof(Elf64_Phdr), eh.e_phoff))
    return ExecError{EIO, fmt::format("{}: cannot read the program headers", path)};

  Loaded out;
  uint64_t lo = UINT64_MAX, hi = 0, phdr_vaddr = 0;
  bool have_phdr = false;
  for (const auto& p : ph) {
    if (p.p_type == PT_INTERP && !is_interp) {
      if (p.p_offset > f.size || f.size - p.p_offset < p.p_filesz || p.p_filesz < 2 || p.p_filesz > 4096)
        return noexec(path, "bad PT_INTERP");
      out.interp.resize(p.p_filesz - 1);
      if (!read_exact(f, out.interp.data(), out.interp.size(), p.p_offset)) return noexec(path, "bad PT_INTERP");
    }
    if (p.p_type == PT_PHDR) {
      phdr_vaddr = p.p_vaddr;
      have_phdr = true;
    }
    if (p.p_type != PT_LOAD) continue;
    if (p.p_filesz > p.p_memsz) return noexec(path, "segment file size exceeds its memory size");
    if (p.p_offset > f.size || f.size - p.p_offset < p.p_filesz)
      return noexec(path, "segment lies past the end of the file (truncated?)");
    if (p.p_memsz > mm::kUserTop || p.p_vaddr > mm::kUserTop - p.p_memsz)
      return noexec(path, "segment outside user space");
    if ((p.p_vaddr & (kPageSize - 1)) != (p.p_offset & (kPageSize - 1)))
      return noexec(path, "segment offset and address disagree modulo the page size");
    lo = std::min(lo, page_down(p.p_vaddr));
    hi = std::max(hi, p.p_vaddr + p.p_memsz);
  }
  if (lo == UINT64_MAX) return noexec(path, "no loadable segment");
  uint64_t bias = 0;
  if (eh.e_type == ET_DYN) {
    if (is_interp) {
      auto gap = as.vmas().find_gap_topdown(page_up(hi - lo), mm::kMmapMin, as.mmap_base());
      if (!gap) return ExecError{ENOMEM, fmt::format("{}: no room for the interpreter", path)};
      bias = *gap - lo;
    } else {
      bias = kEtDynBase - lo;
    }
  }
  if (hi + bias > as.mmap_base() || lo + bias < mm::kMmapMin)
    return noexec(path, "segments overlap the stack area or page zero");

  for (const auto& p : ph) {
    if (p.p_type != PT_LOAD || p.p_memsz == 0) continue;
    uint64_t vstart = page_down(p.p_vaddr + bias);
    uint64_t file_end = p.p_vaddr + bias + p.p_filesz;
    uint64_t mem_end = page_up(p.p_vaddr + bias + p.p_memsz);
    uint64_t map_off = p.p_offset - (p.p_vaddr + bias - vstart);
    int prot = elf_prot(p.p_flags);
    // Like Linux's elf_map: the file pages privately, the rest of the last
    // one zeroed (a private copy), then anonymous pages (nameless, as in
    // /proc/PID/maps on Linux) for the bss.
    uint64_t file_pages_end = std::min(page_up(file_end), mem_end);
    if (file_pages_end > vstart && !map_file_pages(as, path, f, vstart, file_pages_end - vstart, map_off, prot))
      return ExecError{ENOMEM, fmt::format("{}: cannot map a segment", path)};
    if (mem_end > file_pages_end &&
        as.mmap(file_pages_end, mem_end - file_pages_end, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) < 0)
      return ExecError{ENOMEM, fmt::format("{}: cannot map a segment", path)};
    if (p.p_memsz > p.p_filesz && file_end < file_pages_end) {
      std::vector<uint8_t> zeros(file_pages_end - file_end, 0);
      if (!as.poke(file_end, zeros.data(), zeros.size()))
        return ExecError{ENOMEM, fmt::format("{}: out of guest memory while loading", path)};
    }
  }
  // AT_PHDR: PT_PHDR if present, else the headers inside the first segment.
  if (have_phdr) {
    out.phdr = phdr_vaddr + bias;
  } else {
    for (const auto& p : ph)
      if (p.p_type == PT_LOAD && p.p_offset <= eh.e_phoff &&
          eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr) <= p.p_offset + p.p_filesz) {
        out.phdr = p.p_vaddr + bias + (eh.e_phoff - p.p_offset);
        break;
      }
  }
  out.phnum = eh.e_phnum;
  out.entry = eh.e_entry + bias;
  out.bias = bias;
  out.end = page_up(hi + bias);
  return out;
}

} // namespace

std::variant<ExecImage, ExecError> load_elf(mm::AddressSpace& as, const std::string& path, const FileReader& read_file,
                                            const std::vector<std::string>& argv,
                                            const std::vector<std::string>& envp, const AuxCreds& creds) {
  auto file = read_file(path);
  if (auto* e = std::get_if<ExecError>(&file)) return *e;
  auto main = load_image(as, path, std::get<ExecFile>(file), false);
  if (auto* e = std::get_if<ExecError>(&main)) return *e;
  const Loaded& prog = std::get<Loaded>(main);
  as.set_brk_base(prog.end);
  uint64_t entry = prog.entry, base = 0;
  if (!prog.interp.empty()) {
    // The dynamic loader, by the path it names in the guest's namespace.
    auto interp_file = read_file(prog.interp);
    if (auto* e = std::get_if<ExecError>(&interp_file))
      return ExecError{e->err == ENOENT ? ENOENT : ELIBBAD, fmt::format("{}: interpreter {}", path, e->message)};
    auto interp = load_image(as, prog.interp, std::get<ExecFile>(interp_file), true);
    if (auto* e = std::get_if<ExecError>(&interp)) return ExecError{ELIBBAD, e->message};
    entry = std::get<Loaded>(interp).entry;
    base = std::get<Loaded>(interp).bias;
  }
  ExecImage img;
  auto sp = build_stack(as, path, argv, envp, prog.phdr, prog.phnum, prog.entry, base, creds, img);
  if (auto* e = std::get_if<ExecError>(&sp)) return *e;
  img.entry = entry;
  img.sp = std::get<uint64_t>(sp);
  return img;
}

} // namespace gk
