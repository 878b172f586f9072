// Command-line options of the kernel binary.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mm/host_mmu.h"

namespace gk {

struct Options {
  uint64_t mem_bytes = 256ULL << 20;
  mm::Backend backend = mm::Backend::Mmap;
  std::string trap = "sysemu";
  bool stats = false;
  std::string stats_json;        // write the statistics as JSON here
  bool trace_syscall = false, trace_fault = false, trace_pte = false, trace_mmu = false;
  std::string trace_file;        // empty: stderr
  unsigned fault_around = 16;
  std::string hostname = "guestkernel";
  std::string rootfs;            // host directory that is the guest's root; empty: the host's own /, read-only
  bool rootfs_ro = false;        // the rootfs is read-only, with a tmpfs overlay taking the writes
  std::vector<std::string> env;  // the first program's environment
  std::string export_dir;        // --export: mount the FUSE view of the guest here
  // Run mode: `-- PROGRAM ARGS` runs PROGRAM as pid 1 in a ready-made root
  // (the kernel mounts /proc, /dev, /tmp). Boot mode (no PROGRAM): init
  // (--init, else the paths Linux tries) boots the root and mounts what it needs.
  std::string program;
  std::vector<std::string> args; // argv[1..]
  std::string init;              // boot mode's init, as Linux's init=
  bool quiet = false;            // no boot and shutdown lines (Linux's "quiet")
  std::vector<std::string> argv; // the kernel's own command line (reboot re-executes it)
  std::string command_line() const; // argv joined by spaces: /proc/cmdline
  bool boot_mode() const { return program.empty(); }
};

// Parses argv; on --help or an error prints and exits (0 or 2).
Options parse_options(int argc, char** argv);
// "256M", "1G", "4096K", "1048576" -> bytes; throws std::invalid_argument.
uint64_t parse_size(const std::string& s);

} // namespace gk
