// Tasks and processes: creation (clone, fork, vfork), exec, exit, wait.
#include <linux/sched.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "drivers/tty.h"
#include "guestkernel/exec/elf_loader.h"
#include "guestkernel/futex.h"
#include "guestkernel/signal_names.h"
#include "guestkernel/vfs/fs_ops.h"
#include "guestkernel/kernel.h"
#include "mm/page_cache.h"

namespace gk {

namespace {
constexpr int kMaxTasks = 512; // the guest's pid_max-ish task limit (fork bombs stop here)
}

Process::Process() {
  for (auto& r : rlimits) r = {RLIM_INFINITY, RLIM_INFINITY};
  rlimits[RLIMIT_STACK] = {8ULL << 20, RLIM_INFINITY};
  rlimits[RLIMIT_NOFILE] = {FdTable::kMaxFds, FdTable::kMaxFds};
  rlimits[RLIMIT_CORE] = {0, RLIM_INFINITY};
  rlimits[RLIMIT_NPROC] = {kMaxTasks, kMaxTasks};
  rlimits[RLIMIT_MEMLOCK] = {8ULL << 20, 8ULL << 20};
  rlimits[RLIMIT_SIGPENDING] = {4096, 4096};
  rlimits[RLIMIT_MSGQUEUE] = {819200, 819200};
  rlimits[RLIMIT_NICE] = {0, 0};
  rlimits[RLIMIT_RTPRIO] = {0, 0};
}

Task* Kernel::find_task(int tid) {
  auto it = tasks_.find(tid);
  return it == tasks_.end() || it->second->state == TaskState::Dead ? nullptr : it->second.get();
}

Process* Kernel::find_process(int pid) {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : it->second.get();
}

std::unique_ptr<mm::AddressSpace> Kernel::new_address_space(int pid) {
  mm::MmConfig cfg;
  cfg.fault_around = opts_.fault_around;
  auto as = std::make_unique<mm::AddressSpace>(physmem_, opts_.backend, stats_.mmu, stats_.faults, cfg);
  trace_mmu_of(*as, pid);
  return as;
}

void Kernel::trace_mmu_of(mm::AddressSpace& as, int pid) {
  auto to_trace = [this, pid](std::string_view s) { trace_.raw(pid, s); };
  if (trace_.mmu) as.mmu().trace = to_trace;
  if (trace_.fault) as.trace_fault = to_trace;
  if (trace_.pte) as.trace_pte = to_trace;
}

std::shared_ptr<MmContext> Kernel::new_mm_context(std::unique_ptr<mm::AddressSpace> as) {
  auto m = std::make_shared<MmContext>();
  m->as = as ? std::move(as) : new_address_space(0);
  while (!spare_children_.empty() && !m->child) {
    m->child = std::move(spare_children_.back());
    spare_children_.pop_back();
    if (!m->child->alive()) m->child.reset();
  }
  if (m->child) {
    m->as->mmu().wipe_child_first();
  } else {
    m->child = arch::HostChild::spawn(physmem_.fd());
    ++stats_.host_children;
  }
  by_host_pid_[m->child->pid()] = m.get();
  return m;
}

Process* Kernel::new_process(Process* parent) {
  auto p = std::make_unique<Process>();
  p->pid = next_pid_; // the leader's tid, allocated next by new_task
  p->parent = parent;
  p->start_ns = now_ns();
  if (parent) {
    parent->children.push_back(p.get());
    p->pgid = parent->pgid;
    p->sid = parent->sid;
    p->ctty = parent->ctty;
    p->creds = parent->creds;
    p->rlimits = parent->rlimits;
    p->comm = parent->comm;
    p->exe = parent->exe;
    p->exe_path = parent->exe_path;
    p->arg_start = parent->arg_start;
    p->arg_end = parent->arg_end;
    p->env_start = parent->env_start;
    p->env_end = parent->env_end;
    p->dumpable = parent->dumpable;
    p->no_new_privs = parent->no_new_privs;
  }
  p->sighand = std::make_shared<SigHand>();
  Process* raw = p.get();
  processes_[raw->pid] = std::move(p);
  return raw;
}

Task* Kernel::new_task(Process* p, std::shared_ptr<MmContext> mm) {
  auto t = std::make_unique<Task>();
  t->tid = next_pid_++;
  t->proc = p;
  t->mm = std::move(mm);
  ++t->mm->users;
  p->threads.push_back(t.get());
  Task* raw = t.get();
  tasks_[raw->tid] = std::move(t);
  return raw;
}

int64_t Kernel::clone_task(Task& parent, uint64_t flags, uint64_t stack, uint64_t parent_tid, uint64_t child_tid,
                           uint64_t tls) {
  Process& pp = *parent.proc;
  bool thread = flags & CLONE_THREAD;
  if (thread && !(flags & CLONE_SIGHAND)) return -EINVAL;
  if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) return -EINVAL;
  if (int(tasks_.size()) >= kMaxTasks || int(tasks_.size()) >= int(pp.rlimits[RLIMIT_NPROC].rlim_cur)) return -EAGAIN;

