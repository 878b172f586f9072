// overlay: a writable file system over a read-only one, as Linux's
// overlayfs. The lower layer is a read-only hostfs of a host directory and
// is never written; every change lands in the upper layer, a tmpfs, so
// nothing the guest does reaches the host.
//
//   lookup    the upper entry if there is one, else the lower one; a
//             directory present in both is merged
//   readdir   the union of both layers minus whited-out names
//   writes    (open for write, truncate, chmod, ...) copy the file up first:
//             data, mode, owner and times, parent directories before it
//   removal   of a name the lower layer has leaves a whiteout
//   rename    of a directory the lower layer has gives EXDEV (Linux without
//             redirect_dir), and mv falls back to copying
//
// Inode numbers stay those of the lower file across copy-up; files that
// exist only in the upper layer get the upper number with kUpperInoBit set,
// so the two layers' numbers never collide.
#pragma once
#include <memory>
#include <string>

#include "guestkernel/vfs/inode.h"

namespace gk::fs {

inline constexpr uint64_t kUpperInoBit = 1ull << 60;
inline constexpr long kOverlayMagic = 0x794c7630; // OVERLAYFS_SUPER_MAGIC

// An overlay of `upper` (writable) on `lower` (never written).
int64_t make_overlay(std::shared_ptr<vfs::Filesystem> lower, std::shared_ptr<vfs::Filesystem> upper,
                     std::shared_ptr<vfs::Filesystem>& out);

// Registers type "overlay": the source is the host directory `host_dir`
// (the kernel's root directory; any other source is refused, so a guest's
// mount(2) cannot reach other host directories), mounted read-only as the
// lower layer; the upper layer is a fresh tmpfs.
void register_overlayfs(const std::string& host_dir);

} // namespace gk::fs
