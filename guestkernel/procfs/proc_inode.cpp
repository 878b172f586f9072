#include "guestkernel/procfs/proc_inode.h"

#include <dirent.h>
#include <fcntl.h>

#include <cstring>
#include <ctime>

#include "guestkernel/kernel.h"
#include "guestkernel/procfs/proc_entries.h"

namespace gk::procfs {

namespace {

// The open file of a generated text: a snapshot, remade on a read from 0.
class SnapshotFile : public vfs::InodeFile {
public:
  SnapshotFile(vfs::Path p, int flags, std::string text) : InodeFile(std::move(p), flags), text_(std::move(text)) {}

  int64_t pread(void* buf, size_t n, uint64_t off) override {
    if (off == 0 && consumed_) {
      std::string fresh;
      if (int64_t r = static_cast<ProcFile&>(path_.inode()).generate(fresh)) return r;
      text_ = std::move(fresh);
    }
    consumed_ = true;
    if (off >= text_.size()) return 0;
    size_t take = std::min<size_t>(n, text_.size() - off);
    memcpy(buf, text_.data() + off, take);
    return int64_t(take);
  }

  // As seq_file: no SEEK_END (the size is not known before generating).
  int64_t lseek(int64_t off, int whence) override {
    if (whence != SEEK_SET && whence != SEEK_CUR) return -EINVAL;
    int64_t base = whence == SEEK_CUR ? int64_t(pos_) : 0;
    if (base + off < 0) return -EINVAL;
    pos_ = uint64_t(base + off);
    return int64_t(pos_);
  }

private:
  std::string text_;
  bool consumed_ = false;
};

unsigned char dt_of(mode_t m) {
  if (S_ISDIR(m)) return DT_DIR;
  if (S_ISLNK(m)) return DT_LNK;
  return DT_REG;
}

// CLOCK_REALTIME of a CLOCK_MONOTONIC instant.
timespec wall_of(uint64_t mono_ns) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  uint64_t wall = uint64_t(now.tv_sec) * 1000000000ULL + uint64_t(now.tv_nsec);
  uint64_t ago = Kernel::now_ns() - mono_ns;
  wall = wall > ago ? wall - ago : 0;
  return timespec{time_t(wall / 1000000000ULL), long(wall % 1000000000ULL)};
}

} // namespace

ProcFs::ProcFs(Kernel& k) : k_(k) {
  dev = vfs::next_anon_dev();
  root_ = make_root_dir(*this);
}

int64_t ProcFs::statfs(struct statfs& st) {
  vfs::Filesystem::statfs(st);
  st.f_type = 0x9fa0; // PROC_SUPER_MAGIC
  return 0;
}

std::shared_ptr<vfs::Mount> ProcFs::a_mount() const {
  for (auto& m : k_.vfs().mounts())
    if (m->fs.get() == this) return m;
  return nullptr;
}

uint64_t ino_of(int pid, std::string_view name) {
  uint32_t h = 2166136261u; // FNV-1a
  for (char c : name) h = (h ^ uint8_t(c)) * 16777619u;
  return (uint64_t(uint32_t(pid)) << 32) | h | 0x80000000u; // never 1, the root's
}

ProcInode::ProcInode(ProcFs& fs, uint64_t ino, mode_t mode, Owner o)
    : Inode(fs, ino), pfs_(fs), mode_(mode), owner_(o) {}

Process* ProcInode::process() const { return owner_.pid ? kernel().find_process(owner_.pid) : nullptr; }

Task* ProcInode::task() const {
  Task* t = owner_.tid ? kernel().find_task(owner_.tid) : nullptr;
  return t && t->proc && t->proc->pid == owner_.pid ? t : nullptr;
}

int64_t ProcInode::getattr(struct stat& st) {
  st = {};
  st.st_dev = fs().dev;
  st.st_ino = ino();
  st.st_mode = mode_;
  st.st_nlink = S_ISDIR(mode_) ? 2 : 1;
  st.st_blksize = 1024;
  uint64_t born = kernel().stats().start_ns;
  if (owner_.pid) {
    Process* p = process();
    if (!p || (owner_.tid && !task() && !p->zombie)) return -ENOENT;
    st.st_uid = p->creds.euid;
    st.st_gid = p->creds.egid;
    born = p->start_ns;
  }
  st.st_atim = st.st_mtim = st.st_ctim = wall_of(born);
  return 0;
}

