#include "core/append_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace trustrl {

AppendFile::AppendFile(std::filesystem::path path, Mode mode, WriteRetry retry)
    : path_(std::move(path)), retry_(retry) {
  const int flags =
      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (mode == Mode::kTruncate ? O_TRUNC : 0);
  const int err = retry_transient(
      [&]() -> int {
        fd_ = ::open(path_.c_str(), flags, 0644);
        return fd_ < 0 ? errno : 0;
      },
      retry_);
  if (err != 0) throw Error("cannot write '" + path_.string() + "': " + std::strerror(err));
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  size_ = end > 0 ? end : 0;
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(std::string_view record) {
  std::size_t done = 0;
  // A retry continues where the last partial write stopped.
  const int err = retry_transient(
      [&]() -> int {
        while (done < record.size()) {
          const ssize_t n = ::write(fd_, record.data() + done, record.size() - done);
          if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
          }
          done += static_cast<std::size_t>(n);
        }
        return 0;
      },
      retry_);
  if (err != 0) {
    // No half record stays behind for a reader (or a resume) to trip on.
    if (done > 0 && ::ftruncate(fd_, size_) != 0) {
      // A device (e.g. /dev/full) cannot be cut; nothing was kept there anyway.
    }
    throw Error("cannot write '" + path_.string() + "': " + std::strerror(err) +
                (is_transient_error(err)
                     ? " (still failing after " + std::to_string(retry_.attempts) + " tries)"
                     : ""));
  }
  size_ += static_cast<std::int64_t>(record.size());
}

void AppendFile::sync() {
  // EINVAL: the file is a device or pipe that cannot be synced, which is no loss.
  const int err = retry_transient(
      [&]() -> int { return ::fdatasync(fd_) != 0 && errno != EINVAL ? errno : 0; }, retry_);
  if (err != 0) throw Error("cannot sync '" + path_.string() + "': " + std::strerror(err));
}

}  // namespace trustrl
