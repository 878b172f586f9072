// The file system operations behind the path syscalls, with Linux's errno
// for each failure. The syscall layer decodes arguments and picks the start
// directory; exec and boot use the same operations.
#pragma once
#include <memory>
#include <string>

#include "guestkernel/vfs/file.h"
#include "guestkernel/vfs/vfs.h"

namespace gk::vfs {

// Who is asking and from where relative paths start.
struct OpCtx {
  Vfs& vfs;
  const FsContext& fs;
  const Creds& creds;
  Path start; // dirfd's directory, or the cwd
  IoCtx* io = nullptr; // for opens that wait (FIFOs); null: they fail with ENXIO
  WalkCtx walk() const { return WalkCtx{fs, creds}; }
};

int64_t open(const OpCtx& c, const std::string& path, int flags, mode_t mode, std::shared_ptr<File>& out);
// Opens an already resolved path (O_CREAT and walking done).
int64_t open_path(const OpCtx& c, const Path& p, int flags, std::shared_ptr<File>& out);
// `made` (if given) gets the new node's path (a socket binds to it).
int64_t mknod(const OpCtx& c, const std::string& path, mode_t mode, dev_t dev, Path* made = nullptr);
int64_t mkdir(const OpCtx& c, const std::string& path, mode_t mode);
int64_t rmdir(const OpCtx& c, const std::string& path);
int64_t unlink(const OpCtx& c, const std::string& path);
int64_t symlink(const OpCtx& c, const std::string& target, const std::string& path);
int64_t link(const OpCtx& from, const std::string& oldpath, const OpCtx& to, const std::string& newpath,
             bool follow);
int64_t link_path(const Path& old, const OpCtx& to, const std::string& newpath);
int64_t rename(const OpCtx& from, const std::string& oldpath, const OpCtx& to, const std::string& newpath,
               unsigned flags);
// chmod/chown/utimes/truncate on a resolved inode, with the owner/root checks.
int64_t setattr(const Path& p, const Creds& cr, const SetAttr& a);
// access(2): `mode` is F_OK or R_OK|W_OK|X_OK, checked against `cr`.
int64_t access(const Path& p, const Creds& cr, int mode);

} // namespace gk::vfs
