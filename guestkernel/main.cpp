// guestkernel: boot a guest program on the guest kernel.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "guestkernel/kernel.h"
#include "guestkernel/options.h"

int main(int argc, char** argv) {
  gk::Options opts = gk::parse_options(argc, argv);
  try {
    // Never destroyed: at exit, guest tasks' fibers may still be parked, and
    // unwinding them buys nothing (host children are already gone).
    auto* kernel = new gk::Kernel(opts);
    return kernel->run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "guestkernel: {}\n", e.what());
    return 125;
  }
}
