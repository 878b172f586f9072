// The base of every integration suite.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace gk::test {

// Parameterized by the MMU backend (GetParam()). The test process becomes
// the subreaper of all it starts; after each test no host process may be
// left, and the scratch directories the test made are removed.
class GuestTest : public ::testing::TestWithParam<std::string> {
protected:
  static void SetUpTestSuite() { become_subreaper(); }
  void TearDown() override;
  const std::string& backend() const { return GetParam(); }
  // A fresh, empty directory in `parent`, by default next to the kernel
  // binary (not the host's /tmp, which the guest sees as its own on the
  // host's root), named for the tag, backend and test process.
  std::string scratch_dir(const std::string& tag, const std::string& parent = "");

private:
  std::vector<std::string> scratch_dirs_;
};

} // namespace gk::test
