// A terminal as the guest sees it: Linux's N_TTY line discipline (canonical
// editing, echo, signal characters, input and output processing) and the
// controlling-terminal state of job control (session, foreground group).
//
// A Tty knows nothing of where its bytes come from: a driver (the host
// console) feeds typed input through receive() from the event loop and
// takes processed output through TtyDriver::write(). Guest opens of the
// terminal are TtyFiles.
#pragma once
#include <sys/ioctl.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "guestkernel/sched/wait_queue.h"
#include "guestkernel/vfs/file.h"
#include "guestkernel/vfs/vfs.h"

namespace gk {
struct Process;
}

namespace gk::drivers {

// struct termios as the Linux ioctl ABI has it (not glibc's larger one).
struct KernelTermios {
  uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36);

// What a Tty needs from the device under it.
class TtyDriver {
public:
  virtual ~TtyDriver() = default;
  // Processed output (and echoes) to the terminal.
  virtual void write(const uint8_t* p, size_t n) = 0;
  // The input queue has room again after receive() took less than offered.
  virtual void unthrottle() {}
};

class Tty : public std::enable_shared_from_this<Tty> {
public:
  static constexpr size_t kBufSize = 4096; // N_TTY_BUF_SIZE

  Tty(Kernel& k, TtyDriver& d);

  // ---- from the driver, in the event loop ----
  // Typed bytes; returns how many were taken (fewer when the input queue is
  // full in non-canonical mode: offer the rest after unthrottle()).
  size_t receive(const uint8_t* p, size_t n);
  // The terminal went away: the session leader gets SIGHUP and SIGCONT,
  // reads return 0 and writes EIO from now on.
  void hangup();
  // The terminal's size changed: SIGWINCH to the foreground group.
  void resize(const winsize& ws);

  // ---- from guest files (n_tty.cpp and tty_io.cpp) ----
  int64_t read(IoCtx& io, const File& f, uint8_t* buf, size_t n);
  int64_t write(IoCtx& io, const File& f, const uint8_t* buf, size_t n);
  int64_t ioctl(IoCtx& io, File& f, unsigned long cmd, uint64_t arg);
  unsigned poll_events() const;
  void poll_queues(std::vector<WaitQueue*>& q) {
    q.push_back(&read_wait_);
    q.push_back(&write_wait_);
  }
  uint64_t poll_generation() const { return generation_; }

  // ---- controlling terminal (tty_io.cpp) ----
  int session() const { return session_; }
  int foreground() const { return pgrp_; }
  // Makes the tty the controlling terminal of p's session, p's group the
  // foreground (Linux's proc_set_tty).
  void set_ctty_of(Process& p);
  // A session leader that opens the tty without O_NOCTTY, and has none,
  // gets it as its controlling terminal (when no other session has it).
  void opened_by(Process& p, int open_flags);
  // The session leader p exits (or gives up the tty, TIOCNOTTY): the
  // foreground group gets SIGHUP (and SIGCONT unless exiting), and nobody
  // in the session has the tty any more.
  void disassociate(Process& leader, bool exiting);

private:
  // One queued input byte: a data byte, or the mark VEOF leaves.
  struct Item {
    uint8_t c;
    bool eol; // ends a line (canonical mode's read boundary)
    bool eof; // VEOF's mark: ends a line, is never returned
  };

  // n_tty.cpp: input
  bool receive_one(uint8_t c);
  void put(uint8_t c, bool eol = false, bool eof = false);
  void commit_line();
  void erase(uint8_t c);
  void isig(int sig, uint8_t c);
  void flush_input();
  void set_termios(const KernelTermios& t);
  bool input_available(bool for_poll) const;
  size_t readable_bytes() const;
  bool canon_room() const { return buf_.size() < kBufSize - 1; }
  // n_tty.cpp: output and echo
  void echo(uint8_t c);     // as typed: ^X for control characters with ECHOCTL
  void echo_raw(uint8_t c); // through output processing only
  void output(const uint8_t* p, size_t n, std::string& out);
  void output_char(uint8_t c, std::string& out);
  void flush_echoes();
  bool is_cc(uint8_t c, int idx) const { return termios_.c_cc[idx] && c == termios_.c_cc[idx]; }
  bool lflag(uint32_t f) const { return termios_.c_lflag & f; }
  bool iflag(uint32_t f) const { return termios_.c_iflag & f; }
  bool oflag(uint32_t f) const { return termios_.c_oflag & f; }
  void changed();

  // tty_io.cpp: job control
  int64_t check_change(IoCtx& io, int sig); // Linux's __tty_check_change
  void signal_group(int pgrp, int sig);

  Kernel& kernel_;
  TtyDriver& driver_;
  KernelTermios termios_;
  winsize winsize_{24, 80, 0, 0};

  // The input queue: buf_[0, canon_) are complete lines (canonical mode),
  // the rest the line being edited. In non-canonical mode all is readable.
  std::deque<Item> buf_;
  size_t canon_ = 0;
  bool lnext_ = false;   // the next byte is literal (VLNEXT)
  bool throttled_ = false;
  std::string echo_buf_; // echoes of the current receive(), written at its end
  unsigned column_ = 0, canon_column_ = 0;

  bool stopped_ = false; // output stopped (VSTOP, TCOOFF)
  bool hung_up_ = false;
  int session_ = 0, pgrp_ = 0;
  WaitQueue read_wait_, write_wait_;
  uint64_t generation_ = 0;
};

// An open file description of a Tty, opened through the device node `node`
// (/dev/console, /dev/tty) when there is one: fstat then agrees with stat
// of that path, as ttyname() checks.
class TtyFile : public File {
public:
  TtyFile(std::shared_ptr<Tty> tty, int open_flags, vfs::Path node = {})
      : tty_(std::move(tty)), node_(std::move(node)) {
    flags = open_flags;
  }
  int64_t read(IoCtx& io, void* buf, size_t n) override;
  int64_t write(IoCtx& io, const void* buf, size_t n) override;
  int64_t ioctl_by(IoCtx& io, mm::AddressSpace& as, unsigned long cmd, uint64_t arg) override;
  int64_t stat(struct stat& st) override;
  unsigned poll_events() override { return tty_->poll_events(); }
  void poll_queues(std::vector<WaitQueue*>& q) override { tty_->poll_queues(q); }
  uint64_t poll_generation() override { return tty_->poll_generation(); }
  const vfs::Path* path() const override { return node_.valid() ? &node_ : nullptr; }
  std::string describe() const override { return node_.valid() ? vfs::absolute_path(node_) : "/dev/console"; }
  const std::shared_ptr<Tty>& tty() const { return tty_; }

private:
  std::shared_ptr<Tty> tty_;
  vfs::Path node_;
};

} // namespace gk::drivers
