// execve's loader: reads a static ELF (ET_EXEC or static-pie ET_DYN), builds
// a fresh address space with its segments, and lays out the initial stack.
// Segments are private mappings of the file's page cache, as Linux's
// elf_map does, so every process running a program shares its pages.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "mm/address_space.h"

namespace gk {

struct ExecImage {
  uint64_t entry = 0; // initial rip
  uint64_t sp = 0;    // initial rsp (points at argc)
  // The argv and envp strings on the new stack ([start, end), for /proc/PID/cmdline and environ).
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
};

struct ExecError {
  int err = 0;         // the errno execve returns (ENOENT, EACCES, ENOEXEC, E2BIG, ENOMEM)
  std::string message; // for the kernel's own error line
};

struct AuxCreds {
  uint32_t uid, euid, gid, egid;
};

// An executable opened for loading.
struct ExecFile {
  uint64_t size = 0;
  // Up to n bytes at off: the count or -errno.
  std::function<int64_t(void* buf, size_t n, uint64_t off)> pread;
  // Its page cache, kept alive with the file (null when its file system
  // has none: the segments are then copied in).
  std::shared_ptr<mm::PageCache> cache;
};

// Opens an executable (the program or its interpreter) by guest path, after
// the exec permission checks.
using FileReader = std::function<std::variant<ExecFile, ExecError>(const std::string& path)>;

// Loads `path` into `as` (which must be empty). On failure returns an
// ExecError and leaves `as` in an unspecified state to be discarded.
std::variant<ExecImage, ExecError> load_elf(mm::AddressSpace& as, const std::string& path, const FileReader& read,
                                            const std::vector<std::string>& argv,
                                            const std::vector<std::string>& envp, const AuxCreds& creds);

} // namespace gk
