#pragma once
// `trustrl` links no libtorch; the commands that train live in trustrl-train, installed next to
// it, and `trustrl train ...` becomes that binary by execv(). The process (its pid, signals,
// stdin/stdout/stderr and exit code) stays the same, so callers see no difference.

#include <filesystem>

namespace trustrl::cli {

/// trustrl-train next to the running binary (/proc/self/exe).
std::filesystem::path training_binary();

/// Replaces this process with training_binary(), passing `argv` through unchanged. Returns only
/// on failure, throwing Error naming the path (an actor host installed without trustrl-train).
[[noreturn]] void hand_over_to_training(char** argv);

}  // namespace trustrl::cli
