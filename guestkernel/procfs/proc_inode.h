// procfs building blocks: the file system, and three inode kinds from which
// every /proc entry is made: generated text files, symlinks (plain and
// magic) and directories whose entries are listed on demand.
//
// Inodes are made afresh on each lookup and hold only numbers (pid, tid):
// every access finds the process again, so a reaped process's files answer
// ENOENT. Inode numbers are derived from (pid, name), so they are stable.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "guestkernel/vfs/inode_file.h"
#include "guestkernel/vfs/vfs.h"

namespace gk {
class Kernel;
struct Process;
struct Task;
} // namespace gk

namespace gk::procfs {

class ProcFs : public vfs::Filesystem {
public:
  explicit ProcFs(Kernel& k);
  std::shared_ptr<vfs::Inode> root() override { return root_; }
  const char* type() const override { return "proc"; }
  int64_t statfs(struct statfs& st) override;
  Kernel& kernel() const { return k_; }
  // A mount of this file system (a home for magic-link targets that have no
  // path of their own, such as a pipe); null if it is not mounted.
  std::shared_ptr<vfs::Mount> a_mount() const;

private:
  Kernel& k_;
  std::shared_ptr<vfs::Inode> root_;
};

// The inode number of `name` in the directory of process `pid` (0: outside
// any process directory).
uint64_t ino_of(int pid, std::string_view name);

// Who an entry belongs to: a process (and a thread of it), or nobody (0).
struct Owner {
  int pid = 0, tid = 0;
};

class ProcInode : public vfs::Inode {
public:
  ProcInode(ProcFs& fs, uint64_t ino, mode_t mode, Owner o);
  // Owner and times from the process; -ENOENT once it is gone.
  int64_t getattr(struct stat& st) override;
  Kernel& kernel() const { return pfs_.kernel(); }
  ProcFs& pfs() const { return pfs_; }
  // The owning process (zombies included), or null once reaped.
  Process* process() const;
  // The owning thread, or null once it has exited (or for process entries).
  Task* task() const;
  const Owner& owner() const { return owner_; }

protected:
  ProcFs& pfs_;
  mode_t mode_;
  Owner owner_;
};

// A generated text file. The open file keeps a snapshot made at open, so
// reads with small buffers see one consistent text; a read at offset 0
// after reading (or a seek to 0) makes it again, as Linux's seq_file does.
using Generator = std::function<int64_t(std::string& out)>;
using Writer = std::function<int64_t(std::string_view data)>;

class ProcFile : public ProcInode {
public:
  ProcFile(ProcFs& fs, uint64_t ino, mode_t mode, Owner o, Generator gen, Writer w = {});
  int64_t open(const vfs::Path& p, int flags, std::shared_ptr<File>& out) override;
  int64_t write(const void* buf, size_t n, uint64_t off) override;
  int64_t generate(std::string& out) { return gen_(out); }

private:
  Generator gen_;
  Writer write_;
};

// A symlink. `text` is what readlink gives; a magic link also has `follow`,
// which gives the path it leads to (true) instead of walking the text.
using LinkText = std::function<int64_t(std::string& out)>;
using LinkFollow = std::function<bool(vfs::Path& out)>;

class ProcLink : public ProcInode {
public:
  ProcLink(ProcFs& fs, uint64_t ino, mode_t perms, Owner o, LinkText text, LinkFollow follow = {}, off_t size = 0);
  int64_t getattr(struct stat& st) override;
  int64_t readlink(std::string& out) override { return text_(out); }
  bool follow_link(vfs::Path& out) override { return follow_ && follow_(out); }

private:
  LinkText text_;
  LinkFollow follow_;
  off_t size_;
};

// A directory: its entries are listed when needed, each with a maker.
struct Entry {
  std::string name;
  std::function<std::shared_ptr<vfs::Inode>()> make;
};
using Lister = std::function<int64_t(std::vector<Entry>& out)>;

class ProcDir : public ProcInode {
public:
  ProcDir(ProcFs& fs, uint64_t ino, mode_t perms, Owner o, Lister list);
  int64_t lookup(const std::string& name, std::shared_ptr<vfs::Inode>& out) override;
  int64_t readdir(std::vector<vfs::DirEntry>& out) override;

protected:
  Lister list_;
};

// Shorthands for the entries of a directory owned by `o`: `dir` is the
// entry's directory relative to the process directory ("", "fd", "task/5").
Entry file_entry(ProcFs& fs, Owner o, const std::string& dir, const std::string& name, mode_t perms, Generator gen,
                 Writer w = {});
Entry link_entry(ProcFs& fs, Owner o, const std::string& dir, const std::string& name, LinkText text,
                 LinkFollow follow = {}, mode_t perms = 0777, off_t size = 0);
Entry dir_entry(ProcFs& fs, Owner o, const std::string& dir, const std::string& name, mode_t perms, Lister list);

// The current task's root (where paths shown in /proc are relative to); an
// invalid path if there is no current task.
vfs::Path reader_root(Kernel& k);
// `p` as the reader names it (absolute from the root of all mounts if it
// lies outside the reader's root).
std::string path_for_reader(Kernel& k, const vfs::Path& p);

} // namespace gk::procfs
