// The kernel's message log, which dmesg reads through syslog(2): Linux's
// printk ring buffer in small. Each record keeps its level and its time
// since boot; the oldest go when the buffer is full. Every line the kernel
// says on the host's stderr is a record here too.
#pragma once
#include <cstdint>
#include <deque>
#include <string>

#include <syslog.h> // the levels: LOG_EMERG .. LOG_DEBUG

#include "guestkernel/sched/wait_queue.h"

namespace gk {

class KernelLog {
public:
  static constexpr size_t kBufferSize = 1 << 17; // Linux's default, CONFIG_LOG_BUF_SHIFT=17
  static constexpr int kDefaultConsoleLevel = 7; // messages below it reach the console
  static constexpr int kMinimumConsoleLevel = 1;

  void add(int level, uint64_t ns_since_boot, std::string text);

  // syslog(2)'s text of records: "<level>[seconds.micros] text\n" each.
  // READ_ALL: the newest whole records since the last clear that fit in `max`.
  std::string read_all(size_t max) const;
  // READ: unread records, consumed: whole ones, or the first in part when
  // not even it fits (the rest comes next time).
  std::string read_unread(size_t max);
  bool has_unread() const { return read_seq_ < next_seq_; }
  size_t unread_bytes() const;
  void clear() { clear_seq_ = next_seq_; }
  WaitQueue& readers() { return readers_; }

  // SYSLOG_ACTION_CONSOLE_OFF/ON/LEVEL, as Linux keeps them.
  int console_level() const { return console_level_; }
  void console_off();
  void console_on();
  void set_console_level(int level);

private:
  struct Record {
    uint64_t seq;
    std::string text; // already formatted, with its newline
  };
  size_t index_from(uint64_t seq) const; // of the oldest kept record at or after seq
  std::deque<Record> records_;
  size_t bytes_ = 0;
  uint64_t next_seq_ = 0, read_seq_ = 0, clear_seq_ = 0;
  size_t partial_ = 0; // bytes of the record at read_seq_ already read
  int console_level_ = kDefaultConsoleLevel, saved_console_level_ = -1;
  WaitQueue readers_;
};

} // namespace gk
