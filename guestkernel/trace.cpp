#include "guestkernel/trace.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace gk {

void Trace::open(const std::string& path) {
  if (path.empty()) return;
  out_ = fopen(path.c_str(), "we");
  if (!out_) throw std::runtime_error(fmt::format("cannot open trace file {}: {}", path, strerror(errno)));
}

Trace::~Trace() {
  if (out_) fclose(out_);
}

} // namespace gk
