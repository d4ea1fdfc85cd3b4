#include "envs/single_agent_adapter.h"

#include "core/error.h"

namespace trustrl::envs {

namespace {

class SingleAgentAdapter final : public MultiAgentEnv {
 public:
  explicit SingleAgentAdapter(std::unique_ptr<Env> env)
      : MultiAgentEnv(one_agent_spec(env->spec())), env_(std::move(env)) {
    // The wrapper's base counts steps and truncates (one_agent_spec copied the limit); a second
    // count inside would only be a second place for the limit to live.
    env_->set_time_limit(0);
  }

  std::vector<double> get_state() const override { return env_->get_state(); }
  bool can_snapshot() const override { return env_->can_snapshot(); }
  Frame render() const override { return env_->render(); }
  std::int64_t unstable_steps() const override { return env_->unstable_steps(); }

  // A one-agent snapshot is the plain env's own (Env::save), so a single-agent run's checkpoint
  // keeps its format. The wrapper's clock follows from it: the wrapped env counts the same
  // steps, and the wrapper's time limit, which the wrapped env does not see, may have ended the
  // episode.
  void save(ByteWriter& out) const override { env_->save(out); }
  void load(ByteReader& in, const MultiAgentView& out) override {
    env_->load(in, out.observations);
    const int limit = spec().max_episode_steps;
    const bool cut = limit > 0 && env_->elapsed_steps() >= limit;
    restore_episode(env_->elapsed_steps(), env_->needs_reset() || cut, out);
  }

 protected:
  void reset_impl(const MultiAgentView& out) override {
    // The seed goes to the wrapped env's own RNG, so a seeded reset draws exactly what the plain
    // env draws.
    env_->reset(reset_seed(), out.observations);
  }

  MultiAgentStepResult step_impl(const JointAction& action, const MultiAgentView& out,
                                 std::span<double> rewards) override {
    // MultiAgentEnv checked the action against the same space; a second check would only cost.
    const StepResult r = env_->step_checked({action.discrete, action.continuous}, out.observations);
    rewards[0] = r.reward;
    // An ended episode leaves the agent active: in a one-agent env the episode's flags say it.
    return {r.terminated, r.truncated};
  }

  void set_state_impl(std::span<const double> state, const MultiAgentView& out) override {
    env_->set_state(state, out.observations);
  }

 private:
  std::unique_ptr<Env> env_;
};

}  // namespace

MultiAgentSpec one_agent_spec(const EnvSpec& spec) {
  MultiAgentSpec s;
  s.id = spec.id;
  s.agent_names = {"agent_0"};
  s.observation_spaces = {spec.observation_space};
  s.action_spaces = {spec.action_space};
  s.max_episode_steps = spec.max_episode_steps;
  s.reward_threshold = spec.reward_threshold;
  s.render_fps = spec.render_fps;
  s.single_agent = spec;
  return s;
}

std::unique_ptr<MultiAgentEnv> as_multi_agent(std::unique_ptr<Env> env) {
  if (!env) throw Error("as_multi_agent: no env to wrap");
  return std::make_unique<SingleAgentAdapter>(std::move(env));
}

}  // namespace trustrl::envs
