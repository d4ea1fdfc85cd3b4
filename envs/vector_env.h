#pragma once
// N copies of an env stepped as one batch into contiguous buffers.
//
// Auto-reset happens in the same step (Gymnasium's "same-step" mode): when copy i's episode ends,
// row i of `observations` already holds the first observation of its next episode, and the
// episode's last observation is kept apart in `final_observations` with its flags, so a learner
// can bootstrap a truncated episode from V(final observation).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/config.h"
#include "core/thread_pool.h"
#include "envs/env.h"

namespace trustrl::envs {

/// Actions for every copy, row i for copy i: `discrete` ([N, action_dim] int64) for
/// Discrete/MultiDiscrete spaces, `continuous` ([N, action_dim] float32) for Box spaces.
struct ActionBatch {
  std::span<const std::int64_t> discrete;
  std::span<const float> continuous;
};

/// What the last reset() or step() produced. Row i belongs to copy i.
struct StepBuffers {
  int num_envs = 0;
  int obs_dim = 0;
  /// [N, obs_dim] the observation to act on next (a new episode's first one after an end).
  std::vector<float> observations;
  /// [N] reward of this step.
  std::vector<double> rewards;
  /// [N] 1 where the episode reached a terminal state this step.
  std::vector<std::uint8_t> terminated;
  /// [N] 1 where the episode was cut this step (time limit, or an external cut).
  std::vector<std::uint8_t> truncated;
  /// [N, obs_dim] row i: the last observation of the episode that ended this step; other rows
  /// hold stale data.
  std::vector<float> final_observations;
  /// [N] undiscounted return and length of the episode that ended this step (Gymnasium's
  /// RecordEpisodeStatistics), valid where terminated or truncated.
  std::vector<double> episode_returns;
  std::vector<std::int32_t> episode_lengths;

  void resize(int n, int obs);
  bool done(int i) const { return terminated[i] || truncated[i]; }
};

class VectorEnv {
 public:
  virtual ~VectorEnv() = default;

  virtual const EnvSpec& spec() const = 0;
  virtual int num_envs() const = 0;
  /// Resets every copy; copy i is seeded with seed + i, as Gymnasium's vector envs do.
  virtual void reset(std::uint64_t seed) = 0;
  /// Steps every copy once; copies whose episode ends are reset in the same step.
  virtual void step(const ActionBatch& actions) = 0;
  /// The buffers filled by the last reset() or step().
  virtual const StepBuffers& buffers() const = 0;

  /// Whether save()/load() capture every copy exactly (for bit-exact resume).
  virtual bool can_snapshot() const { return false; }
  virtual void save(ByteWriter& out) const;
  virtual void load(ByteReader& in);

  /// A picture of copy i, if the env can draw itself.
  virtual Frame render(int i) const;

  /// Episodes cut by something outside the env (a remote simulator that went away), so far.
  virtual std::int64_t cut_episodes() const { return 0; }
};

/// Copies in this process, stepped serially or on a thread pool. Results are identical for any
/// thread count: every copy owns its env and RNG, and threads only split the rows.
class LocalVectorEnv final : public VectorEnv {
 public:
  /// `num_threads` includes the caller; 1 steps serially.
  LocalVectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads);
  /// Makes `num_envs` copies of a registered env.
  static std::unique_ptr<LocalVectorEnv> make(const std::string& id, const OptionMap& options,
                                              int num_envs, int num_threads);

  const EnvSpec& spec() const override { return envs_.front()->spec(); }
  int num_envs() const override { return static_cast<int>(envs_.size()); }
  void reset(std::uint64_t seed) override;
  void step(const ActionBatch& actions) override;
  const StepBuffers& buffers() const override { return buffers_; }

  bool can_snapshot() const override;
  void save(ByteWriter& out) const override;
  void load(ByteReader& in) override;
  Frame render(int i) const override { return envs_.at(static_cast<std::size_t>(i))->render(); }

  Env& env(int i) { return *envs_.at(static_cast<std::size_t>(i)); }

 private:
  void step_range(std::size_t begin, std::size_t end, const ActionBatch& actions);
  void for_each_chunk(const std::function<void(std::size_t, std::size_t)>& body);

  std::vector<std::unique_ptr<Env>> envs_;
  ThreadPool pool_;
  StepBuffers buffers_;
  std::vector<double> running_returns_;
  std::vector<std::int32_t> running_lengths_;
};

}  // namespace trustrl::envs