ProcFile::ProcFile(ProcFs& fs, uint64_t ino, mode_t mode, Owner o, Generator gen, Writer w)
    : ProcInode(fs, ino, S_IFREG | mode, o), gen_(std::move(gen)), write_(std::move(w)) {}

int64_t ProcFile::open(const vfs::Path& p, int flags, std::shared_ptr<File>& out) {
  std::string text;
  if ((flags & O_ACCMODE) != O_WRONLY)
    if (int64_t r = gen_(text)) return r;
  out = std::make_shared<SnapshotFile>(p, flags, std::move(text));
  return 0;
}

int64_t ProcFile::write(const void* buf, size_t n, uint64_t) {
  if (!write_) return -EINVAL;
  if (int64_t r = write_(std::string_view(static_cast<const char*>(buf), n))) return r;
  return int64_t(n);
}

ProcLink::ProcLink(ProcFs& fs, uint64_t ino, mode_t perms, Owner o, LinkText text, LinkFollow follow, off_t size)
    : ProcInode(fs, ino, S_IFLNK | perms, o), text_(std::move(text)), follow_(std::move(follow)), size_(size) {}

int64_t ProcLink::getattr(struct stat& st) {
  if (int64_t r = ProcInode::getattr(st)) return r;
  st.st_size = size_;
  return 0;
}

ProcDir::ProcDir(ProcFs& fs, uint64_t ino, mode_t perms, Owner o, Lister list)
    : ProcInode(fs, ino, S_IFDIR | perms, o), list_(std::move(list)) {}

int64_t ProcDir::lookup(const std::string& name, std::shared_ptr<vfs::Inode>& out) {
  std::vector<Entry> entries;
  if (int64_t r = list_(entries)) return r;
  for (auto& e : entries)
    if (e.name == name) {
      out = e.make();
      return out ? 0 : -ENOENT;
    }
  return -ENOENT;
}

int64_t ProcDir::readdir(std::vector<vfs::DirEntry>& out) {
  std::vector<Entry> entries;
  if (int64_t r = list_(entries)) return r;
  for (auto& e : entries) {
    auto ino = e.make();
    struct stat st;
    if (!ino || ino->getattr(st)) continue; // gone while listing
    out.push_back({e.name, st.st_ino, dt_of(st.st_mode)});
  }
  return 0;
}

namespace {
std::string rel(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }
} // namespace

Entry file_entry(ProcFs& fs, Owner o, const std::string& dir, const std::string& name, mode_t perms, Generator gen,
                 Writer w) {
  uint64_t ino = ino_of(o.pid, rel(dir, name));
  return {name, [&fs, o, ino, perms, gen = std::move(gen), w = std::move(w)] {
            return std::make_shared<ProcFile>(fs, ino, perms, o, gen, w);
          }};
}

Entry link_entry(ProcFs& fs, Owner o, const std::string& dir, const std::string& name, LinkText text,
                 LinkFollow follow, mode_t perms, off_t size) {
  uint64_t ino = ino_of(o.pid, rel(dir, name));
  return {name, [&fs, o, ino, perms, size, text = std::move(text), follow = std::move(follow)] {
            return std::make_shared<ProcLink>(fs, ino, perms, o, text, follow, size);
          }};
}

Entry dir_entry(ProcFs& fs, Owner o, const std::string& dir, const std::string& name, mode_t perms, Lister list) {
  uint64_t ino = ino_of(o.pid, rel(dir, name));
  return {name, [&fs, o, ino, perms, list = std::move(list)] {
            return std::make_shared<ProcDir>(fs, ino, perms, o, list);
          }};
}

vfs::Path reader_root(Kernel& k) {
  Task* t = k.current();
  if (!t || !t->proc || !t->proc->fs) return {};
  return t->proc->fs->root;
}

std::string path_for_reader(Kernel& k, const vfs::Path& p) {
  std::string s;
  vfs::Path root = reader_root(k);
  if (root.valid() && vfs::Vfs::path_of(p, root, s)) return s;
  return vfs::absolute_path(p);
}

} // namespace gk::procfs
