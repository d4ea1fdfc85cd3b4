#pragma once
// A file written by appending whole records (metric rows, log lines, TensorBoard events), where
// every failed write is seen: transient failures are retried, others throw Error naming the
// file, and a record that cannot be written whole is cut back off.

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "core/files.h"

namespace trustrl {

class AppendFile {
 public:
  enum class Mode { kAppend, kTruncate };

  /// Opens (creating) `path`; throws Error naming it if it cannot be opened.
  AppendFile(std::filesystem::path path, Mode mode, WriteRetry retry = {});
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  ~AppendFile();

  /// Appends `record` whole, or throws Error naming the file and the cause; on failure the file
  /// is cut back to its length before the call where the file system allows.
  void append(std::string_view record);
  /// Makes what was appended durable (fdatasync); throws Error if it cannot be.
  void sync();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  WriteRetry retry_;
  int fd_ = -1;
  std::int64_t size_ = 0;  // bytes in the file after the last whole record
};

}  // namespace trustrl
