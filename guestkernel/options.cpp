#include "guestkernel/options.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace gk {

uint64_t parse_size(const std::string& s) {
  size_t pos = 0;
  unsigned long long v = std::stoull(s, &pos, 0);
  std::string suffix = s.substr(pos);
  uint64_t mul = 1;
  if (suffix == "" || suffix == "B") mul = 1;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB") mul = 1ULL << 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB") mul = 1ULL << 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") mul = 1ULL << 30;
  else throw std::invalid_argument("unknown size suffix '" + suffix + "'");
  if (v > UINT64_MAX / mul) throw std::invalid_argument("size too large");
  return v * mul;
}

Options parse_options(int argc, char** argv) {
  Options o;
  o.argv.assign(argv, argv + argc);
  CLI::App app{"guestkernel: a Linux-ABI guest kernel in one host process.\n"
               "Runs PROGRAM (an x86-64 Linux program in the guest's root) as the guest's first process;\n"
               "every syscall and page fault it makes is implemented here."};
  std::string mem = "256M", mmu = mm::backend_name(o.backend), trace;
  app.add_option("--mem", mem, "guest physical memory (e.g. 64M, 1G)")->capture_default_str();
  app.add_option("--mmu", mmu, "host MMU backend that mirrors guest page tables")
      ->check(CLI::IsMember({"rfp", "mremap", "mmap"}))
      ->capture_default_str();
  app.add_option("--trap", o.trap, "how guest syscalls reach the kernel")
      ->check(CLI::IsMember({"sysemu"}))
      ->capture_default_str();
  app.add_flag("--stats", o.stats, "print where the host time went when the guest exits");
  app.add_option("--stats-json", o.stats_json, "also write the statistics as JSON to this file");
  app.add_option("--trace", trace, "comma-separated: syscall,fault,pte,mmu or all (strace-like lines on stderr)");
  app.add_option("--trace-file", o.trace_file, "write trace lines to this file instead of stderr");
  app.add_option("--fault-around", o.fault_around, "pages mapped per anonymous fault (1 disables)")
      ->check(CLI::Range(1u, 512u))
      ->capture_default_str();
  std::string rootfs_ro;
  auto* rw = app.add_option("--rootfs", o.rootfs, "host directory to use as the guest's root file system (read-write)");
  app.add_option("--rootfs-ro", rootfs_ro,
                 "host directory to use as the guest's root, read-only; writes go to a tmpfs overlay "
                 "(default: the host's own /, read-only)")
      ->excludes(rw);
  app.add_option("--export", o.export_dir,
                 "mount a read-only FUSE view of the running guest on this directory (tasks, memory, host MMU, files)");
  app.add_option("--hostname", o.hostname, "the guest's hostname")->capture_default_str();
  app.add_option("--env", o.env, "KEY=VALUE for the guest program's environment (repeatable); "
                                 "default HOME=/ TERM=linux PATH=/sbin:/bin:/usr/sbin:/usr/bin")
      ->allow_extra_args(false);
  app.add_option("--init", o.init, "boot mode: the guest's init (as Linux's init=); default: the first of "
                                   "/sbin/init, /etc/init, /bin/init, /bin/sh");
  app.add_flag("--quiet", o.quiet, "no boot and shutdown messages from the kernel");
  auto* prog = app.add_option("program", o.program,
                              "the guest program, run as pid 1 in a ready root (/proc, /dev, /tmp mounted by the kernel); "
                              "without one the kernel boots init. A path in the guest's root (relative paths start at "
                              "the kernel's working directory when the root is the host's /, else at the guest's /)");
  app.add_option("args", o.args, "its arguments");
  prog->excludes(app.get_option("--init"));
  app.positionals_at_end();
  try {
    app.parse(argc, argv);
    o.mem_bytes = parse_size(mem);
    if (o.mem_bytes < (4ULL << 20) || o.mem_bytes > (32ULL << 30) || o.mem_bytes % 4096)
      throw std::invalid_argument("--mem must be a multiple of 4K between 4M and 32G");
    o.backend = *mm::parse_backend(mmu);
    if (!rootfs_ro.empty()) {
      o.rootfs = rootfs_ro;
      o.rootfs_ro = true;
    }
    // Booting the host's own / would start its init (systemd): boot mode's
    // default root is the busybox root file system the build assembles.
    if (o.boot_mode() && o.rootfs.empty()) {
      o.rootfs = GK_DEFAULT_ROOT;
      o.rootfs_ro = true;
    }
    std::stringstream ss(trace);
    for (std::string item; std::getline(ss, item, ',');) {
      if (item == "syscall") o.trace_syscall = true;
      else if (item == "fault") o.trace_fault = true;
      else if (item == "pte") o.trace_pte = true;
      else if (item == "mmu") o.trace_mmu = true;
      else if (item == "all") o.trace_syscall = o.trace_fault = o.trace_pte = o.trace_mmu = true;
      else if (!item.empty()) throw CLI::ValidationError("--trace", "unknown category '" + item + "'");
    }
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e); // prints help or the error
    std::exit(code == 0 ? 0 : 2);
  } catch (const std::exception& e) {
    fmt::print(stderr, "guestkernel: {}\n", e.what());
    std::exit(2);
  }
  if (o.env.empty()) o.env = {"HOME=/", "TERM=linux", "PATH=/sbin:/bin:/usr/sbin:/usr/bin"};
  return o;
}

std::string Options::command_line() const {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

} // namespace gk
