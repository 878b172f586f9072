// What each part of /proc contributes (one file per part).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "guestkernel/procfs/proc_inode.h"

namespace gk::procfs {

// proc_root.cpp: /proc itself (system files, self, thread-self, pids).
std::shared_ptr<vfs::Inode> make_root_dir(ProcFs& fs);

// proc_pid.cpp: /proc/PID (thread == false) and /proc/PID/task/TID (thread == true).
std::shared_ptr<vfs::Inode> make_pid_dir(ProcFs& fs, int pid, int tid, bool thread);

// proc_system.cpp: meminfo, stat, uptime, loadavg, cpuinfo, version,
// filesystems, mounts, swaps.
void system_entries(ProcFs& fs, std::vector<Entry>& out);
// The mount table as a process whose root is `root` sees it (/proc/mounts
// and /proc/PID/mounts; mountinfo's longer form).
int64_t mounts_text(Kernel& k, const vfs::Path& root, std::string& out);
int64_t mountinfo_text(Kernel& k, const vfs::Path& root, std::string& out);
// Reads the host's CPU description once (the kernel calls this at start).
void read_host_cpuinfo();

// proc_sys.cpp: /proc/sys.
Entry sys_entry(ProcFs& fs);

} // namespace gk::procfs
