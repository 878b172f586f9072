// Advisory file locks: flock(2) locks, owned by an open file description,
// and POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK), owned by a
// process (or, for the F_OFD_* forms, by an open file description). The two
// kinds never conflict with each other, as on Linux.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "guestkernel/sched/wait_queue.h"

namespace gk::vfs {

class Inode;

struct FileLock {
  enum Kind : uint8_t { Flock, Posix };
  Kind kind = Posix;
  short type = 0;               // F_RDLCK / F_WRLCK
  uint64_t start = 0, end = 0;  // byte range, inclusive; end UINT64_MAX: to infinity
  const void* owner = nullptr;  // Process* (POSIX) or File* (flock, OFD)
  int pid = 0;                  // for F_GETLK (-1 for OFD locks)
};

class LockTable {
public:
  // The first lock that conflicts with `want`, or null.
  const FileLock* conflict(const Inode* ino, const FileLock& want) const;
  // Adds `want` (F_RDLCK/F_WRLCK) or removes the range (F_UNLCK) for its
  // owner, replacing the owner's own locks where they overlap. The caller
  // has checked for conflicts.
  void apply(const Inode* ino, const FileLock& want);
  // Drops every lock of `owner` on `ino` (null: on every inode).
  void release(const Inode* ino, const void* owner);
  WaitQueue changed; // woken whenever a lock goes away

private:
  std::map<const Inode*, std::vector<FileLock>> locks_;
};

} // namespace gk::vfs
