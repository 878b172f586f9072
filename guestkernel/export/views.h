// The texts of the FUSE export (--export): each one is made whole on the
// event loop when its file is opened, from the kernel's own state. 0 or -errno.
#pragma once
#include <cstdint>
#include <string>

namespace gk {
class Kernel;
struct Process;
} // namespace gk

namespace gk::mm {
class AddressSpace;
}

namespace gk::exportfs {

// The address space a process runs in, or null (a zombie's).
mm::AddressSpace* address_space_of(Process& p);

// tasks/PID/ (task_view.cpp)
int64_t pagetable_text(Kernel& k, Process& p, std::string& out); // the 4-level tree
int64_t regs_text(Kernel& k, Process& p, std::string& out);      // each thread's registers
int64_t syscalls_text(Kernel& k, Process& p, std::string& out);  // its syscall counts
int64_t host_maps_text(Kernel& k, Process& p, std::string& out); // its host child's mappings
// tasks/PID/layout.svg (layout_svg.cpp)
int64_t layout_svg(Kernel& k, Process& p, std::string& out);

// mm/ (memory_view.cpp)
int64_t frames_text(Kernel& k, std::string& out); // every frame in use: kind, refs, who maps it
int64_t buddy_text(Kernel& k, std::string& out);  // free blocks per order

// mmu/ and kernel/ (counters_view.cpp)
int64_t backend_text(Kernel& k, std::string& out);
int64_t mmu_stats_text(Kernel& k, std::string& out);  // --stats' host MMU and faults, as of now
int64_t stats_json_text(Kernel& k, std::string& out); // --stats-json, as of now
int64_t heap_text(Kernel& k, std::string& out);       // jemalloc's statistics
int64_t kernel_syscalls_text(Kernel& k, std::string& out);

} // namespace gk::exportfs
