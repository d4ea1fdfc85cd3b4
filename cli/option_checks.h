#pragma once
// Checks of command-line values that CLI11 would otherwise change silently: an empty path taken
// as "not given", an integer beyond its type clamped to the type's maximum.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace trustrl::cli {

/// The largest seed a config takes (train_config.cpp bounds `seed` to it: a double holds every
/// whole number up to 2^53 exactly).
inline constexpr std::uint64_t kMaxSeed = 9'000'000'000'000'000;

/// Refuses an empty value ("--run-dir ''" must not mean the default directory).
CLI::Validator non_empty(const std::string& what);

/// Refuses anything but decimal digits of a whole number in [0, max], checked on the text as
/// typed, before CLI11 converts (and would clamp) it.
CLI::Validator whole_number_up_to(std::uint64_t max);

}  // namespace trustrl::cli
