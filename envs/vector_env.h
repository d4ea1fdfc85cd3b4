#pragma once
// N copies of an env stepped as one batch into contiguous buffers, for 1..N agents: a plain Env
// is one agent (single_agent_adapter.h), so every buffer has an agent axis and a single-agent
// env's rows are laid out exactly as [N, ...] without it.
//
// Auto-reset happens in the same step (Gymnasium's "same-step" mode): when copy i's episode ends,
// its rows already hold the next episode's first observations, state and active mask, and the
// episode's last ones are kept apart in the final_* buffers with its flags, so a learner can
// bootstrap a truncated episode from V(final observation).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/balanced_ranges.h"
#include "core/bytes.h"
#include "core/config.h"
#include "core/thread_pool.h"
#include "envs/env.h"
#include "envs/multi_agent_env.h"

namespace trustrl::envs {

/// Joint actions for every copy: row (i, a) is agent a's action in copy i, max_action_dim values.
/// `discrete` ([N, A, max_action_dim] int64) when some agent has a discrete space, `continuous`
/// ([N, A, max_action_dim] float32) when some agent has a Box space. Inactive agents' rows hold
/// the sentinels of multi_agent_env.h (kNoDiscreteAction, kNoContinuousAction). For a
/// single-agent env this is [N, action_dim].
struct ActionBatch {
  std::span<const std::int64_t> discrete;
  std::span<const float> continuous;
};

/// What the last reset() or step() produced. Index i is copy i, a is agent a.
struct StepBuffers {
  int num_envs = 0;
  int num_agents = 0;
  /// Row width of observations: the spec's max_obs_dim.
  int obs_dim = 0;
  int state_dim = 0;
  /// [N, A, obs_dim] the observations to act on next (zero past each agent's own obs_dim).
  std::vector<float> observations;
  /// [N, state_dim] the global state that goes with `observations`.
  std::vector<float> states;
  /// [N, A] reward of each agent this step (0 for agents inactive before the step).
  std::vector<double> rewards;
  /// [N, A] 1 where the agent acts on the next step (goes with `observations`).
  std::vector<std::uint8_t> active;
  /// [N] 1 where the episode reached a terminal state this step.
  std::vector<std::uint8_t> terminated;
  /// [N] 1 where the episode was cut this step (time limit, or an external cut).
  std::vector<std::uint8_t> truncated;
  /// [N, A, obs_dim], [N, state_dim], [N, A]: row i holds the last observations, state and active
  /// mask of the episode that ended this step; other rows hold stale data. A learner bootstraps
  /// a truncated episode's agent a from these where final_active is 1.
  std::vector<float> final_observations;
  std::vector<float> final_states;
  std::vector<std::uint8_t> final_active;
  /// [N] team return (rewards summed over agents and steps), [N, A] each agent's return, [N]
  /// length, of the episode that ended this step (Gymnasium's RecordEpisodeStatistics); valid
  /// where terminated or truncated.
  std::vector<double> episode_returns;
  std::vector<double> agent_episode_returns;
  std::vector<std::int32_t> episode_lengths;

  void resize(int n, int agents, int obs, int state);
  bool done(int i) const {
    return terminated[static_cast<std::size_t>(i)] || truncated[static_cast<std::size_t>(i)];
  }
  /// Copy i's observation row of agent a (obs_dim values).
  std::span<const float> observation(int i, int a) const;
};

class VectorEnv {
 public:
  virtual ~VectorEnv() = default;

  virtual const MultiAgentSpec& spec() const = 0;
  /// The plain env's spec of a single-agent env (MultiAgentSpec::single_agent); throws Error
  /// naming the env when it is a multi-agent one.
  const EnvSpec& single_agent_spec() const;
  bool single_agent() const { return spec().single_agent.has_value(); }
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

