// The tree of the FUSE export: which path is which text, and the session's
// start and stop. Runs on the event loop (drivers/fuse_export.h posts here).
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>

#include "drivers/fuse_export.h"
#include "guestkernel/export/export.h"
#include "guestkernel/export/guest_files.h"
#include "guestkernel/export/views.h"
#include "guestkernel/kernel.h"
#include "guestkernel/procfs/proc_inode.h"

namespace gk::exportfs {

namespace {

using TaskText = int64_t (*)(Kernel&, Process&, std::string&);
using SystemText = int64_t (*)(Kernel&, std::string&);

// tasks/PID/ (status and maps are procfs's own texts: see Tree::proc_text).
const std::pair<const char*, TaskText> kTaskFiles[] = {
    {"status", nullptr},           {"maps", nullptr},       {"pagetable", pagetable_text},
    {"regs", regs_text},           {"syscalls", syscalls_text}, {"host_maps", host_maps_text},
    {"layout.svg", layout_svg}};

// The directories of system-wide texts (mm/meminfo is procfs's; mm/physmem is
// read in pieces).
struct SystemFile {
  const char* dir;
  const char* name;
  SystemText text;
};
const SystemFile kSystemFiles[] = {
    {"mm", "meminfo", nullptr},          {"mm", "frames", frames_text},   {"mm", "buddy", buddy_text},
    {"mm", "physmem", nullptr},          {"mmu", "backend", backend_text}, {"mmu", "stats", mmu_stats_text},
    {"mmu", "stats.json", stats_json_text}, {"kernel", "heap", heap_text}, {"kernel", "syscalls", kernel_syscalls_text}};

const char* const kTopDirs[] = {"tasks", "mm", "mmu", "kernel", "fs"};

// What a path of the export is.
struct Node {
  enum class Kind { Dir, Text, Physmem, Guest } kind = Kind::Dir;
  std::vector<std::string> entries;         // Dir
  std::function<int64_t(std::string&)> text; // Text
  std::string guest_path;                   // Guest: the path in the guest's tree
};

class Tree : public drivers::ExportSource {
public:
  explicit Tree(Kernel& k) : k_(k), files_(k) {
    if (vfs::make_fs("proc", "proc", "", proc_)) throw std::runtime_error("--export: no procfs");
  }

  int getattr(const std::string& path, struct stat& st) override {
    Node n;
    if (int64_t r = resolve(path, n)) return int(r);
    if (n.kind == Node::Kind::Guest) return files_.getattr(n.guest_path, st);
    st = {};
    st.st_uid = getuid();
    st.st_gid = getgid();
    clock_gettime(CLOCK_REALTIME, &st.st_mtim);
    st.st_atim = st.st_ctim = st.st_mtim;
    st.st_nlink = n.kind == Node::Kind::Dir ? 2 : 1;
    st.st_mode = n.kind == Node::Kind::Dir ? S_IFDIR | 0555 : S_IFREG | 0444;
    // A text's size is known only once it is made (at open), as in procfs.
    if (n.kind == Node::Kind::Physmem) st.st_size = off_t(k_.physmem().bytes());
    return 0;
  }

  int readdir(const std::string& path, std::vector<std::string>& names) override {
    Node n;
    if (int64_t r = resolve(path, n)) return int(r);
    if (n.kind == Node::Kind::Guest) return files_.readdir(n.guest_path, names);
    if (n.kind != Node::Kind::Dir) return -ENOTDIR;
    names = n.entries;
    return 0;
  }

  int readlink(const std::string& path, std::string& target) override {
    Node n;
    if (int64_t r = resolve(path, n)) return int(r);
    return n.kind == Node::Kind::Guest ? files_.readlink(n.guest_path, target) : -EINVAL;
  }

  int open(const std::string& path, Opened& out) override {
    Node n;
    if (int64_t r = resolve(path, n)) return int(r);
    switch (n.kind) {
    case Node::Kind::Dir: return -EISDIR;
    case Node::Kind::Text: out.whole = true; return int(n.text(out.text));
    case Node::Kind::Physmem: break;
    case Node::Kind::Guest: {
      std::shared_ptr<File> f;
      if (int r = files_.open(n.guest_path, f)) return r;
      out.whole = false;
      out.handle = next_handle_++;
      open_[out.handle] = std::move(f);
      return 0;
    }
    }
    out.whole = false;
    out.handle = next_handle_++;
    open_[out.handle] = nullptr; // null: guest physical memory itself
    return 0;
  }

