#pragma once
// A small container for checkpoints and saved policies: named binary sections, each with a
// CRC-32C, behind a magic and a kind, written atomically. A truncated or altered file is
// detected on read and reported in one line naming the file.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace trustrl {

class SectionFile {
 public:
  explicit SectionFile(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, std::vector<std::uint8_t> bytes);
  void add(const std::string& name, const std::string& text);
  bool has(const std::string& name) const { return sections_.count(name) != 0; }
  /// The section's bytes; throws Error naming the file and section if it is missing.
  const std::vector<std::uint8_t>& get(const std::string& name) const;
  std::string get_text(const std::string& name) const;
  const std::string& kind() const { return kind_; }
  /// "checkpoint file 'path'" for messages.
  const std::string& source() const { return source_; }

  void write(const std::filesystem::path& path) const;
  /// Reads and verifies a file of the given kind ("checkpoint", "policy"; empty for any); throws
  /// Error with a one-line message if it is missing, of another kind, truncated or corrupt.
  static SectionFile read(const std::filesystem::path& path, const std::string& kind);

 private:
  std::string kind_;
  std::string source_ = "in-memory file";
  std::map<std::string, std::vector<std::uint8_t>> sections_;
};

}  // namespace trustrl
