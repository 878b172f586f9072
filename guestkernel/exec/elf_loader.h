// execve's loader: reads a static ELF (ET_EXEC or static-pie ET_DYN), builds
// a fresh address space with its segments, and lays out the initial stack.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "mm/address_space.h"

namespace gk {

struct ExecImage {
  uint64_t entry = 0; // initial rip
  uint64_t sp = 0;    // initial rsp (points at argc)
};

struct ExecError {
  int err = 0;         // the errno execve returns (ENOENT, EACCES, ENOEXEC, E2BIG, ENOMEM)
  std::string message; // for the kernel's own error line
};

struct AuxCreds {
  uint32_t uid, euid, gid, egid;
};

// Reads a whole executable (the program or its interpreter) by guest path,
// after the exec permission checks.
using FileReader = std::function<std::variant<std::vector<uint8_t>, ExecError>(const std::string& path)>;

// Loads `path` into `as` (which must be empty). On failure returns an
// ExecError and leaves `as` in an unspecified state to be discarded.
std::variant<ExecImage, ExecError> load_elf(mm::AddressSpace& as, const std::string& path, const FileReader& read,
                                            const std::vector<std::string>& argv,
                                            const std::vector<std::string>& envp, const AuxCreds& creds);

} // namespace gk
