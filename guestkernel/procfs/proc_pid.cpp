// /proc/PID and /proc/PID/task/TID: one process (or thread) in Linux's
// formats. Each file finds its process again when it is opened; a reaped
// process's files answer ESRCH, a zombie's show what Linux shows (state Z,
// no memory, no cwd or exe).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>

#include <fmt/format.h>

#include "drivers/tty.h"
#include "guestkernel/kernel.h"
#include "guestkernel/procfs/figures.h"
#include "guestkernel/procfs/proc_entries.h"
#include "mm/page_cache.h"

namespace gk::procfs {

namespace {

// Which process (and thread) an entry shows.
struct Ref {
  Kernel* k;
  int pid, tid;
  bool thread;
  Process* proc() const { return k->find_process(pid); }
  // The thread whose state is shown: the thread itself, or the process's first.
  Task* task(Process& p) const {
    if (!thread) return p.leader();
    Task* t = k->find_task(tid);
    return t && t->proc == &p ? t : nullptr;
  }
  int shown_id() const { return thread ? tid : pid; }
};

mm::AddressSpace* as_of(Process& p) {
  Task* t = p.leader();
  return !p.zombie && t && t->mm && t->mm->as ? t->mm->as.get() : nullptr;
}

char state_of(const Process& p, const Task* t) {
  if (p.zombie || !t) return 'Z';
  if (p.stopped) return 'T';
  if (task_running(*t)) return 'R';
  if (t->state == TaskState::Dead) return 'X';
  return t->interruptible ? 'S' : 'D';
}

const char* state_name(char c) {
  switch (c) {
  case 'R': return "R (running)";
  case 'S': return "S (sleeping)";
  case 'D': return "D (disk sleep)";
  case 'T': return "T (stopped)";
  case 'Z': return "Z (zombie)";
  default: return "X (dead)";
  }
}

std::string comm_of(const Process& p, const Task* t) { return t && !t->comm.empty() ? t->comm : p.comm; }

// Memory figures from the VMAs (bytes).
struct MemFigures {
  uint64_t size = 0, rss = 0, data = 0, stack = 0, exe = 0, lib = 0;
  uint64_t start_code = 0, end_code = 0, brk_start = 0;
};

MemFigures mem_of(Process& p) {
  MemFigures m;
  mm::AddressSpace* as = as_of(p);
  if (!as) return m;
  m.rss = as->resident_pages() * mm::kPageSize;
  m.brk_start = as->brk_start();
  for (auto& [start, v] : as->vmas()) {
    m.size += v.length();
    if (v.flags & mm::Vma::kGrowsDown) {
      m.stack += v.length();
    } else if (v.prot & PROT_EXEC) {
      // The program's code is its lowest executable mapping; the rest are libraries.
      if (!m.end_code) {
        m.start_code = v.start;
        m.end_code = v.end;
        m.exe += v.length();
      } else {
        m.lib += v.length();
      }
    } else if ((v.prot & PROT_WRITE) && !(v.flags & mm::Vma::kShared)) {
      m.data += v.length();
    }
  }
  return m;
}

struct SigSets {
  uint64_t pending = 0, shared = 0, blocked = 0, ignored = 0, caught = 0;
};

SigSets sigs_of(const Process& p, const Task* t) {
  SigSets s;
  s.shared = p.shared_pending.pending;
  if (t) {
    s.pending = t->pending.pending;
    s.blocked = t->sigmask;
  }
  if (p.sighand)
    for (int sig = 1; sig <= 64; ++sig) {
      uint64_t h = p.sighand->action[size_t(sig)].handler;
      if (h == uint64_t(SIG_IGN)) s.ignored |= sigbit(sig);
      else if (h != uint64_t(SIG_DFL)) s.caught |= sigbit(sig);
    }
  return s;
}

// Reads [start, end) of a process's memory (argv or envp strings).
std::string read_user(Process& p, uint64_t start, uint64_t end) {
  mm::AddressSpace* as = as_of(p);
  if (!as || end <= start) return {};
  std::string s(std::min<uint64_t>(end - start, 1 << 20), '\0');
  if (as->copy_from_user(s.data(), start, s.size())) return {};
  return s;
}

int64_t stat_text(const Ref& r, std::string& s) {
  Process* p = r.proc();
  if (!p) return -ESRCH;
  Task* t = r.task(*p);
  Kernel& k = *r.k;
  MemFigures m = mem_of(*p);
  SigSets sg = sigs_of(*p, t);
  uint64_t boot = k.stats().start_ns;
  uint64_t start = (p->start_ns > boot ? p->start_ns - boot : 0) / kNsPerTick;
  uint64_t utime = process_cpu_ns(*p) / kNsPerTick, cutime = p->children_utime_ns / kNsPerTick;
  bool mm = as_of(*p) != nullptr;
  int exit_code = p->zombie ? p->wait_status : 0;
  // The console tty is the only terminal: 5:1 in the kernel's encoding.
  int tty_nr = p->ctty ? (5 << 8) | 1 : 0, tpgid = p->ctty ? p->ctty->foreground() : -1;
  s = fmt::format("{} ({}) {} {} {} {} {} {} 4194304 0 0 0 0 {} 0 {} 0 20 0 {} 0 {} {} {} {} {} {} {} 0 0 ",
                  r.shown_id(), comm_of(*p, t), state_of(*p, t), p->parent ? p->parent->pid : 0, p->pgid, p->sid,
                  tty_nr, tpgid, utime, cutime, std::max<size_t>(p->threads.size(), 1), start, m.size,
                  m.rss / mm::kPageSize, mm ? "18446744073709551615" : "0", m.start_code, m.end_code,
                  mm ? p->arg_start : 0);
  s += fmt::format("{} {} {} {} 0 0 0 {} 0 0 0 0 0 0 0 0 {} {} {} {} {} {}\n", sg.pending, sg.blocked, sg.ignored,
                   sg.caught, p->exit_signal, mm ? m.brk_start : 0, mm ? p->arg_start : 0,
                   mm ? p->arg_end : 0, mm ? p->env_start : 0, mm ? p->env_end : 0, exit_code);
  return 0;
}

int fd_size(const Process& p) {
  int top = 0;
  if (p.fds)
    for (auto& [fd, f] : p.fds->files()) top = fd + 1;
  return std::max(64, (top + 63) / 64 * 64);
}

int64_t status_text(const Ref& r, std::string& s) {
  Process* p = r.proc();
  if (!p) return -ESRCH;
  Task* t = r.task(*p);
  const Creds& c = p->creds;
  s = fmt::format("Name:\t{}\n", comm_of(*p, t));
  if (p->fs) s += fmt::format("Umask:\t{:04o}\n", p->fs->umask);
  s += fmt::format("State:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\n", state_name(state_of(*p, t)),
                   p->pid, r.shown_id(), p->parent ? p->parent->pid : 0);
  s += fmt::format("Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\n", c.uid, c.euid, c.suid, c.euid, c.gid, c.egid,
                   c.sgid, c.egid);
  s += fmt::format("FDSize:\t{}\nGroups:\t \nNStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}\n", fd_size(*p), p->pid,
                   r.shown_id(), p->pgid, p->sid);
  if (as_of(*p)) {
    MemFigures m = mem_of(*p);
    auto kb = [&s](const char* label, uint64_t bytes) { s += fmt::format("{}\t{:>8} kB\n", label, bytes >> 10); };
    kb("VmPeak:", m.size);
    kb("VmSize:", m.size);
    kb("VmLck:", 0);
    kb("VmPin:", 0);
    kb("VmHWM:", m.rss);
    kb("VmRSS:", m.rss);
    kb("RssAnon:", m.rss);
    kb("RssFile:", 0);
    kb("RssShmem:", 0);
    kb("VmData:", m.data);
    kb("VmStk:", m.stack);
    kb("VmExe:", m.exe);
    kb("VmLib:", m.lib);
    kb("VmPTE:", 0);
    kb("VmSwap:", 0);
    s += "HugetlbPages:\t       0 kB\nCoreDumping:\t0\nTHP_enabled:\t1\n";
  }
  SigSets sg = sigs_of(*p, t);
  size_t queued = p->shared_pending.infos.size() + (t ? t->pending.infos.size() : 0);
  s += fmt::format("Threads:\t{}\nSigQ:\t{}/{}\n", std::max<size_t>(p->threads.size(), 1), queued,
                   p->rlimits[RLIMIT_SIGPENDING].rlim_cur);
  s += fmt::format("SigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}\n",
                   sg.pending, sg.shared, sg.blocked, sg.ignored, sg.caught);
  const char* caps = c.euid == 0 ? "000001ffffffffff" : "0000000000000000";
  s += fmt::format("CapInh:\t0000000000000000\nCapPrm:\t{}\nCapEff:\t{}\nCapBnd:\t000001ffffffffff\n"
                   "CapAmb:\t0000000000000000\nNoNewPrivs:\t{}\nSeccomp:\t0\nSeccomp_filters:\t0\n",
                   caps, caps, p->no_new_privs ? 1 : 0);
  s += "Cpus_allowed:\t1\nCpus_allowed_list:\t0\nMems_allowed:\t1\nMems_allowed_list:\t0\n"
       "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n";
  return 0;
}

int64_t statm_text(const Ref& r, std::string& s) {
  Process* p = r.proc();
  if (!p) return -ESRCH;
  MemFigures m = mem_of(*p);
  uint64_t pg = mm::kPageSize;
  s = fmt::format("{} {} 0 {} 0 {} 0\n", m.size / pg, m.rss / pg, m.exe / pg, (m.data + m.stack) / pg);
  return 0;
}

// As Linux's show_map_vma: the name starts at column 73.
int64_t maps_text(const Ref& r, std::string& s) {
  Process* p = r.proc();
  if (!p) return -ESRCH;
  mm::AddressSpace* as = as_of(*p);
  if (!as) return 0;
  for (auto& [start, v] : as->vmas()) {
    uint64_t dev = v.file ? v.file->dev : 0, ino = v.file ? v.file->ino : 0;
    std::string line = fmt::format("{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ", v.start, v.end,
                                   (v.prot & PROT_READ) ? 'r' : '-', (v.prot & PROT_WRITE) ? 'w' : '-',
                                   (v.prot & PROT_EXEC) ? 'x' : '-', (v.flags & mm::Vma::kShared) ? 's' : 'p',
                                   v.file ? v.pgoff * mm::kPageSize : 0, major(dev), minor(dev), ino);
    if (!v.name.empty()) {
      if (line.size() < 73) line.append(73 - line.size(), ' ');
      line += v.name;
    }
    s += line + "\n";
  }
  return 0;
}

int64_t limits_text(const Ref& r, std::string& s) {
  Process* p = r.proc();
  if (!p) return -ESRCH;
  static const struct {
    const char* name;
    int res;
    const char* unit;
  } rows[] = {{"Max cpu time", RLIMIT_CPU, "seconds"},
              {"Max file size", RLIMIT_FSIZE, "bytes"},
              {"Max data size", RLIMIT_DATA, "bytes"},
              {"Max stack size", RLIMIT_STACK, "bytes"},
              {"Max core file size", RLIMIT_CORE, "bytes"},
              {"Max resident set", RLIMIT_RSS, "bytes"},
              {"Max processes", RLIMIT_NPROC, "processes"},
              {"Max open files", RLIMIT_NOFILE, "files"},
              {"Max locked memory", RLIMIT_MEMLOCK, "bytes"},
              {"Max address space", RLIMIT_AS, "bytes"},
              {"Max file locks", RLIMIT_LOCKS, "locks"},
              {"Max pending signals", RLIMIT_SIGPENDING, "signals"},
              {"Max msgqueue size", RLIMIT_MSGQUEUE, "bytes"},
              {"Max nice priority", RLIMIT_NICE, ""},
              {"Max realtime priority", RLIMIT_RTPRIO, ""},
              {"Max realtime timeout", RLIMIT_RTTIME, "us"}};
  auto val = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
  s = fmt::format("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
  for (auto& row : rows) {
    const rlimit& l = p->rlimits[size_t(row.res)];
    s += fmt::format("{:<25} {:<20} {:<20} {:<10}\n", row.name, val(l.rlim_cur), val(l.rlim_max), row.unit);
  }
  return 0;
}

// ---- fd/ and fdinfo/ ----

// A pathless open file (pipe, console, eventfd) reached through
// /proc/PID/fd/N: opening it gives the same open file, as Linux's reopen of
// the pipe or device gives the same object.
class OpenFileInode : public vfs::Inode {
public:
  OpenFileInode(vfs::Filesystem& fs, uint64_t ino, std::shared_ptr<File> f, const Creds& c)
      : Inode(fs, ino), file_(std::move(f)), uid_(c.euid), gid_(c.egid) {}
  int64_t getattr(struct stat& st) override {
    if (int64_t r = file_->stat(st)) return r;
    st.st_uid = uid_;
    st.st_gid = gid_;
    return 0;
  }
  int64_t open(const vfs::Path&, int, std::shared_ptr<File>& out) override {
    out = file_;
    return 0;
  }
  bool opens_itself() const override { return true; }

private:
  std::shared_ptr<File> file_;
  uint32_t uid_, gid_;
};

std::shared_ptr<File> file_of(const Ref& r, int fd) {
  Process* p = r.proc();
  return p && p->fds ? p->fds->get(fd) : nullptr;
}

std::string fd_text(Kernel& k, const File& f) { return f.path() ? path_for_reader(k, *f.path()) : f.describe(); }

Lister fd_dir(ProcFs& fs, const Ref& r, const std::string& dir) {
  return [&fs, r, dir](std::vector<Entry>& out) -> int64_t {
    Process* p = r.proc();
    if (!p) return -ENOENT;
    if (!p->fds) return 0;
    Owner o{r.pid, r.thread ? r.tid : 0};
    for (auto& [fd, f] : p->fds->files()) {
      int acc = f->flags & O_ACCMODE;
      mode_t perms = (f->flags & O_PATH) || acc == O_RDONLY ? 0500 : acc == O_WRONLY ? 0300 : 0700;
      int n = fd;
      Kernel& k = *r.k;
      LinkText text = [r, n, &k](std::string& s) -> int64_t {
        auto f = file_of(r, n);
        if (!f) return -ENOENT;
        s = fd_text(k, *f);
        return 0;
      };
      LinkFollow follow = [r, n, &fs](vfs::Path& out) {
        auto f = file_of(r, n);
        if (!f) return false;
        if (f->path()) {
          out = *f->path();
          return true;
        }
        auto mnt = fs.a_mount();
        Process* p = r.proc();
        if (!mnt || !p) return false;
        auto ino = std::make_shared<OpenFileInode>(fs, ino_of(r.pid, "fd/" + std::to_string(n)) ^ 1, f, p->creds);
        out = vfs::Path{mnt, std::make_shared<vfs::Dentry>(vfs::Dentry{f->describe(), mnt->root, ino})};
        return true;
      };
      out.push_back(link_entry(fs, o, dir, std::to_string(fd), text, follow, perms, 64)); // Linux's size of fd links
    }
    return 0;
  };
}

Lister fdinfo_dir(ProcFs& fs, const Ref& r, const std::string& dir) {
  return [&fs, r, dir](std::vector<Entry>& out) -> int64_t {
    Process* p = r.proc();
    if (!p) return -ENOENT;
    if (!p->fds) return 0;
    Owner o{r.pid, r.thread ? r.tid : 0};
    for (auto& [fd, f] : p->fds->files()) {
      int n = fd;
      Kernel& k = *r.k;
      out.push_back(file_entry(fs, o, dir, std::to_string(fd), 0444, [r, n, &k](std::string& s) -> int64_t {
        Process* p = r.proc();
        auto f = file_of(r, n);
        if (!p || !f) return -ENOENT;
        int64_t pos = f->lseek(0, SEEK_CUR);
        int flags = f->flags | (p->fds->cloexec(n) ? O_CLOEXEC : 0);
        struct stat st{};
        f->stat(st);
        size_t mnt_id = 0;
        if (f->path()) {
          const auto& all = k.vfs().mounts();
          for (size_t i = 0; i < all.size(); ++i)
            if (all[i] == f->path()->mnt) mnt_id = 21 + i;
        }
        s = fmt::format("pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n", pos < 0 ? 0 : pos, flags, mnt_id,
                        st.st_ino);
        return 0;
      }));
    }
    return 0;
  };
}

// ---- the directory ----

Generator gen(const Ref& r, int64_t (*f)(const Ref&, std::string&)) {
  return [r, f](std::string& s) { return f(r, s); };
}

void pid_entries(ProcFs& fs, const Ref& r, std::vector<Entry>& out) {
  Kernel& k = *r.k;
  Owner o{r.pid, r.thread ? r.tid : 0};
  std::string d = r.thread ? "task/" + std::to_string(r.tid) : "";
  auto sub = [&d](const char* name) { return d.empty() ? std::string(name) : d + "/" + name; };
  out.push_back(file_entry(fs, o, d, "stat", 0444, gen(r, stat_text)));
  out.push_back(file_entry(fs, o, d, "status", 0444, gen(r, status_text)));
  out.push_back(file_entry(fs, o, d, "statm", 0444, gen(r, statm_text)));
  out.push_back(file_entry(fs, o, d, "maps", 0444, gen(r, maps_text)));
  out.push_back(file_entry(fs, o, d, "limits", 0444, gen(r, limits_text)));
  out.push_back(file_entry(fs, o, d, "cmdline", 0444, [r](std::string& s) -> int64_t {
    Process* p = r.proc();
    if (!p) return -ESRCH;
    s = read_user(*p, p->arg_start, p->arg_end);
    return 0;
  }));
  out.push_back(file_entry(fs, o, d, "environ", 0400, [r](std::string& s) -> int64_t {
    Process* p = r.proc();
    if (!p) return -ESRCH;
    s = read_user(*p, p->env_start, p->env_end);
    return 0;
  }));
  out.push_back(file_entry(
      fs, o, d, "comm", 0644,
      [r](std::string& s) -> int64_t {
        Process* p = r.proc();
        if (!p) return -ESRCH;
        s = comm_of(*p, r.thread ? r.task(*p) : nullptr) + "\n";
        return 0;
      },
      [r](std::string_view v) -> int64_t {
        Process* p = r.proc();
        if (!p) return -ESRCH;
        std::string name(v.substr(0, std::min(v.find('\0'), size_t(15)))); // as Linux: a newline is kept
        Task* t = r.thread ? r.task(*p) : nullptr;
        if (t && t != p->leader()) t->comm = name;
        else p->comm = name;
        return 0;
      }));
  out.push_back(file_entry(fs, o, d, "mounts", 0444, [r](std::string& s) -> int64_t {
    Process* p = r.proc();
    if (!p) return -ESRCH;
    return p->fs ? mounts_text(*r.k, p->fs->root, s) : 0;
  }));
  out.push_back(file_entry(fs, o, d, "mountinfo", 0444, [r](std::string& s) -> int64_t {
    Process* p = r.proc();
    if (!p) return -ESRCH;
    return p->fs ? mountinfo_text(*r.k, p->fs->root, s) : 0;
  }));
  // Magic links: the text is the path as the reader names it; following
  // them lands on the object itself.
  auto magic = [&](const char* name, vfs::Path (*where)(Process&)) {
    out.push_back(link_entry(
        fs, o, d, name,
        [r, where, &k](std::string& s) -> int64_t {
          Process* p = r.proc();
          vfs::Path to = p ? where(*p) : vfs::Path{};
          if (!to.valid()) return -ENOENT;
          s = path_for_reader(k, to);
          return 0;
        },
        [r, where](vfs::Path& out) {
          Process* p = r.proc();
          if (!p) return false;
          out = where(*p);
          return out.valid();
        }));
  };
  magic("exe", [](Process& p) { return p.zombie ? vfs::Path{} : p.exe_path; });
  magic("cwd", [](Process& p) { return p.fs ? p.fs->cwd : vfs::Path{}; });
  magic("root", [](Process& p) { return p.fs ? p.fs->root : vfs::Path{}; });
  out.push_back(dir_entry(fs, o, d, "fd", 0500, fd_dir(fs, r, sub("fd"))));
  out.push_back(dir_entry(fs, o, d, "fdinfo", 0555, fdinfo_dir(fs, r, sub("fdinfo"))));
  if (!r.thread)
    out.push_back(dir_entry(fs, o, d, "task", 0555, [&fs, r](std::vector<Entry>& tasks) -> int64_t {
      Process* p = r.proc();
      if (!p) return -ENOENT;
      for (Task* t : p->threads) {
        int tid = t->tid;
        tasks.push_back({std::to_string(tid), [&fs, r, tid] { return make_pid_dir(fs, r.pid, tid, true); }});
      }
      return 0;
    }));
}

} // namespace

std::shared_ptr<vfs::Inode> make_pid_dir(ProcFs& fs, int pid, int tid, bool thread) {
  Ref r{&fs.kernel(), pid, tid, thread};
  Owner o{pid, thread ? tid : 0};
  std::string name = thread ? "task/" + std::to_string(tid) : "";
  Lister list = [&fs, r](std::vector<Entry>& out) -> int64_t {
    if (!r.proc()) return -ENOENT;
    pid_entries(fs, r, out);
    return 0;
  };
  return std::make_shared<ProcDir>(fs, ino_of(pid, name), 0555, o, std::move(list));
}

} // namespace gk::procfs
