// tmpfs: a file system in guest memory. A regular file's data is its page
// cache (mm/page_cache.h) with no backing store, so read(), write() and
// every mmap of the file share the same guest frames, and a file costs the
// frames it has written. Directories, symlinks, hard links, device nodes,
// FIFOs and sockets are inodes as on Linux's shmem.
//
// It lives in guestkernel/fs/ with the other file systems the VFS core
// serves (the overlay uses one as its upper layer): it is VFS code that
// happens to keep its data in mm's page cache, not memory management.
#pragma once
#include <memory>
#include <string>

#include "guestkernel/vfs/inode.h"

namespace gk::mm {
class PhysMem;
}

namespace gk::fs {

inline constexpr long kTmpfsMagic = 0x01021994; // TMPFS_MAGIC

// A fresh tmpfs. `data` holds mount options as mount(2) gives them:
// size=BYTES[kmgtpe%] (default: half of guest memory; 0: no limit),
// nr_inodes=N[kmg] (default: half as many as guest memory has pages),
// mode=OCTAL, uid=N, gid=N (the root directory). -EINVAL for bad options.
int64_t make_tmpfs(mm::PhysMem& pm, const std::string& data, std::shared_ptr<vfs::Filesystem>& out);

// Registers the "tmpfs" type (and "shm", as Linux aliases it) for mount(2).
void register_tmpfs(mm::PhysMem& pm);

} // namespace gk::fs
