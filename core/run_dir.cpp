#include "core/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/error.h"

namespace trustrl {

namespace fs = std::filesystem;

namespace {
constexpr const char* kCheckpointPrefix = "ckpt-";
constexpr const char* kCheckpointSuffix = ".bin";

std::optional<std::int64_t> checkpoint_number(const fs::path& p) {
  const std::string name = p.filename().string();
  const std::string prefix = kCheckpointPrefix, suffix = kCheckpointSuffix;
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.substr(name.size() - suffix.size()) != suffix)
    return std::nullopt;
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(digits);
}
}  // namespace

RunDir RunDir::create(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path / "config.yaml", ec))
    throw Error("'" + path.string() +
                "' already holds a run; pick another --run-dir, or continue it with --resume");
  if (fs::exists(path, ec) && !fs::is_directory(path, ec))
    throw Error("'" + path.string() + "' exists and is not a directory");
  fs::create_directories(path / "checkpoints", ec);
  if (ec) throw Error("cannot create run directory '" + path.string() + "': " + ec.message());
  return RunDir(path);
}

RunDir RunDir::open(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("run directory '" + path.string() + "' does not exist");
  if (!fs::is_directory(path, ec)) throw Error("'" + path.string() + "' is not a directory");
  if (!fs::exists(path / "config.yaml", ec))
    throw Error("'" + path.string() + "' is not a trustrl run directory (it has no config.yaml)");
  fs::create_directories(path / "checkpoints", ec);
  return RunDir(path);
}

fs::path RunDir::default_path(const std::string& name) {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return fs::path("runs") / (name + "-" + stamp);
}

std::optional<fs::path> RunDir::saved_policy() const {
  std::error_code ec;
  // Whatever sits at the name is returned, so that reading a directory there says so.
  if (fs::exists(policy_path(), ec)) return policy_path();
  if (fs::exists(legacy_policy_path(), ec)) return legacy_policy_path();
  return std::nullopt;
}

RunDir::RunDir(RunDir&& other) noexcept : root_(std::move(other.root_)), lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

RunDir& RunDir::operator=(RunDir&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    root_ = std::move(other.root_);
    lock_fd_ = other.lock_fd_;
    other.lock_fd_ = -1;
  }
  return *this;
}

RunDir::~RunDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

fs::path RunDir::checkpoint_path(std::int64_t update) const {
  char name[64];
  std::snprintf(name, sizeof name, "%s%09lld%s", kCheckpointPrefix, static_cast<long long>(update),
                kCheckpointSuffix);
  return checkpoints_dir() / name;
}

std::vector<fs::path> RunDir::checkpoints() const {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(checkpoints_dir(), ec))
    if (auto n = checkpoint_number(entry.path())) found.emplace_back(*n, entry.path());
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [n, p] : found) out.push_back(std::move(p));
  return out;
}

void RunDir::prune_checkpoints(int keep) const {
  auto all = checkpoints();
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(keep, 1)) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i], ec);
  }
}

std::vector<std::string> RunDir::remove_stale_temporaries() const {
  std::vector<std::string> removed;
  for (const fs::path& dir : {root_, checkpoints_dir()}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      // write_file_atomic's temporaries: "." + name + ".tmp." + pid.
      const std::string name = entry.path().filename().string();
      const auto tmp = name.rfind(".tmp.");
      if (name.size() < 2 || name[0] != '.' || tmp == std::string::npos || tmp == 0 ||
          tmp + 5 == name.size() ||
          name.find_first_not_of("0123456789", tmp + 5) != std::string::npos ||
          !entry.is_regular_file(ec))
        continue;
      if (fs::remove(entry.path(), ec)) removed.push_back(name);
    }
  }
  std::sort(removed.begin(), removed.end());
  return removed;
}

fs::path RunDir::set_aside(const fs::path& checkpoint) const {
  fs::path target = checkpoint;
  target += ".skipped";
  std::error_code ec;
  fs::rename(checkpoint, target, ec);
  if (ec)
    throw Error("cannot rename '" + checkpoint.string() + "' to '" + target.string() +
                "': " + ec.message());
  return target;
}

void RunDir::lock() {
  if (lock_fd_ >= 0) return;
  const fs::path p = root_ / ".lock";
  lock_fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw Error("cannot open '" + p.string() + "'");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw Error("run directory '" + root_.string() + "' is in use by another trustrl process");
  }
}

}  // namespace trustrl