  std::shared_ptr<MmContext> mm;
  if (flags & CLONE_VM) {
    mm = parent.mm;
  } else {
    // fork: copy-on-write copy of the address space in a new host child.
    // Hold the parent's host child while copying, and write-protect its
    // mirror before anyone runs there again: a sibling thread still running
    // in it could otherwise write to a page both sides now share (Linux
    // closes the same window with a TLB shootdown).
    MmContext& pm = *parent.mm;
    while (pm.owner && pm.owner != &parent) {
      if (pm.owner->state == TaskState::InGuest && !pm.interrupt_sent) {
        pm.child->interrupt();
        pm.interrupt_sent = true;
      }
      block(parent, &pm.child_free, -1, false);
      if (parent.exiting) return -EINTR;
    }
    auto as = parent.mm->as->fork(stats_.mmu, stats_.faults);
    if (as && pm.as->mmu().pending()) {
      pm.owner = &parent;
      flush_host(parent, pm);
      pm.owner = nullptr;
      pm.child_free.wake(1);
    }
    if (!as) return -ENOMEM;
    trace_mmu_of(*as, next_pid_); // the child's pid, allocated next
    try {
      mm = new_mm_context(std::move(as));
    } catch (const std::exception& e) {
      say(LOG_ERR, fmt::format("fork: {}", e.what()));
      return -EAGAIN;
    }
    ++stats_.forks;
  }

  Process* p = thread ? &pp : new_process(&pp);
  Task* t = new_task(p, mm);
  if (!thread) {
    p->fds = (flags & CLONE_FILES) ? pp.fds : std::make_shared<FdTable>(*pp.fds);
    p->fs = (flags & CLONE_FS) ? pp.fs : std::make_shared<vfs::FsContext>(*pp.fs);
    if (flags & CLONE_SIGHAND) p->sighand = pp.sighand;
    else *p->sighand = *pp.sighand;
    p->exit_signal = int(flags & 0xff);
  }
  t->regs = parent.regs;
  t->last_event = parent.last_event; // the child's first host ops are the clone's
  t->regs.rax = 0;
  t->regs_dirty = true;
  if (stack) t->regs.rsp = stack;
  if (flags & CLONE_SETTLS) t->regs.fs_base = tls;
  t->xstate = task_xstate(parent);
  t->sigmask = parent.sigmask;
  t->mempolicy = parent.mempolicy;
  if (flags & (CLONE_VM)) t->altstack = {nullptr, SS_DISABLE, 0}; // a thread starts without one
  else t->altstack = parent.altstack;
  if (flags & CLONE_CHILD_CLEARTID) t->clear_child_tid = child_tid;
  uint32_t tid32 = uint32_t(t->tid);
  if (flags & CLONE_PARENT_SETTID) parent.mm->as->copy_to_user(parent_tid, &tid32, 4);
  if (flags & CLONE_CHILD_SETTID) t->mm->as->copy_to_user(child_tid, &tid32, 4);
  spawn_fiber(*t);
  if (flags & CLONE_VFORK) {
    t->vfork_parent = &parent;
    parent.vfork_done = false;
    while (!parent.vfork_done && !parent.exiting) // uninterruptible, as on Linux
      block(parent, &parent.vfork_wait, -1, false);
  }
  return tid32;
}

