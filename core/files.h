#pragma once
// File helpers: atomic replacement, bounded whole-file reads, checksums, and how writers wait
// out a transient failure (a disk full for a moment, a process out of descriptors).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace trustrl {

/// How long a writer keeps retrying a transient failure before it gives up: `attempts` tries,
/// waiting `first_delay` after the first failure and doubling up to `max_delay`. The defaults
/// wait 50, 100, 200, 400, 800, 1000, 1000 ms: about 3.5 s in all.
struct WriteRetry {
  int attempts = 8;
  std::chrono::milliseconds first_delay{50};
  std::chrono::milliseconds max_delay{1000};
};

/// Whether `err` (an errno) may clear up by itself: ENOSPC, EDQUOT (space freed), EMFILE,
/// ENFILE (descriptors closed), EAGAIN, ENOMEM. Others (EACCES, EROFS, EFBIG, EIO...) do not.
bool is_transient_error(int err);

/// Runs `attempt` until it returns 0 or a non-transient errno, sleeping between tries as
/// `retry` says; returns the last errno (0 on success).
int retry_transient(const std::function<int()>& attempt, const WriteRetry& retry = {});

/// Writes `bytes` to `path` so that a reader sees either the old file or the whole new one, never
/// a part: write a temporary beside it, fsync, rename over, fsync the directory. Transient
/// failures are retried (WriteRetry); then Error names the path and the cause.
void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                       const WriteRetry& retry = {});
void write_file_atomic(const std::filesystem::path& path, const std::string& text,
                       const WriteRetry& retry = {});

/// The whole file; throws Error naming the path if it cannot be read, is a directory, or holds
/// more than `max_bytes` (read in chunks, so /dev/zero or a FIFO end too).
std::vector<std::uint8_t> read_file(const std::filesystem::path& path,
                                    std::size_t max_bytes = std::size_t(1) << 32);
std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes = std::size_t(1)
                                                                                      << 32);

/// CRC-32C (Castagnoli), as used by TFRecord and for checkpoint integrity: SSE 4.2's instruction
/// where the CPU has it, else crc32c_reference.
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0);
/// The same CRC one byte at a time from a table: what crc32c must equal.
std::uint32_t crc32c_reference(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0);

}  // namespace trustrl
