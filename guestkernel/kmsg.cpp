#include "guestkernel/kmsg.h"

#include <algorithm>

#include <fmt/format.h>

#include "guestkernel/kernel.h"

namespace gk {

void KernelLog::add(int level, uint64_t ns_since_boot, std::string text) {
  std::string rec = fmt::format("<{}>[{:5}.{:06}] {}\n", level, ns_since_boot / 1'000'000'000,
                                ns_since_boot / 1000 % 1'000'000, text);
  bytes_ += rec.size();
  records_.push_back({next_seq_++, std::move(rec)});
  while (bytes_ > kBufferSize && records_.size() > 1) {
    bytes_ -= records_.front().text.size();
    if (read_seq_ == records_.front().seq) partial_ = 0;
    records_.pop_front();
  }
  readers_.wake_all();
}

size_t KernelLog::index_from(uint64_t seq) const {
  if (records_.empty()) return 0;
  uint64_t oldest = records_.front().seq;
  return seq < oldest ? 0 : std::min<size_t>(seq - oldest, records_.size());
}

std::string KernelLog::read_all(size_t max) const {
  size_t first = index_from(clear_seq_), total = 0;
  for (size_t i = first; i < records_.size(); ++i) total += records_[i].text.size();
  while (total > max) total -= records_[first++].text.size();
  std::string out;
  for (size_t i = first; i < records_.size(); ++i) out += records_[i].text;
  return out;
}

std::string KernelLog::read_unread(size_t max) {
  std::string out;
  for (size_t i = index_from(read_seq_); i < records_.size(); ++i) {
    const Record& r = records_[i];
    if (r.seq != read_seq_) read_seq_ = r.seq, partial_ = 0; // what we had not read was dropped
    size_t left = r.text.size() - partial_;
    if (out.size() + left > max) {
      if (out.empty()) { // not even this one fits: part of it now, the rest next time
        out.append(r.text, partial_, max);
        partial_ += max;
      }
      break;
    }
    out.append(r.text, partial_);
    ++read_seq_;
    partial_ = 0;
  }
  return out;
}

size_t KernelLog::unread_bytes() const {
  size_t n = 0, first = index_from(read_seq_);
  for (size_t i = first; i < records_.size(); ++i) n += records_[i].text.size();
  if (first < records_.size() && records_[first].seq == read_seq_) n -= partial_;
  return n;
}

void KernelLog::console_off() {
  if (saved_console_level_ < 0) saved_console_level_ = console_level_;
  console_level_ = kMinimumConsoleLevel;
}

void KernelLog::console_on() {
  if (saved_console_level_ >= 0) console_level_ = saved_console_level_;
  saved_console_level_ = -1;
}

void KernelLog::set_console_level(int level) {
  console_level_ = std::max(level, kMinimumConsoleLevel);
  saved_console_level_ = -1;
}

} // namespace gk

// ---- the kernel's side ----

namespace gk {

std::string version_banner() {
  return fmt::format("Linux version {} (guestkernel@guestkernel) (g++ (GCC) {}) #1 SMP guestkernel", kGuestRelease,
                     __VERSION__);
}

void Kernel::say(int level, const std::string& text, bool console) {
  log_.add(level, now_ns() - stats_.start_ns, text);
  if (console && level < log_.console_level()) fmt::print(stderr, "guestkernel: {}\n", text);
}

} // namespace gk