// The end of a vfork child's borrowing of its parent's memory.
static void vfork_release(Task& t) {
  if (Task* parent = t.vfork_parent) {
    parent->vfork_done = true;
    parent->vfork_wait.wake_all();
    t.vfork_parent = nullptr;
  }
}

namespace {

// An executable by guest path, with execve's checks: a regular file with
// an x bit the caller may use, on a mount that allows exec.
int64_t exec_lookup(Kernel& k, Process& p, const std::string& path, vfs::Path& out) {
  vfs::WalkCtx w{*p.fs, p.creds};
  if (int64_t r = k.vfs().resolve(w, p.fs->cwd, path, vfs::kFollow, out)) return r;
  if (!S_ISREG(out.inode().mode()) || (out.mnt->flags & MS_NOEXEC)) return -EACCES;
  return vfs::permission(out.inode(), p.creds, 1);
}

// Up to `max` bytes of the executable at `path`.
int64_t exec_read(Kernel& k, Process& p, const std::string& path, size_t max, std::vector<uint8_t>& out) {
  vfs::Path vp;
  if (int64_t r = exec_lookup(k, p, path, vp)) return r;
  struct stat st;
  if (int64_t r = vp.inode().getattr(st)) return r;
  std::shared_ptr<File> f;
  vfs::OpCtx op{k.vfs(), *p.fs, p.creds, p.fs->cwd};
  if (int64_t r = vfs::open_path(op, vp, O_RDONLY, f)) return r;
  out.resize(std::min<size_t>(size_t(st.st_size), max));
  size_t off = 0;
  while (off < out.size()) {
    int64_t r = f->pread(out.data() + off, out.size() - off, off);
    if (r < 0) return r;
    if (r == 0) break;
    off += size_t(r);
  }
  out.resize(off);
  return 0;
}

// The executable at `path`, opened for the loader: read by offset, and
// mapped from its page cache when its file system has one.
std::variant<ExecFile, ExecError> exec_open(Kernel& k, Process& p, const std::string& path) {
  auto fail = [&](int64_t r) { return ExecError{int(-r), fmt::format("{}: {}", path, strerror(int(-r)))}; };
  vfs::Path vp;
  if (int64_t r = exec_lookup(k, p, path, vp)) return fail(r);
  struct stat st;
  if (int64_t r = vp.inode().getattr(st)) return fail(r);
  std::shared_ptr<File> f;
  vfs::OpCtx op{k.vfs(), *p.fs, p.creds, p.fs->cwd};
  if (int64_t r = vfs::open_path(op, vp, O_RDONLY, f)) return fail(r);
  ExecFile ef;
  ef.size = uint64_t(st.st_size);
  ef.pread = [f](void* buf, size_t n, uint64_t off) { return f->pread(buf, n, off); };
  if (mm::PageCache* c = vp.inode().page_cache()) ef.cache = std::shared_ptr<mm::PageCache>(vp.dentry->inode, c);
  return ef;
}

// "#!interp [arg]" scripts: rewrites argv as Linux's binfmt_script does and
// returns the interpreter's path; "" if `file` is not a script; -errno.
int64_t script_interpreter(Kernel& k, Process& p, const std::string& file, std::vector<std::string>& argv,
                           std::string& interp) {
  interp.clear();
  std::vector<uint8_t> headv;
  if (int64_t r = exec_read(k, p, file, 256, headv)) return r;
  const char* head = reinterpret_cast<const char*>(headv.data());
  size_t n = headv.size();
  if (n < 2 || head[0] != '#' || head[1] != '!') return 0;
  std::string line(head + 2, n - 2);
  size_t nl = line.find('\n');
  if (nl == std::string::npos && n == 256) return -ENOEXEC; // no end of line within the limit
  line = line.substr(0, nl);
  auto trim = [](std::string& x) {
    x.erase(0, x.find_first_not_of(" \t"));
    x.erase(x.find_last_not_of(" \t") + 1);
  };
  trim(line);
  if (line.empty()) return -ENOEXEC;
  size_t sp = line.find_first_of(" \t");
  interp = line.substr(0, sp);
  std::string arg = sp == std::string::npos ? "" : line.substr(sp);
  trim(arg);
  std::vector<std::string> nargv = {interp};
  if (!arg.empty()) nargv.push_back(arg); // the rest of the line is one argument
  nargv.push_back(file);
  if (!argv.empty()) nargv.insert(nargv.end(), argv.begin() + 1, argv.end());
  argv = std::move(nargv);
  return 0;
}

} // namespace

