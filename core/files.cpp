#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

#include "core/error.h"

namespace trustrl {
namespace {

// 0, or the errno of the first failing write.
int write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

std::string retried(int err, const WriteRetry& retry) {
  return is_transient_error(err) && retry.attempts > 1
             ? " (still failing after " + std::to_string(retry.attempts) + " tries)"
             : "";
}

}  // namespace

bool is_transient_error(int err) {
  return err == ENOSPC || err == EDQUOT || err == EMFILE || err == ENFILE || err == EAGAIN ||
         err == ENOMEM || err == EINTR;
}

int retry_transient(const std::function<int()>& attempt, const WriteRetry& retry) {
  auto delay = retry.first_delay;
  for (int i = 1;; ++i) {
    const int err = attempt();
    if (err == 0 || !is_transient_error(err) || i >= retry.attempts) return err;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, retry.max_delay);
  }
}

void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                       const WriteRetry& retry) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const std::string tmp =
      (dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()))).string();
  std::string step;  // what failed, for the message
  // One attempt: the temporary written, synced, closed and renamed over `path`; any failure
  // removes the temporary, so a retry (or a give-up) leaves nothing behind.
  const int err = retry_transient(
      [&]() -> int {
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
          step = "create '" + tmp + "'";
          return errno;
        }
        int e = write_all(fd, bytes.data(), bytes.size());
        if (e != 0) step = "write '" + tmp + "'";
        if (e == 0 && ::fsync(fd) != 0) {
          e = errno;
          step = "sync '" + tmp + "'";
        }
        if (::close(fd) != 0 && e == 0) {
          e = errno;
          step = "close '" + tmp + "'";
        }
        if (e == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) {
          e = errno;
          step = "replace '" + path.string() + "'";
        }
        if (e != 0) ::unlink(tmp.c_str());
        return e;
      },
      retry);
  if (err != 0) throw Error("cannot " + step + ": " + std::strerror(err) + retried(err, retry));
  // The rename is durable once the directory is synced; a directory that cannot be synced
  // (EINVAL: some file systems) is no error.
  const int dir_err = retry_transient(
      [&]() -> int {
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) return errno;
        const int e = ::fsync(dfd) != 0 && errno != EINVAL ? errno : 0;
        ::close(dfd);
        return e;
      },
      retry);
  if (dir_err != 0)
    throw Error("cannot sync directory '" + dir.string() + "' after writing '" + path.string() +
                "': " + std::strerror(dir_err) + retried(dir_err, retry));
}

void write_file_atomic(const std::filesystem::path& path, const std::string& text,
                       const WriteRetry& retry) {
  write_file_atomic(path,
                    std::span<const std::uint8_t>(
                        reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
                    retry);
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const std::string name = "'" + path.string() + "'";
  int fd = -1;
  const int open_err = retry_transient([&]() -> int {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    return fd < 0 ? errno : 0;
  });
  if (open_err != 0) throw Error("cannot read " + name + ": " + std::strerror(open_err));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error("cannot read " + name + ": it is a directory, not a file");
  }
  std::vector<std::uint8_t> out;
  // Chunks, not the size stat reports: devices and FIFOs report none.
  std::array<std::uint8_t, 1 << 16> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw Error("cannot read " + name + ": " + std::strerror(err));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      throw Error(name + " is larger than " + std::to_string(max_bytes) +
                  " bytes, the most trustrl reads for it");
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  ::close(fd);
  return out;
}

std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const std::vector<std::uint8_t> bytes = read_file(path, max_bytes);
  return {bytes.begin(), bytes.end()};
}

std::uint32_t crc32c_reference(std::span<const std::uint8_t> bytes, std::uint32_t crc) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (const std::uint8_t b : bytes) crc = table[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

namespace {

// SSE 4.2's crc32 instruction computes CRC-32C itself, eight bytes at a time: checkpoints and
// metrics rows are checksummed as they are written, and the table above takes ~4 cycles a byte.
[[gnu::target("sse4.2")]] std::uint32_t crc32c_sse42(std::span<const std::uint8_t> bytes,
                                                     std::uint32_t crc) {
  std::uint64_t c = ~crc;
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = __builtin_ia32_crc32qi(c32, *p);
  return ~c32;
}

}  // namespace

std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc) {
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  return sse42 ? crc32c_sse42(bytes, crc) : crc32c_reference(bytes, crc);
}

}  // namespace trustrl
