// --trace output: one line per event, prefixed with the guest pid.
#pragma once
#include <cstdio>
#include <string_view>

#include <fmt/format.h>

namespace gk {

class Trace {
public:
  bool syscall = false, fault = false, pte = false, mmu = false;
  void open(const std::string& path); // empty: stderr
  ~Trace();
  template <typename... A>
  void line(int pid, fmt::format_string<A...> f, A&&... a) {
    fmt::print(out(), "[{}] {}\n", pid, fmt::format(f, std::forward<A>(a)...));
  }
  void raw(int pid, std::string_view s) { fmt::print(out(), "[{}] {}\n", pid, s); }

private:
  // stderr as it is now: the console may replace it (drivers/host_terminal.cpp).
  FILE* out() const { return out_ ? out_ : stderr; }
  FILE* out_ = nullptr;
};

} // namespace gk
