// The tty's ioctls and job control (Linux's tty_io.c, tty_jobctrl.c and
// tty_ioctl.c are the model): controlling terminals of sessions, the
// foreground process group, SIGTTIN/SIGTTOU for background groups.
#include <fcntl.h>
#include <linux/serial.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <termios.h>

#include <cstring>

#include "drivers/tty.h"
#include "guestkernel/kernel.h"
#include "mm/address_space.h"

namespace gk::drivers {

namespace {

// termios2 (termios plus speeds): <asm/termbits.h> clashes with glibc's
// <termios.h>, so its ioctl numbers are spelled out.
struct KernelTermios2 {
  KernelTermios t;
  uint32_t c_ispeed, c_ospeed;
};
static_assert(sizeof(KernelTermios2) == 44);
constexpr unsigned long kTcgets2 = 0x802c542a, kTcsets2 = 0x402c542b, kTcsetsw2 = 0x402c542c,
                        kTcsetsf2 = 0x402c542d;

// POSIX's orphaned process group: no member has a parent in another group
// of the same session. (Linux also discounts parents that are init; here
// init is usually the user's shell, whose jobs are not orphans.)
bool orphaned_pgrp(Kernel& k, int pgid) {
  for (auto& [pid, q] : k.processes()) {
    if (q->pgid != pgid || q->zombie || !q->parent) continue;
    if (q->parent->pgid != pgid && q->parent->sid == q->sid) return false;
  }
  return true;
}

bool pgrp_in_session(Kernel& k, int pgid, int sid, bool& exists) {
  exists = false;
  for (auto& [pid, q] : k.processes()) {
    if (q->zombie || q->pgid != pgid) continue;
    exists = true;
    if (q->sid == sid) return true;
  }
  return false;
}

} // namespace

void Tty::signal_group(int pgrp, int sig) {
  if (pgrp <= 0) return;
  std::vector<Process*> members;
  for (auto& [pid, q] : kernel_.processes())
    if (q->pgid == pgrp && !q->zombie) members.push_back(q.get());
  siginfo_t info{};
  info.si_signo = sig;
  info.si_code = SI_KERNEL; // from the terminal, not from a process
  for (Process* q : members) kernel_.send_signal(*q, info);
}

// A member of a background group touches its controlling terminal: it gets
// `sig` (SIGTTIN or SIGTTOU) and the call restarts once it is continued;
// EIO when it cannot be stopped (orphaned group, or SIGTTIN ignored).
int64_t Tty::check_change(IoCtx& io, int sig) {
  Process& p = *io.task.proc;
  if (p.ctty.get() != this || !pgrp_ || p.pgid == pgrp_) return 0;
  bool ignored = (io.task.sigmask & sigbit(sig)) || p.sighand->action[size_t(sig)].handler == uint64_t(SIG_IGN);
  if (ignored) return sig == SIGTTIN ? -EIO : 0;
  if (orphaned_pgrp(kernel_, p.pgid)) return -EIO;
  signal_group(p.pgid, sig);
  return kErestartSys;
}

void Tty::set_ctty_of(Process& p) {
  session_ = p.sid;
  pgrp_ = p.pgid;
  p.ctty = shared_from_this();
}

void Tty::opened_by(Process& p, int open_flags) {
  if (!(open_flags & O_NOCTTY) && p.pid == p.sid && !p.ctty && !session_) set_ctty_of(p);
}

void Tty::disassociate(Process& leader, bool exiting) {
  auto self = shared_from_this(); // the last holders may be let go below
  if (pgrp_) {
    signal_group(pgrp_, SIGHUP);
    if (!exiting) signal_group(pgrp_, SIGCONT);
  }
  int sid = session_ ? session_ : leader.sid;
  session_ = pgrp_ = 0;
  for (auto& [pid, q] : kernel_.processes())
    if (q->sid == sid && q->ctty.get() == this) q->ctty.reset();
  if (leader.ctty.get() == this) leader.ctty.reset();
  changed();
}

void Tty::hangup() {
  if (hung_up_) return;
  auto self = shared_from_this();
  hung_up_ = true;
  // The session leader hears of it (Linux's tty_signal_session_leader).
  siginfo_t info{};
  info.si_code = SI_KERNEL;
  std::vector<Process*> leaders;
  for (auto& [pid, q] : kernel_.processes()) {
    if (!session_ || q->sid != session_ || q->ctty.get() != this) continue;
    q->ctty.reset();
    if (q->pid == q->sid && !q->zombie) leaders.push_back(q.get());
  }
  for (Process* q : leaders)
    for (int sig : {SIGHUP, SIGCONT}) {
      info.si_signo = sig;
      kernel_.send_signal(*q, info);
    }
  session_ = pgrp_ = 0;
  changed();
}

void Tty::resize(const winsize& ws) {
  if (!memcmp(&ws, &winsize_, sizeof ws)) return;
  winsize_ = ws;
  signal_group(pgrp_, SIGWINCH);
}

int64_t Tty::ioctl(IoCtx& io, File& f, unsigned long cmd, uint64_t arg) {
  mm::AddressSpace& as = *io.task.mm->as;
  Process& p = *io.task.proc;
  auto put_int = [&](int v) -> int64_t { return as.copy_to_user(arg, &v, sizeof v) ? -EFAULT : 0; };
  bool is_ctty = p.ctty.get() == this;
  switch (cmd) {
  case TCGETS:
    return as.copy_to_user(arg, &termios_, sizeof termios_) ? -EFAULT : 0;
  case kTcgets2: {
    KernelTermios2 t2{termios_, 38400, 38400};
    return as.copy_to_user(arg, &t2, sizeof t2) ? -EFAULT : 0;
  }
  case TCSETS: case TCSETSW: case TCSETSF:
  case kTcsets2: case kTcsetsw2: case kTcsetsf2: {
    KernelTermios2 t2{};
    bool two = cmd == kTcsets2 || cmd == kTcsetsw2 || cmd == kTcsetsf2;
    if (as.copy_from_user(&t2, arg, two ? sizeof t2 : sizeof t2.t)) return -EFAULT;
    if (int64_t r = check_change(io, SIGTTOU)) return r;
    // Output is written synchronously, so the W forms have nothing to drain.
    if (cmd == TCSETSF || cmd == kTcsetsf2) flush_input();
    set_termios(t2.t);
    return 0;
  }
  case TIOCGWINSZ:
    return as.copy_to_user(arg, &winsize_, sizeof winsize_) ? -EFAULT : 0;
  case TIOCGSERIAL: { // the console is the guest's first serial line, ttyS0 (busybox cttyhack asks)
    serial_struct ss{};
    ss.type = PORT_16550A;
    ss.line = 0;
    ss.port = 0x3f8;
    ss.irq = 4;
    ss.xmit_fifo_size = 16;
    ss.baud_base = 115200;
    ss.close_delay = 50;
    ss.closing_wait = 3000;
    return as.copy_to_user(arg, &ss, sizeof ss) ? -EFAULT : 0;
  }
  case TIOCSWINSZ: {
    winsize ws;
    if (as.copy_from_user(&ws, arg, sizeof ws)) return -EFAULT;
    resize(ws);
    return 0;
  }
  case TIOCGPGRP:
    if (!is_ctty) return -ENOTTY;
    return put_int(pgrp_);
  case TIOCSPGRP: {
    int64_t r = check_change(io, SIGTTOU);
    if (r == -EIO) return -ENOTTY;
    if (r) return r;
    int pg;
    if (as.copy_from_user(&pg, arg, sizeof pg)) return -EFAULT;
    if (pg < 0) return -EINVAL;
    if (!is_ctty || session_ != p.sid) return -ENOTTY;
    bool exists;
    if (!pgrp_in_session(kernel_, pg, p.sid, exists)) return exists ? -EPERM : -ESRCH;
    pgrp_ = pg;
    return 0;
  }
  case TIOCGSID:
    if (!is_ctty || !session_) return -ENOTTY;
    return put_int(session_);
  case TIOCSCTTY:
    if (p.pid == p.sid && session_ == p.sid) return 0; // already ours
    if (p.pid != p.sid || p.ctty) return -EPERM;
    if (session_) {
      if (arg != 1) return -EPERM; // another session's; root may steal it with arg 1
      for (auto& [pid, q] : kernel_.processes())
        if (q->sid == session_ && q->ctty.get() == this) q->ctty.reset();
    }
    if ((f.flags & O_ACCMODE) == O_WRONLY && p.creds.euid != 0) return -EPERM;
    set_ctty_of(p);
    return 0;
  case TIOCNOTTY:
    if (!is_ctty) return -ENOTTY;
    if (p.pid == p.sid) disassociate(p, false);
    else p.ctty.reset();
    return 0;
  case FIONREAD:
    return put_int(int(readable_bytes()));
  case TIOCOUTQ:
    return put_int(0); // output is written through at once
  case TCFLSH: {
    if (int64_t r = check_change(io, SIGTTOU)) return r;
    if (arg > TCIOFLUSH) return -EINVAL;
    if (arg == TCIFLUSH || arg == TCIOFLUSH) flush_input();
    return 0;
  }
  case TCXONC: {
    if (int64_t r = check_change(io, SIGTTOU)) return r;
    switch (arg) {
    case TCOOFF: stopped_ = true; break;
    case TCOON: stopped_ = false; break;
    case TCIOFF:
    case TCION:
      if (uint8_t c = termios_.c_cc[arg == TCIOFF ? VSTOP : VSTART]) driver_.write(&c, 1);
      break;
    default: return -EINVAL;
    }
    changed();
    return 0;
  }
  case TCSBRK: case TCSBRKP: // tcdrain, tcsendbreak: nothing to wait for
    return check_change(io, SIGTTOU);
  case TIOCSBRK: case TIOCCBRK: case TIOCEXCL: case TIOCNXCL:
    return 0;
  case TIOCGETD:
    return put_int(0); // N_TTY
  case TIOCSETD: {
    int ld;
    if (as.copy_from_user(&ld, arg, sizeof ld)) return -EFAULT;
    return ld == 0 ? 0 : -EINVAL;
  }
  case FIONBIO: {
    int on;
    if (as.copy_from_user(&on, arg, sizeof on)) return -EFAULT;
    f.flags = on ? f.flags | O_NONBLOCK : f.flags & ~O_NONBLOCK;
    return 0;
  }
  default:
    return -ENOTTY;
  }
}

// ---- TtyFile ----

int64_t TtyFile::read(IoCtx& io, void* buf, size_t n) { return tty_->read(io, *this, static_cast<uint8_t*>(buf), n); }

int64_t TtyFile::write(IoCtx& io, const void* buf, size_t n) {
  return tty_->write(io, *this, static_cast<const uint8_t*>(buf), n);
}

int64_t TtyFile::ioctl_by(IoCtx& io, mm::AddressSpace&, unsigned long cmd, uint64_t arg) {
  return tty_->ioctl(io, *this, cmd, arg);
}

// The node's, or those of a /dev/console: character device 5:1.
int64_t TtyFile::stat(struct stat& st) {
  if (node_.valid()) return node_.inode().getattr(st);
  st = {};
  st.st_dev = makedev(0, 6);
  st.st_ino = 5;
  st.st_mode = S_IFCHR | 0600;
  st.st_nlink = 1;
  st.st_rdev = makedev(5, 1);
  st.st_blksize = 1024;
  return 0;
}

} // namespace gk::drivers
