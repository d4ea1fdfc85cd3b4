#include "core/section_file.h"

#include <algorithm>
#include <cstring>
#include <system_error>

#include "core/bytes.h"
#include "core/error.h"
#include "core/files.h"

namespace trustrl {

namespace {
constexpr char kMagic[8] = {'T', 'R', 'U', 'S', 'T', 'R', 'L', '\0'};
constexpr std::uint32_t kFormatVersion = 1;
}  // namespace

void SectionFile::add(const std::string& name, std::vector<std::uint8_t> bytes) {
  sections_[name] = std::move(bytes);
}

void SectionFile::add(const std::string& name, const std::string& text) {
  sections_[name] = std::vector<std::uint8_t>(text.begin(), text.end());
}

const std::vector<std::uint8_t>& SectionFile::get(const std::string& name) const {
  const auto it = sections_.find(name);
  if (it == sections_.end())
    throw Error(source_ + " has no '" + name + "' section; it was not written by this trustrl");
  return it->second;
}

std::string SectionFile::get_text(const std::string& name) const {
  const auto& b = get(name);
  return {b.begin(), b.end()};
}

void SectionFile::write(const std::filesystem::path& path) const {
  ByteWriter w;
  for (char c : kMagic) w.put(c);
  w.put(kFormatVersion);
  w.put_string(kind_);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(sections_.size()));
  for (const auto& [name, bytes] : sections_) {
    w.put_string(name);
    w.put_vector(bytes);
    w.put(crc32c(bytes));
  }
  std::vector<std::uint8_t> all = w.take();
  const std::uint32_t total = crc32c(all);
  const auto* p = reinterpret_cast<const std::uint8_t*>(&total);
  all.insert(all.end(), p, p + 4);
  write_file_atomic(path, all);
}

SectionFile SectionFile::read(const std::filesystem::path& path, const std::string& kind) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error((kind.empty() ? "file" : kind + " file") + " '" + path.string() +
                "' does not exist");
  const std::vector<std::uint8_t> bytes = read_file(path);
  const std::string what = (kind.empty() ? "file" : kind + " file") + " '" + path.string() + "'";
  if (bytes.size() < sizeof(kMagic) + 8 ||
      !std::equal(kMagic, kMagic + sizeof(kMagic), bytes.begin()))
    throw Error(what + " is not a trustrl " + (kind.empty() ? "file" : kind) + " (wrong header)");
  std::uint32_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
  const std::span<const std::uint8_t> body(bytes.data(), bytes.size() - 4);
  if (crc32c(body) != stored) throw Error(what + " is truncated or corrupt (checksum mismatch)");
  ByteReader r(body, what);
  for (std::size_t i = 0; i < sizeof(kMagic); ++i) r.get<char>();
  const auto version = r.get<std::uint32_t>();
  if (version != kFormatVersion)
    throw Error(what + " has format version " + std::to_string(version) +
                "; this trustrl reads version " + std::to_string(kFormatVersion));
  SectionFile file(r.get_string());
  // Read as any kind: name the file by the kind it holds ("policy file", "checkpoint file").
  const bool known_kind = file.kind_ == "policy" || file.kind_ == "checkpoint";
  file.source_ = kind.empty() && known_kind ? file.kind_ + " file '" + path.string() + "'" : what;
  if (!kind.empty() && file.kind_ != kind)
    throw Error(what + " holds a " + file.kind_ + ", not a " + kind);
  const auto count = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string name = r.get_string();
    auto data = r.get_vector<std::uint8_t>();
    if (crc32c(data) != r.get<std::uint32_t>())
      throw Error(what + " is corrupt (section '" + name + "')");
    file.sections_[name] = std::move(data);
  }
  if (!r.at_end()) throw Error(what + " is corrupt (trailing bytes)");
  return file;
}

}  // namespace trustrl
