#include "guestkernel/vfs/locks.h"

#include <fcntl.h>

#include <algorithm>

namespace gk::vfs {

namespace {
bool overlap(const FileLock& a, const FileLock& b) { return a.start <= b.end && b.start <= a.end; }
} // namespace

const FileLock* LockTable::conflict(const Inode* ino, const FileLock& want) const {
  auto it = locks_.find(ino);
  if (it == locks_.end()) return nullptr;
  for (const FileLock& l : it->second)
    if (l.kind == want.kind && l.owner != want.owner && overlap(l, want) &&
        (l.type == F_WRLCK || want.type == F_WRLCK))
      return &l;
  return nullptr;
}

void LockTable::apply(const Inode* ino, const FileLock& want) {
  auto& v = locks_[ino];
  std::vector<FileLock> kept;
  for (const FileLock& l : v) {
    if (l.kind != want.kind || l.owner != want.owner || !overlap(l, want)) {
      kept.push_back(l);
      continue;
    }
    // The owner's own lock: keep the parts outside the new range.
    if (l.start < want.start) {
      FileLock left = l;
      left.end = want.start - 1;
      kept.push_back(left);
    }
    if (l.end > want.end) {
      FileLock right = l;
      right.start = want.end + 1;
      kept.push_back(right);
    }
  }
  if (want.type != F_UNLCK) kept.push_back(want);
  v = std::move(kept);
  if (v.empty()) locks_.erase(ino);
  changed.wake_all();
}

void LockTable::release(const Inode* ino, const void* owner) {
  bool any = false;
  for (auto it = locks_.begin(); it != locks_.end();) {
    if (!ino || it->first == ino) {
      auto n = std::erase_if(it->second, [&](const FileLock& l) { return l.owner == owner; });
      any |= n > 0;
    }
    it = it->second.empty() ? locks_.erase(it) : std::next(it);
  }
  if (any) changed.wake_all();
}

} // namespace gk::vfs
