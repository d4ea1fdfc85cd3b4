#pragma once
// A run directory: config.yaml (resolved), metrics.csv, train.log, TensorBoard events,
// checkpoints/ (written atomically), policy.trustrl (what eval and export need; older runs
// named it policy.pt, which is still read).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace trustrl {

class RunDir {
 public:
  /// Makes a new run directory. Throws Error if `path` already holds a run (config.yaml), so a
  /// run is never overwritten; an empty existing directory is fine.
  static RunDir create(const std::filesystem::path& path);
  /// Opens an existing run; throws Error if `path` is missing or is not a run directory.
  static RunDir open(const std::filesystem::path& path);
  /// `runs/<name>-<YYYYmmdd-HHMMSS>` under the current directory.
  static std::filesystem::path default_path(const std::string& name);

  RunDir(RunDir&&) noexcept;
  RunDir& operator=(RunDir&&) noexcept;
  ~RunDir();

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_path() const { return root_ / "config.yaml"; }
  std::filesystem::path metrics_path() const { return root_ / "metrics.csv"; }
  std::filesystem::path log_path() const { return root_ / "train.log"; }
  /// Where the run writes its policy (a trustrl section file, core/section_file.h).
  std::filesystem::path policy_path() const { return root_ / "policy.trustrl"; }
  /// The name older runs gave it; it is no PyTorch file, whatever ".pt" says.
  std::filesystem::path legacy_policy_path() const { return root_ / "policy.pt"; }
  /// The policy to read: policy.trustrl, else an older run's policy.pt; none if neither exists.
  std::optional<std::filesystem::path> saved_policy() const;
  std::filesystem::path checkpoints_dir() const { return root_ / "checkpoints"; }
  std::filesystem::path checkpoint_path(std::int64_t update) const;

  /// Checkpoints present, oldest first, by update number.
  std::vector<std::filesystem::path> checkpoints() const;
  /// Deletes all but the newest `keep` checkpoints.
  void prune_checkpoints(int keep) const;
  /// Deletes the temporaries (`.NAME.tmp.PID`) that writes interrupted by a kill leave in the run
  /// and its checkpoints/; returns their names. Call it holding the lock, so no write is live.
  std::vector<std::string> remove_stale_temporaries() const;
  /// Renames a checkpoint that a resume skipped to `NAME.skipped`, so it is neither read nor
  /// counted again but stays for inspection; returns the new path.
  std::filesystem::path set_aside(const std::filesystem::path& checkpoint) const;

  /// Takes an exclusive lock so that two processes never write one run; throws Error naming
  /// the directory if another process holds it.
  void lock();

 private:
  explicit RunDir(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
  int lock_fd_ = -1;
};

}  // namespace trustrl
