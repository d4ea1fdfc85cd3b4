#include "agents/gae.h"

namespace trustrl::agents {

void compute_gae(const GaeInput& in, std::vector<float>& advantages, std::vector<float>& returns) {
  const std::int64_t T = in.steps, C = in.columns, A = in.agents;
  advantages.assign(static_cast<std::size_t>(T * C), 0.0f);
  returns.assign(static_cast<std::size_t>(T * C), 0.0f);
  for (std::int64_t c = 0; c < C; ++c) {
    const std::int64_t env = c / A;
    const std::int64_t envs = C / A;
    double next_advantage = 0.0;
    for (std::int64_t t = T - 1; t >= 0; --t) {
      const std::int64_t i = t * C + c;
      const bool terminated = in.terminated[t * envs + env] != 0;
      const bool truncated = in.truncated[t * envs + env] != 0;
      double next_value;
      if (terminated)
        next_value = 0.0;
      else if (truncated)
        next_value = in.final_values[i];
      else if (t == T - 1)
        next_value = in.bootstrap_values[c];
      else
        next_value = in.values[i + C];
      const double delta = in.rewards[i] + in.gamma * next_value - in.values[i];
      const bool episode_end = terminated || truncated;
      next_advantage = delta + (episode_end ? 0.0 : in.gamma * in.lambda * next_advantage);
      advantages[static_cast<std::size_t>(i)] = static_cast<float>(next_advantage);
      returns[static_cast<std::size_t>(i)] = static_cast<float>(next_advantage + in.values[i]);
    }
  }
}

}  // namespace trustrl::agents