int64_t Kernel::exec(Task& t, const std::string& guest_path, std::vector<std::string> argv,
                     std::vector<std::string> envp, std::string* why) {
  Process& p = *t.proc;
  std::string path = guest_path;
  for (int depth = 0;; ++depth) {
    std::string interp;
    int64_t r = script_interpreter(*this, p, path, argv, interp);
    if (r < 0) {
      if (why) *why = fmt::format("{}: {}", guest_path, strerror(int(-r)));
      return r;
    }
    if (interp.empty()) break;
    if (depth == 4) return -ELOOP;
    path = interp;
  }
  vfs::Path exe_path;
  if (int64_t r = exec_lookup(*this, p, path, exe_path)) return r;
  FileReader reader = [&](const std::string& name) { return exec_open(*this, p, name); };
  bool reuse_child = t.mm->users == 1 && t.mm->owner == nullptr;
  auto as = new_address_space(p.pid);
  // Keeping the host child: its old guest mappings go before the new ones come.
  if (reuse_child) as->mmu().release(0, mm::kUserTop / mm::kPageSize);
  AuxCreds creds{p.creds.uid, p.creds.euid, p.creds.gid, p.creds.egid};
  auto loaded = load_elf(*as, path, reader, argv, envp, creds);
  if (auto* e = std::get_if<ExecError>(&loaded)) {
    if (why) *why = fmt::format("{}: {}", path, e->message);
    return -e->err;
  }
  // Point of no return: other threads die, the old image goes.
  for (Task* o : p.threads)
    if (o != &t) {
      o->exiting = true;
      wake(*o, WakeReason::Signal);
      if (o->state == TaskState::InGuest) o->mm->child->interrupt();
    }
  const ExecImage& img = std::get<ExecImage>(loaded);
  if (reuse_child) {
    t.mm->as = std::move(as);
    t.mm->regs_loaded = nullptr;
  } else {
    release_mm(t);
    t.mm = new_mm_context(std::move(as));
    ++t.mm->users;
  }
  vfork_release(t);
  ++stats_.execs;
  if (!vfs::Vfs::path_of(exe_path, p.fs->root, p.exe)) p.exe = vfs::absolute_path(exe_path);
  p.exe_path = exe_path;
  p.arg_start = img.arg_start;
  p.arg_end = img.arg_end;
  p.env_start = img.env_start;
  p.env_end = img.env_end;
  p.dumpable = true;
  std::string base = path.substr(path.rfind('/') + 1);
  p.comm = base.substr(0, 15);
  t.comm.clear();
  // Handlers reset to SIG_DFL (ignored stay ignored); close-on-exec fds close.
  if (p.sighand.use_count() > 1) p.sighand = std::make_shared<SigHand>(*p.sighand);
  for (int s = 1; s <= 64; ++s) {
    KSigaction& a = p.sighand->action[size_t(s)];
    if (a.handler != uint64_t(SIG_IGN)) a = KSigaction{};
  }
  if (p.fds) {
    if (p.fds.use_count() > 1) p.fds = std::make_shared<FdTable>(*p.fds);
    p.fds->close_on_exec();
  }
  t.altstack = {nullptr, SS_DISABLE, 0};
  t.clear_child_tid = 0;
  t.robust_list = 0;
  user_regs_struct fresh{};
  const user_regs_struct& base_regs = t.mm->child->initial_regs();
  fresh.cs = base_regs.cs;
  fresh.ss = base_regs.ss;
  fresh.ds = base_regs.ds;
  fresh.es = base_regs.es;
  fresh.fs = base_regs.fs;
  fresh.gs = base_regs.gs;
  fresh.rip = img.entry;
  fresh.rsp = img.sp;
  fresh.eflags = 0x202;
  fresh.orig_rax = ~0ULL;
  t.regs = fresh;
  t.regs_dirty = true;
  t.xstate.clear(); // a fresh FPU state: the stub's, which never used it
  if (t.mm->xstate_loaded == &t) t.mm->xstate_loaded = nullptr;
  if (!t.mm->xstate_loaded) {
    std::vector<uint8_t> x;
    if (t.mm->child->get_xstate(x)) t.xstate = std::move(x);
  }
  return 0;
}

