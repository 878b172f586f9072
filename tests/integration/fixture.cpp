#include "tests/integration/fixture.h"

#include <unistd.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace gk::test {

void GuestTest::TearDown() {
  EXPECT_EQ(leftover_processes(), std::vector<pid_t>{}) << "host processes left behind";
  for (const auto& d : scratch_dirs_) fs::remove_all(d);
  scratch_dirs_.clear();
}

std::string GuestTest::scratch_dir(const std::string& tag, const std::string& parent) {
  fs::path base = parent.empty() ? fs::path(kernel_binary()).parent_path() : fs::path(parent);
  fs::path d = base / ("gk-test-" + tag + "-" + GetParam() + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  scratch_dirs_.push_back(d);
  return d;
}

} // namespace gk::test
