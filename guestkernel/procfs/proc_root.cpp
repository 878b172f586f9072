// /proc itself: the system files, "self" and "thread-self", and one
// directory per process (threads' ids are found too, but not listed, as on
// Linux). Also the registration of the "proc" type.
#include <charconv>

#include "guestkernel/kernel.h"
#include "guestkernel/procfs/figures.h"
#include "guestkernel/procfs/proc_entries.h"
#include "guestkernel/procfs/procfs.h"

namespace gk::procfs {

namespace {

bool parse_id(const std::string& s, int& out) {
  if (s.empty() || s[0] == '0' || s.size() > 9) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

class RootDir : public ProcDir {
public:
  RootDir(ProcFs& fs, Lister list) : ProcDir(fs, 1, 0555, Owner{}, std::move(list)) {}
  int64_t lookup(const std::string& name, std::shared_ptr<vfs::Inode>& out) override {
    int id;
    if (!parse_id(name, id)) return ProcDir::lookup(name, out);
    if (kernel().find_process(id)) {
      out = make_pid_dir(pfs(), id, id, false);
      return 0;
    }
    if (Task* t = kernel().find_task(id)) {
      out = make_pid_dir(pfs(), t->proc->pid, id, true);
      return 0;
    }
    return -ENOENT;
  }
};

} // namespace

std::shared_ptr<vfs::Inode> make_root_dir(ProcFs& fs) {
  Kernel& k = fs.kernel();
  Lister list = [&fs, &k](std::vector<Entry>& out) -> int64_t {
    system_entries(fs, out);
    out.push_back(sys_entry(fs));
    out.push_back(link_entry(fs, {}, "", "self", [&k](std::string& s) -> int64_t {
      Task* t = k.current();
      if (!t) return -ENOENT;
      s = std::to_string(t->proc->pid);
      return 0;
    }));
    out.push_back(link_entry(fs, {}, "", "thread-self", [&k](std::string& s) -> int64_t {
      Task* t = k.current();
      if (!t) return -ENOENT;
      s = std::to_string(t->proc->pid) + "/task/" + std::to_string(t->tid);
      return 0;
    }));
    for (auto& [pid, p] : k.processes()) {
      int id = pid;
      out.push_back({std::to_string(id), [&fs, id] { return make_pid_dir(fs, id, id, false); }});
    }
    return 0;
  };
  return std::make_shared<RootDir>(fs, std::move(list));
}

} // namespace gk::procfs

namespace gk {

void register_procfs(Kernel& k) {
  procfs::read_host_cpuinfo();
  procfs::start_load_sampling(k);
  vfs::register_fs_type("proc", [&k](const std::string&, const std::string&, std::shared_ptr<vfs::Filesystem>& out) {
    out = std::make_shared<procfs::ProcFs>(k);
    return int64_t(0);
  });
}

} // namespace gk