  int read(uint64_t handle, uint64_t off, size_t n, std::string& out) override {
    auto it = open_.find(handle);
    if (it == open_.end()) return -EBADF;
    if (!it->second) { // physmem: offset pfn*4096 is frame pfn
      uint64_t size = k_.physmem().bytes();
      if (off >= size) return 0;
      out.assign(reinterpret_cast<const char*>(k_.physmem().frame_ptr(0)) + off, std::min<uint64_t>(n, size - off));
      return 0;
    }
    out.resize(n);
    int64_t r = it->second->pread(out.data(), n, off);
    if (r < 0) return int(r);
    out.resize(size_t(r));
    return 0;
  }

  void release(uint64_t handle) override { open_.erase(handle); }

private:
  int64_t resolve(const std::string& path, Node& n) {
    std::vector<std::string> parts = components(path);
    if (parts.empty()) {
      n.entries.assign(std::begin(kTopDirs), std::end(kTopDirs));
      return 0;
    }
    const std::string& top = parts[0];
    if (top == "fs") {
      n.kind = Node::Kind::Guest;
      n.guest_path = path.size() > 3 ? path.substr(3) : "/";
      return 0;
    }
    if (top == "tasks") return resolve_task(parts, n);
    bool known = false;
    for (const SystemFile& f : kSystemFiles) {
      if (top != f.dir) continue;
      known = true;
      if (parts.size() == 1) n.entries.push_back(f.name);
      if (parts.size() != 2 || parts[1] != f.name) continue;
      if (!f.text && parts[1] == "physmem") {
        n.kind = Node::Kind::Physmem;
      } else {
        n.kind = Node::Kind::Text;
        SystemText text = f.text;
        Kernel& k = k_;
        if (text) n.text = [&k, text](std::string& s) { return text(k, s); };
        else n.text = [this](std::string& s) { return proc_text({"meminfo"}, s); };
      }
      return 0;
    }
    return known && parts.size() == 1 ? 0 : -ENOENT;
  }

  int64_t resolve_task(const std::vector<std::string>& parts, Node& n) {
    if (parts.size() == 1) {
      for (auto& [pid, p] : k_.processes()) n.entries.push_back(std::to_string(pid));
      return 0;
    }
    char* end;
    long pid = strtol(parts[1].c_str(), &end, 10);
    if (*end || parts[1].empty() || !k_.find_process(int(pid)) || parts.size() > 3) return -ENOENT;
    if (parts.size() == 2) {
      for (auto& [name, text] : kTaskFiles) n.entries.push_back(name);
      return 0;
    }
    for (auto& [name, text] : kTaskFiles) {
      if (parts[2] != name) continue;
      n.kind = Node::Kind::Text;
      int id = int(pid);
      Kernel& k = k_;
      std::string file = name;
      if (text) n.text = [&k, id, text](std::string& s) -> int64_t {
        Process* p = k.find_process(id);
        return p ? text(k, *p, s) : -ESRCH;
      };
      else n.text = [this, id, file](std::string& s) { return proc_text({std::to_string(id), file}, s); };
      return 0;
    }
    return -ENOENT;
  }

  // The text of a file of our own procfs instance: what the guest's /proc shows.
  int64_t proc_text(const std::vector<std::string>& names, std::string& out) {
    std::shared_ptr<vfs::Inode> ino = proc_->root();
    for (const std::string& name : names) {
      std::shared_ptr<vfs::Inode> next;
      if (int64_t r = ino->lookup(name, next)) return r;
      ino = std::move(next);
    }
    auto* file = dynamic_cast<procfs::ProcFile*>(ino.get());
    return file ? file->generate(out) : -EINVAL;
  }

  Kernel& k_;
  GuestFiles files_;
  std::shared_ptr<vfs::Filesystem> proc_;
  std::map<uint64_t, std::shared_ptr<File>> open_; // handles of files read in pieces
  uint64_t next_handle_ = 1;
};

struct Running {
  Kernel& k;
  Tree tree;
  drivers::FuseExport fuse;
  Running(Kernel& kernel, const std::string& dir) : k(kernel), tree(kernel), fuse(dir, tree) {}
};
Running* g_running = nullptr;

} // namespace

void start(Kernel& k, const std::string& dir) {
  if (g_running) return;
  g_running = new Running(k, dir);
  drivers::FuseExport* f = &g_running->fuse;
  if (int r = k.watch_fd(f->wake_fd(), EPOLLIN, [f](uint32_t) { f->serve(); })) {
    stop();
    throw std::runtime_error(fmt::format("--export: cannot watch its queue: {}", strerror(-r)));
  }
  static bool hooked = false;
  if (!hooked) atexit(stop);
  hooked = true;
}

void stop() {
  if (!g_running) return;
  g_running->k.unwatch_fd(g_running->fuse.wake_fd());
  g_running->fuse.stop();
  delete g_running;
  g_running = nullptr;
}

} // namespace gk::exportfs
