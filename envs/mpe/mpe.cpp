#include "envs/mpe/mpe.h"

#include "envs/mpe/simple_speaker_listener.h"
#include "envs/mpe/simple_spread.h"

namespace trustrl::envs {

namespace {
template <class E>
MultiAgentEnvFactory factory() {
  return [](EnvOptions& options) -> std::unique_ptr<MultiAgentEnv> {
    return std::make_unique<E>(options);
  };
}
}  // namespace

void register_mpe(EnvRegistry& registry) {
  registry.add(
      {"simple_spread_v3",
       "MPE: N agents cover N landmarks without colliding (options: n, reward, "
       "local_ratio, landmark_range, continuous_actions, integration: pettingzoo | original_mpe)",
       {},
       factory<mpe::SimpleSpread>()});
  registry.add({"simple_speaker_listener_v4",
                "MPE: a speaker guides a listener to the goal landmark (options: reward, "
                "continuous_actions, integration: pettingzoo | original_mpe)",
                {},
                factory<mpe::SimpleSpeakerListener>()});
}

}  // namespace trustrl::envs
