// Running guestkernel (and the same program natively) from tests.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace gk::test {

struct RunResult {
  int status = -1; // as a shell reports it: exit code, or 128+signal
  std::string out, err;
};

struct RunOptions {
  std::vector<std::string> env;  // the complete environment
  std::string stdin_data;
  int timeout_ms = 60000;
};

// Runs argv to completion, capturing stdout and stderr.
RunResult run(const std::vector<std::string>& argv, const RunOptions& o = {});
// Starts argv in the background (stdin /dev/null, output discarded).
pid_t start(const std::vector<std::string>& argv);

// Paths from the build.
std::string kernel_binary();
std::string rootfs_dir();
std::string guest_program(const std::string& name); // rootfs_dir()/name
std::string default_rootfs_dir(); // the busybox root file system, build/rootfs/default-root
// The names in a host directory, sorted.
std::vector<std::string> listing(const std::string& dir);

// `guestkernel --mmu=<backend> [extra...] -- program args...`
std::vector<std::string> guest_cmd(const std::string& backend, const std::vector<std::string>& extra,
                                   const std::vector<std::string>& program_and_args);

// The environment guestkernel gives its first program by default.
std::vector<std::string> default_guest_env();

// Makes this test process the subreaper of everything it starts, so host
// processes a kernel leaves behind become visible here. Call once.
void become_subreaper();
// Reaps zombies; returns the pids of our descendants still alive after
// waiting up to `grace_ms` for them to go away.
std::vector<pid_t> leftover_processes(int grace_ms = 2000);

} // namespace gk::test
