#pragma once
// Scratch directories for tests: one per test name and process, so parallel ctest runs and
// reruns never see each other's files.

#include <filesystem>
#include <string>

namespace trustrl::testing {

/// `<temp>/trustrl_test_<name>_<pid>`, emptied and created.
std::filesystem::path scratch_dir(const std::string& name);

}  // namespace trustrl::testing
