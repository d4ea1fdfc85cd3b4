#pragma once
// Little-endian byte buffers for snapshots and checkpoints, with bounds-checked reads.

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace trustrl {

class ByteWriter {
 public:
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put(const T& value) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put_vector(std::span<const T> values) {
    put<std::uint64_t>(values.size());
    const auto* p = reinterpret_cast<const std::uint8_t*>(values.data());
    bytes_.insert(bytes_.end(), p, p + values.size_bytes());
  }
  template <class T>
  void put_vector(const std::vector<T>& values) {
    put_vector(std::span<const T>(values));
  }
  void put_string(const std::string& s) { put_vector(std::span<const char>(s.data(), s.size())); }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

/// Reads what a ByteWriter wrote. Running past the end throws Error naming `what`.
class ByteReader {
 public:
  ByteReader(std::span<const std::uint8_t> bytes, std::string what)
      : bytes_(bytes), what_(std::move(what)) {}

  template <class T>
  requires std::is_trivially_copyable_v<T> T get() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  template <class T>
  requires std::is_trivially_copyable_v<T> std::vector<T> get_vector() {
    const auto n = get<std::uint64_t>();
    if (n > (bytes_.size() - pos_) / sizeof(T)) truncated();
    std::vector<T> out(n);
    // An empty vector's data() may be null, and memcpy's pointers must not be, even for 0 bytes.
    if (n > 0) std::memcpy(out.data(), take(n * sizeof(T)), n * sizeof(T));
    return out;
  }
  std::string get_string() {
    auto v = get_vector<char>();
    return {v.begin(), v.end()};
  }
  bool at_end() const { return pos_ == bytes_.size(); }
  std::size_t remaining() const { return bytes_.size() - pos_; }

 private:
  const std::uint8_t* take(std::size_t n) {
    if (n > bytes_.size() - pos_) truncated();
    const auto* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[noreturn]] void truncated() const { throw Error(what_ + " is truncated or corrupt"); }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  std::string what_;
};

}  // namespace trustrl