  /// Episodes cut short by something outside the env (a remote simulator lost and reconnected),
  /// reported as truncated; 0 for local copies.
  virtual std::int64_t cut_episodes() const { return 0; }
  /// Steps of the copies ended by simulation instability (Env::unstable_steps), summed; 0 where
  /// the copies are out of reach (a remote simulator).
  virtual std::int64_t unstable_steps() const { return 0; }
  /// One line on how many threads step the copies and why (e.g. auto's choice), for train.log;
  /// empty while that is not settled yet, or where threads are not this vector env's to choose.
  virtual std::string threads_report() const { return {}; }
};

/// Copies in this process, stepped serially or on a thread pool. Results are identical for any
/// thread count: every copy owns its env and RNG, and threads only split the copies.
///
/// Plain envs are stepped directly, not through single_agent_adapter.h: with one agent and no
/// global state the adapter's bookkeeping (padding, active masks, per-agent returns) cost 25-29%
/// of a classic-control vector env's throughput (docs/BENCHMARKS.md). Buffers and snapshots match.
class LocalVectorEnv final : public VectorEnv {
 public:
  /// `num_threads` value that lets the vector env choose: it steps the first kProbeSteps batches
  /// on the caller's thread, timing them, and then takes as many threads (up to the cores and
  /// the copies) as give each thread at least kMinThreadShare of a batch's work. A hand-off to
  /// a spinning worker costs 2-5 us (measured: docs/BENCHMARKS.md), so an 8 us share already
  /// gains; a worker that is late (parked, or its core busy) loses its copies to the caller, who
  /// never waits for it, so a late hand-off costs little more than stepping alone.
  static constexpr int kAutoThreads = 0;
  static constexpr int kProbeSteps = 16;
  static constexpr std::chrono::microseconds kMinThreadShare{8};

  /// `num_threads` includes the caller; 1 steps serially, kAutoThreads chooses. The copies must
  /// share one spec.
  LocalVectorEnv(std::vector<std::unique_ptr<MultiAgentEnv>> envs, int num_threads);
  /// Plain envs, each seen as one agent.
  LocalVectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads);
  /// Makes `num_envs` copies of a registered env (a plain one as one agent).
  static std::unique_ptr<LocalVectorEnv> make(const std::string& id, const OptionMap& options,
                                              int num_envs, int num_threads);

  const MultiAgentSpec& spec() const override { return spec_; }
  int num_envs() const override { return static_cast<int>(copies()); }
  void reset(std::uint64_t seed) override;
  void step(const ActionBatch& actions) override;
  const StepBuffers& buffers() const override { return buffers_; }

  bool can_snapshot() const override;
  void save(ByteWriter& out) const override;
  void load(ByteReader& in) override;
  Frame render(int i) const override;
  std::int64_t unstable_steps() const override;
  std::string threads_report() const override;

  /// Threads stepping the copies now (1 while kAutoThreads is still timing the first steps).
  int num_threads() const { return pool_->num_threads(); }
  /// False while kAutoThreads has not chosen yet.
  bool threads_chosen() const { return !probing_; }

  /// Copy i of a multi-agent env; throws Error for plain copies (see plain_env()).
  MultiAgentEnv& env(int i);
  /// Copy i of a plain env; throws Error for multi-agent copies.
  Env& plain_env(int i);

 private:
  std::size_t copies() const { return plain_.empty() ? envs_.size() : plain_.size(); }
  void init_buffers(int num_threads);
  MultiAgentView view(std::size_t i);
  void check_actions(const ActionBatch& actions) const;
  void step_range(std::size_t begin, std::size_t end, const ActionBatch& actions);
  void step_plain_range(std::size_t begin, std::size_t end, const ActionBatch& actions);
  void set_threads(int threads);
  // Calls body(begin, end) on blocks of copies that together cover each copy once.
  void for_each_chunk(const std::function<void(std::size_t, std::size_t)>& body);
  // Records one serially stepped batch's time and chooses the thread count after kProbeSteps.
  void probe(std::int64_t batch_ns);

  // Exactly one of the two holds the copies.
  std::vector<std::unique_ptr<MultiAgentEnv>> envs_;
  std::vector<std::unique_ptr<Env>> plain_;
  MultiAgentSpec spec_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<BalancedRanges> ranges_;  // the pool's split of the copies
  bool probing_ = false;                    // kAutoThreads has not chosen yet
  int max_threads_ = 1;                     // the most threads kAutoThreads may choose
  std::vector<std::int64_t> probe_ns_;      // the probed batches' times
  std::int64_t probed_median_ns_ = -1;      // auto's measure, once it chose
  StepBuffers buffers_;
  std::vector<double> running_agent_returns_;  // [N, A]
  std::vector<std::int32_t> running_lengths_;  // [N]
};

}  // namespace trustrl::envs
