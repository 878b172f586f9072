// guestkernel: boot a guest program on the guest kernel.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "guestkernel/kernel.h"
#include "guestkernel/options.h"

int main(int argc, char** argv) {
  gk::Options opts = gk::parse_options(argc, argv);
  try {
    gk::Kernel kernel(opts);
    return kernel.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "guestkernel: {}\n", e.what());
    return 125;
  }
}
