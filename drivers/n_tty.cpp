// The line discipline (Linux's drivers/tty/n_tty.c is the model): input
// processing and canonical editing with echo, signal characters, output
// post-processing, and the read side of the queue (VMIN/VTIME).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "drivers/tty.h"
#include "guestkernel/kernel.h"

namespace gk::drivers {

namespace {

bool is_cntrl(uint8_t c) { return c < 32 || c == 127; }

} // namespace

Tty::Tty(Kernel& k, TtyDriver& d) : kernel_(k), driver_(d) {
  // Linux's tty_std_termios.
  termios_ = {};
  termios_.c_iflag = ICRNL | IXON;
  termios_.c_oflag = OPOST | ONLCR;
  termios_.c_cflag = B38400 | CS8 | CREAD | HUPCL;
  termios_.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  static const uint8_t cc[19] = {3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0};
  memcpy(termios_.c_cc, cc, sizeof cc);
}

void Tty::changed() {
  ++generation_;
  read_wait_.wake_all();
  write_wait_.wake_all();
}

// ---- input ----

size_t Tty::receive(const uint8_t* p, size_t n) {
  size_t i = 0;
  for (; i < n && !hung_up_; ++i)
    if (!receive_one(p[i])) break;
  flush_echoes();
  throttled_ = i < n;
  return i;
}

// One typed byte (n_tty_receive_char_special and friends); false when it
// must wait for room in the queue.
bool Tty::receive_one(uint8_t c) {
  if (iflag(ISTRIP)) c &= 0x7f;
  if (iflag(IUCLC) && lflag(IEXTEN)) c = uint8_t(tolower(c));
  bool canon = lflag(ICANON);
  if (lnext_) { // the byte after VLNEXT is data, whatever it is
    if (!canon && buf_.size() >= kBufSize) return false;
    lnext_ = false;
    if (canon && !canon_room()) return true; // dropped, as on a full Linux line
    if (lflag(ECHO)) echo(c);
    put(c);
    return true;
  }
  if (iflag(IXON)) {
    if (is_cc(c, VSTART)) {
      stopped_ = false;
      changed();
      return true;
    }
    if (is_cc(c, VSTOP)) {
      stopped_ = true;
      changed();
      return true;
    }
  }
  if (lflag(ISIG)) {
    int sig = is_cc(c, VINTR) ? SIGINT : is_cc(c, VQUIT) ? SIGQUIT : is_cc(c, VSUSP) ? SIGTSTP : 0;
    if (sig) {
      isig(sig, c);
      return true;
    }
  }
  if (stopped_ && iflag(IXON) && iflag(IXANY)) {
    stopped_ = false;
    changed();
  }
  if (c == '\r') {
    if (iflag(IGNCR)) return true;
    if (iflag(ICRNL)) c = '\n';
  } else if (c == '\n' && iflag(INLCR)) {
    c = '\r';
  }
  if (canon) {
    if (is_cc(c, VERASE) || is_cc(c, VKILL) || (is_cc(c, VWERASE) && lflag(IEXTEN))) {
      erase(c);
      return true;
    }
    if (is_cc(c, VLNEXT) && lflag(IEXTEN)) {
      lnext_ = true;
      if (lflag(ECHO) && lflag(ECHOCTL)) {
        echo_raw('^');
        echo_raw('\b');
      }
      return true;
    }
    if (is_cc(c, VREPRINT) && lflag(ECHO) && lflag(IEXTEN)) {
      echo(c);
      echo_raw('\n');
      for (size_t i = canon_; i < buf_.size(); ++i)
        if (!buf_[i].eof) echo(buf_[i].c);
      return true;
    }
    if (c == '\n') {
      if (lflag(ECHO) || lflag(ECHONL)) echo_raw('\n');
      put(c, true);
      commit_line();
      return true;
    }
    if (is_cc(c, VEOF)) { // ends the line without itself being data
      put(0, true, true);
      commit_line();
      return true;
    }
    if (is_cc(c, VEOL) || (is_cc(c, VEOL2) && lflag(IEXTEN))) {
      if (lflag(ECHO)) {
        if (canon_ == buf_.size()) canon_column_ = column_;
        echo(c);
      }
      put(c, true);
      commit_line();
      return true;
    }
    if (!canon_room()) {
      if (iflag(IMAXBEL) && lflag(ECHO)) echo_raw('\a');
      return true; // dropped, as on a full Linux line
    }
  } else if (buf_.size() >= kBufSize) {
    return false;
  }
  if (lflag(ECHO)) {
    if (canon && canon_ == buf_.size()) canon_column_ = column_;
    echo(c);
  }
  put(c);
  return true;
}

void Tty::put(uint8_t c, bool eol, bool eof) {
  buf_.push_back({c, eol, eof});
  if (!lflag(ICANON)) changed();
}

void Tty::commit_line() {
  canon_ = buf_.size();
  changed();
}

void Tty::flush_input() {
  buf_.clear();
  canon_ = 0;
  lnext_ = false;
  changed();
  if (throttled_) {
    throttled_ = false;
    driver_.unthrottle();
  }
}

// VINTR, VQUIT, VSUSP: the signal goes to the foreground group; input is
// flushed first unless NOFLSH; the character is echoed (^C).
void Tty::isig(int sig, uint8_t c) {
  if (!lflag(NOFLSH)) {
    flush_input();
    echo_buf_.clear(); // echoes not yet written go with the input, as in n_tty
  }
  signal_group(pgrp_, sig);
  if (stopped_ && iflag(IXON)) {
    stopped_ = false;
    changed();
  }
  if (lflag(ECHO)) echo(c);
}

// VERASE, VWERASE, VKILL on the line being edited (n_tty's eraser()).
void Tty::erase(uint8_t c) {
  enum { Erase, Werase, Kill } kind = is_cc(c, VERASE) ? Erase : is_cc(c, VWERASE) ? Werase : Kill;
  if (buf_.size() == canon_) return;
  if (kind == Kill) {
    if (!lflag(ECHO)) {
      buf_.resize(canon_);
      return;
    }
    if (!lflag(ECHOK) || !lflag(ECHOKE) || !lflag(ECHOE)) {
      buf_.resize(canon_);
      echo(c);
      if (lflag(ECHOK)) echo_raw('\n');
      return;
    }
  }
  bool utf8 = iflag(IUTF8);
  auto continuation = [&](uint8_t b) { return utf8 && (b & 0xc0) == 0x80; };
  int seen_alnums = 0;
  while (buf_.size() > canon_) {
    // One character: a UTF-8 lead byte and its continuation bytes go together.
    size_t head = buf_.size();
    uint8_t ch;
    do ch = buf_[--head].c;
    while (continuation(ch) && head > canon_);
    if (continuation(ch)) break;
    if (kind == Werase) {
      if (isalnum(ch) || ch == '_') ++seen_alnums;
      else if (seen_alnums) break;
    }
    if (lflag(ECHO)) {
      if (kind == Erase && !lflag(ECHOE)) {
        echo(c);
      } else if (ch == '\t') {
        // Back to where the tab started: replay the columns before it.
        unsigned col = canon_column_;
        for (size_t i = canon_; i < head; ++i) {
          uint8_t b = buf_[i].c;
          if (b == '\t') col = (col | 7) + 1;
          else if (is_cntrl(b)) col += lflag(ECHOCTL) ? 2 : 0;
          else if (!continuation(b)) ++col;
        }
        for (unsigned n = ((col | 7) + 1) - col; n--;) echo_raw('\b');
      } else {
        int cells = is_cntrl(ch) ? (lflag(ECHOCTL) ? 2 : 0) : 1;
        for (int i = 0; i < cells; ++i) {
          echo_raw('\b');
          echo_raw(' ');
          echo_raw('\b');
        }
      }
    }
    buf_.resize(head);
    if (kind == Erase) break;
  }
}

// ---- echo and output ----

void Tty::echo(uint8_t c) {
  if (lflag(ECHOCTL) && is_cntrl(c) && c != '\t' && c != '\n') {
    echo_raw('^');
    echo_raw(c ^ 0100);
  } else {
    echo_raw(c);
  }
}

void Tty::echo_raw(uint8_t c) { output_char(c, echo_buf_); }

void Tty::flush_echoes() {
  if (echo_buf_.empty()) return;
  driver_.write(reinterpret_cast<const uint8_t*>(echo_buf_.data()), echo_buf_.size());
  echo_buf_.clear();
}

void Tty::output(const uint8_t* p, size_t n, std::string& out) {
  for (size_t i = 0; i < n; ++i) output_char(p[i], out);
}

// OPOST processing of one byte, keeping the column for tab erase
// (n_tty's do_output_char).
void Tty::output_char(uint8_t c, std::string& out) {
  if (!oflag(OPOST)) {
    out += char(c);
    return;
  }
  switch (c) {
  case '\n':
    if (oflag(ONLRET)) column_ = 0;
    if (oflag(ONLCR)) {
      canon_column_ = column_ = 0;
      out += "\r\n";
      return;
    }
    canon_column_ = column_;
    break;
  case '\r':
    if (oflag(ONOCR) && column_ == 0) return;
    if (oflag(OCRNL)) {
      c = '\n';
      if (oflag(ONLRET)) canon_column_ = column_ = 0;
      break;
    }
    canon_column_ = column_ = 0;
    break;
  case '\t': {
    unsigned spaces = 8 - (column_ & 7);
    column_ += spaces;
    if ((termios_.c_oflag & TABDLY) == XTABS) {
      out.append(spaces, ' ');
      return;
    }
    break;
  }
  case '\b':
    if (column_ > 0) --column_;
    break;
  default:
    if (!is_cntrl(c)) {
      if (oflag(OLCUC)) c = uint8_t(toupper(c));
      if (!(iflag(IUTF8) && (c & 0xc0) == 0x80)) ++column_;
    }
    break;
  }
  out += char(c);
}

// ---- termios and the read side ----

// ICANON switching (n_tty_set_termios): into canonical mode, what is queued
// becomes one complete line; out of it, everything is readable.
void Tty::set_termios(const KernelTermios& t) {
  bool was_canon = lflag(ICANON);
  termios_ = t;
  if (was_canon != lflag(ICANON)) {
    for (Item& it : buf_) it.eol = it.eof;
    if (lflag(ICANON) && !buf_.empty()) buf_.back().eol = true;
    canon_ = lflag(ICANON) ? buf_.size() : 0;
    lnext_ = false;
  }
  if (!iflag(IXON) && stopped_) stopped_ = false;
  changed();
}

bool Tty::input_available(bool for_poll) const {
  if (lflag(ICANON)) return canon_ > 0;
  uint8_t vmin = termios_.c_cc[VMIN], vtime = termios_.c_cc[VTIME];
  size_t amt = for_poll && !vtime && vmin ? vmin : 1;
  return buf_.size() >= amt;
}

// FIONREAD: data bytes a read could return (complete lines only, in
// canonical mode; VEOF's marks do not count).
size_t Tty::readable_bytes() const {
  size_t end = lflag(ICANON) ? canon_ : buf_.size();
  size_t n = 0;
  for (size_t i = 0; i < end; ++i) n += !buf_[i].eof;
  return n;
}

unsigned Tty::poll_events() const {
  unsigned ev = 0;
  if (input_available(true)) ev |= POLLIN | POLLRDNORM;
  if (hung_up_) ev |= POLLHUP | POLLIN | POLLRDNORM;
  if (!stopped_ || hung_up_) ev |= POLLOUT | POLLWRNORM;
  return ev;
}

int64_t Tty::read(IoCtx& io, const File& f, uint8_t* buf, size_t n) {
  if (int64_t r = check_change(io, SIGTTIN)) return r;
  bool canon = lflag(ICANON);
  // Non-canonical: VMIN bytes, or what came before VTIME (tenths of a second)
  // ran out; with VMIN > 0 the timer restarts on each byte.
  size_t minimum = 0;
  int64_t interbyte_ns = 0, deadline = -1;
  if (!canon) {
    minimum = termios_.c_cc[VMIN];
    int64_t vtime_ns = int64_t(termios_.c_cc[VTIME]) * 100'000'000;
    if (minimum) {
      interbyte_ns = vtime_ns;
    } else {
      minimum = 1;
      deadline = vtime_ns ? int64_t(Kernel::now_ns()) + vtime_ns : 0;
    }
  }
  size_t got = 0;
  while (got < n) {
    if (!input_available(false)) {
      if (hung_up_) break;
      if (deadline == 0) break; // VMIN 0, VTIME 0: what there is
      if (f.flags & O_NONBLOCK) return got ? int64_t(got) : -EAGAIN;
      WakeReason why = kernel_.block(io.task, &read_wait_, deadline, true);
      if (why == WakeReason::Signal) return got ? int64_t(got) : kErestartSys;
      if (why == WakeReason::Timeout) break;
      continue;
    }
    if (lflag(ICANON)) {
      // One line at most; VEOF's mark ends it without being returned.
      while (got < n && canon_ > 0) {
        Item it = buf_.front();
        buf_.pop_front();
        --canon_;
        if (!it.eof) buf[got++] = it.c;
        if (it.eol) break;
      }
      break;
    }
    while (got < n && !buf_.empty()) {
      Item it = buf_.front();
      buf_.pop_front();
      if (!it.eof) buf[got++] = it.c;
    }
    if (got >= minimum) break;
    if (interbyte_ns) deadline = int64_t(Kernel::now_ns()) + interbyte_ns;
  }
  if (throttled_ && buf_.size() < kBufSize) {
    throttled_ = false;
    driver_.unthrottle();
  }
  return int64_t(got);
}

int64_t Tty::write(IoCtx& io, const File& f, const uint8_t* buf, size_t n) {
  if (lflag(TOSTOP))
    if (int64_t r = check_change(io, SIGTTOU)) return r;
  while (stopped_ && !hung_up_) {
    if (f.flags & O_NONBLOCK) return -EAGAIN;
    if (kernel_.block(io.task, &write_wait_, -1, true) == WakeReason::Signal) return kErestartSys;
  }
  if (hung_up_) return -EIO;
  std::string out;
  output(buf, n, out);
  driver_.write(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  return int64_t(n);
}

} // namespace gk::drivers
