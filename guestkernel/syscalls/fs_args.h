// Decoding path arguments for the file syscalls: the user's path string and
// the directory a relative path starts from (AT_FDCWD or a dirfd).
#pragma once
#include <fcntl.h>

#include <optional>
#include <string>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"
#include "guestkernel/vfs/fs_ops.h"

namespace gk {

// Copies a path from the guest: -EFAULT, -ENAMETOOLONG, or 0.
int64_t user_path(SyscallCtx& c, uint64_t upath, std::string& out);

// Where a relative `path` starts: the cwd for AT_FDCWD, else the directory
// open on `dirfd` (-EBADF, -ENOTDIR). Absolute paths ignore dirfd.
int64_t start_dir(SyscallCtx& c, int dirfd, const std::string& path, vfs::Path& start);

// The caller's operation context from `start`.
vfs::OpCtx op_ctx(SyscallCtx& c, vfs::Path start);

// Decodes (dirfd, upath) into an operation context and the path string.
int64_t op_at(SyscallCtx& c, uint64_t dirfd, uint64_t upath, std::string& path, std::optional<vfs::OpCtx>& out);

// Resolves (dirfd, upath) honouring AT_EMPTY_PATH (the dirfd's own file,
// or the cwd for AT_FDCWD) and AT_SYMLINK_NOFOLLOW / AT_SYMLINK_FOLLOW.
int64_t resolve_at(SyscallCtx& c, uint64_t dirfd, uint64_t upath, int at_flags, bool follow, vfs::Path& out);

} // namespace gk