void Kernel::release_mm(Task& t) {
  if (!t.mm) return;
  MmContext& m = *t.mm;
  if (m.owner == &t) {
    m.owner = nullptr;
    m.child_free.wake(1);
  }
  if (m.regs_loaded == &t) m.regs_loaded = nullptr;
  if (m.xstate_loaded == &t) m.xstate_loaded = nullptr;
  if (--m.users == 0) {
    account_child_end(m, t.proc);
    by_host_pid_.erase(m.child->pid());
    if (m.child->alive() && m.owner == nullptr && spare_children_.size() < kMaxSpareChildren && !shutdown_)
      spare_children_.push_back(std::move(m.child)); // stopped; wiped before its next guest runs
    else
      m.child->kill();
  }
  t.mm.reset();
}

void Kernel::exit_group(Task& t, int wait_status) {
  Process& p = *t.proc;
  if (!p.group_exit) {
    p.group_exit = true;
    p.group_exit_status = wait_status;
  }
  // `t` may be another process's target (kill): every thread of the group,
  // t included, leaves its sleep or its guest code.
  for (Task* o : p.threads) {
    o->exiting = true;
    wake(*o, WakeReason::Signal);
    if (o->state == TaskState::InGuest) o->mm->child->interrupt();
  }
}

void Kernel::exit_thread(Task& t, int code) {
  Process& p = *t.proc;
  t.exiting = true;
  vfork_release(t);
  // CLONE_CHILD_CLEARTID: zero the tid word and wake one futex waiter on it.
  if (t.clear_child_tid && t.mm && t.mm->users > 1) {
    uint32_t zero = 0;
    if (t.mm->as->copy_to_user(t.clear_child_tid, &zero, 4) == 0) futex_wake(*this, t, t.clear_child_tid, 1);
  }
  if (t.mm && t.mm->users > 1) robust_list_cleanup(*this, t);
  release_mm(t);
  p.threads.erase(std::remove(p.threads.begin(), p.threads.end(), &t), p.threads.end());
  t.state = TaskState::Dead;
  dead_.push_back(&t);
  if (p.threads.empty()) process_exit(p, p.group_exit ? p.group_exit_status : (code & 0xff) << 8);
}

