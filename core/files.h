#pragma once
// File helpers: atomic replacement, whole-file reads, checksums.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace trustrl {

/// Writes `bytes` to `path` so that a reader sees either the old file or the whole new one, never
/// a part: write a temporary beside it, fsync, rename over, fsync the directory.
void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

/// The whole file; throws Error naming the path if it cannot be read.
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);
std::string read_text_file(const std::filesystem::path& path);

/// CRC-32C (Castagnoli), as used by TFRecord and for checkpoint integrity.
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0);

}  // namespace trustrl
