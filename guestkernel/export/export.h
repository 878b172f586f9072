// --export DIR: the running guest as a read-only FUSE file system. The
// session runs on its own thread (drivers/fuse_export.h); everything it
// shows is made here, on the event loop, from the kernel's own state:
//
//   tasks/PID/  status maps pagetable regs syscalls host_maps layout.svg
//   mm/         meminfo frames buddy physmem
//   mmu/        backend stats stats.json
//   kernel/     heap syscalls
//   fs/         the guest's file tree, through the guest's VFS, as root
#pragma once
#include <string>

namespace gk {
class Kernel;
}

namespace gk::exportfs {

// Mounts the export of `k` on `dir` (a dead mount left there by a killed
// kernel is cleaned first); throws std::runtime_error with the reason.
void start(Kernel& k, const std::string& dir);
// Unmounts it: idempotent, and run at exit() too.
void stop();

} // namespace gk::exportfs