void Kernel::notify_parent(Process& p, int code, int status) {
  Process* parent = p.parent;
  if (!parent || parent->zombie) return;
  parent->child_event.wake_all();
  const KSigaction& act = parent->sighand->action[SIGCHLD];
  if ((code == CLD_STOPPED || code == CLD_CONTINUED) && (act.flags & SA_NOCLDSTOP)) return;
  int sig = code == CLD_EXITED || code == CLD_KILLED || code == CLD_DUMPED ? p.exit_signal : SIGCHLD;
  if (sig <= 0) return;
  siginfo_t info{};
  info.si_signo = sig;
  info.si_code = code;
  info.si_pid = p.pid;
  info.si_uid = p.creds.uid;
  info.si_status = status;
  send_signal(*parent, info);
}

void Kernel::process_exit(Process& p, int wait_status) {
  p.zombie = true;
  p.wait_status = wait_status;
  if (p.fds && p.fds.use_count() == 1)
    for (auto& [fd, f] : p.fds->files()) release_locks_on_close(*this, p, f);
  locks_.release(nullptr, &p);
  p.fds.reset();
  p.fs.reset();
  if (p.ctty && p.pid == p.sid && p.pid != 1) p.ctty->disassociate(p, true); // SIGHUP to the foreground
  p.ctty.reset();
  if (p.itimer_real) timers_.cancel(p.itimer_real);
  for (auto& pt : p.posix_timers)
    if (pt && pt->timer) timers_.cancel(pt->timer);
  p.posix_timers.clear();
  if (p.pid == 1) {
    init_status_ = WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
    if (host_signal_ || power_ != PowerAction::None) {
      // The end was asked for: nothing to say.
    } else if (WIFSIGNALED(wait_status)) {
      say(LOG_ERR, fmt::format("init (pid 1, {}) killed by {}{}{}{}", p.comm, signal_name(WTERMSIG(wait_status)),
                               p.death_note.empty() ? "" : ": ", p.death_note, opts_.boot_mode() ? "; shutting down" : ""));
    } else if (opts_.boot_mode() && !opts_.quiet) {
      say(LOG_INFO, fmt::format("init (pid 1, {}) exited with status {}; shutting down", p.comm, WEXITSTATUS(wait_status)));
    }
    shutdown_ = true;
    return;
  }
  // Orphans go to the nearest living subreaper ancestor, else to init; the
  // ones that asked (PR_SET_PDEATHSIG) hear of their parent's death.
  Process* reaper = init_process();
  for (Process* a = p.parent; a; a = a->parent)
    if (a->child_subreaper && !a->zombie) {
      reaper = a;
      break;
    }
  for (Process* c : p.children) {
    c->parent = reaper;
    if (reaper) {
      reaper->children.push_back(c);
      if (c->zombie) notify_parent(*c, CLD_EXITED, 0);
    }
    if (c->pdeath_signal && !c->zombie) {
      siginfo_t info{};
      info.si_signo = c->pdeath_signal;
      info.si_code = SI_USER;
      info.si_pid = p.pid;
      info.si_uid = p.creds.uid;
      send_signal(*c, info);
    }
  }
  p.children.clear();
  Process* parent = p.parent;
  int code = WIFSIGNALED(wait_status) ? ((wait_status & 0x80) ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
  int status = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
  if (parent) {
    const KSigaction& act = parent->sighand->action[SIGCHLD];
    bool autoreap = act.handler == uint64_t(SIG_IGN) || (act.flags & SA_NOCLDWAIT);
    notify_parent(p, code, status);
    if (autoreap) reap(p, *parent);
  }
}

void Kernel::reap(Process& p, Process& parent) {
  parent.children_utime_ns += p.cpu_ns + p.children_utime_ns;
  parent.children.erase(std::remove(parent.children.begin(), parent.children.end(), &p), parent.children.end());
  processes_.erase(p.pid);
}

int64_t Kernel::wait_child(Task& t, int64_t pid, int options, int* status, siginfo_t* info, rusage* ru) {
  Process& me = *t.proc;
  for (;;) {
    bool any = false;
    for (Process* c : me.children) {
      if (pid > 0 && c->pid != pid) continue;
      if (pid == 0 && c->pgid != me.pgid) continue;
      if (pid < -1 && c->pgid != -pid) continue;
      // __WCLONE/__WALL distinctions: children with exit_signal != SIGCHLD are "clone" children.
      bool clone_child = c->exit_signal != SIGCHLD;
      if (!(options & __WALL) && (clone_child != bool(options & __WCLONE))) continue;
      any = true;
      int cpid = c->pid;
      if (c->zombie && (options & WEXITED)) {
        if (status) *status = c->wait_status;
        if (info) {
          *info = {};
          info->si_signo = SIGCHLD;
          info->si_pid = cpid;
          info->si_uid = int(c->creds.uid);
          if (WIFSIGNALED(c->wait_status)) {
            info->si_code = (c->wait_status & 0x80) ? CLD_DUMPED : CLD_KILLED;
            info->si_status = WTERMSIG(c->wait_status);
          } else {
            info->si_code = CLD_EXITED;
            info->si_status = WEXITSTATUS(c->wait_status);
          }
        }
        if (ru) {
          *ru = {};
          ru->ru_utime = {time_t(c->cpu_ns / 1000000000ULL), suseconds_t((c->cpu_ns % 1000000000ULL) / 1000)};
        }
        if (!(options & WNOWAIT)) reap(*c, me);
        return cpid;
      }
      if (c->stopped && c->report_stop && (options & WUNTRACED)) {
        if (status) *status = (c->stop_signal << 8) | 0x7f;
        if (info) {
          *info = {};
          info->si_signo = SIGCHLD;
          info->si_code = CLD_STOPPED;
          info->si_pid = cpid;
          info->si_status = c->stop_signal;
        }
        if (!(options & WNOWAIT)) c->report_stop = false;
        return cpid;
      }
      if (c->report_continue && (options & WCONTINUED)) {
        if (status) *status = 0xffff;
        if (info) {
          *info = {};
          info->si_signo = SIGCHLD;
          info->si_code = CLD_CONTINUED;
          info->si_pid = cpid;
          info->si_status = SIGCONT;
        }
        if (!(options & WNOWAIT)) c->report_continue = false;
        return cpid;
      }
    }
    if (!any) return -ECHILD;
    if (options & WNOHANG) return 0;
    if (block(t, &me.child_event, -1, true) == WakeReason::Signal) return kErestartSys;
  }
}

void Kernel::destroy_task(Task* t) { tasks_.erase(t->tid); }

void Kernel::account_child_end(MmContext& m, Process* owner) {
  ChildFigures f;
  f.host_pid = m.child->pid();
  if (owner) {
    f.pid = owner->pid;
    f.comm = owner->comm;
  }
  if (m.child->alive()) {
    f.exit_host_vmas = sample_host_figures(m);
    f.host_minor_faults = m.child->host_minor_faults();
    stats_.host_minor_faults += f.host_minor_faults;
    if (owner) owner->cpu_ns += m.child->cpu_ns();
  }
  f.peak_host_vmas = m.peak_host_vmas;
  f.stops = m.child->counters();
  stats_.stops += f.stops;
  if (stats_.children.size() < KernelStats::kMaxChildFigures)
    stats_.children.push_back(std::move(f));
  else
    ++stats_.children_unlisted;
  m.child->reset_counters(); // a recycled child starts counting afresh
}

void Kernel::shutdown_all() {
  for (auto& c : spare_children_) c->kill();
  spare_children_.clear();
  // Every host child dies with the kernel; do it now, in order.
  for (auto& [pid, m] : by_host_pid_) {
    if (!m->child) continue;
    account_child_end(*m, nullptr);
    m->child->kill();
  }
  by_host_pid_.clear();
}

} // namespace gk
