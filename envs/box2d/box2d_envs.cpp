#include "envs/box2d/box2d_envs.h"

#include "envs/box2d/bipedal_walker.h"
#include "envs/box2d/lunar_lander.h"
#include "envs/box2d/multiwalker.h"

namespace trustrl::envs {

void register_box2d(EnvRegistry& registry) {
  registry.add({"LunarLander-v3", "land a rocket on a pad (discrete, 4 actions; Box2D)",
                [](EnvOptions& o) -> std::unique_ptr<Env> {
                  return std::make_unique<LunarLander>(o, false);
                }});
  registry.add({"LunarLanderContinuous-v3", "land a rocket on a pad (continuous throttles; Box2D)",
                [](EnvOptions& o) -> std::unique_ptr<Env> {
                  return std::make_unique<LunarLander>(o, true);
                }});
  registry.add({"BipedalWalker-v3", "walk a two-legged robot over bumpy grass (continuous; Box2D)",
                [](EnvOptions& o) -> std::unique_ptr<Env> {
                  return std::make_unique<BipedalWalker>(o, false);
                }});
  registry.add({"BipedalWalkerHardcore-v3", "walk over stumps, stairs and pits (continuous; Box2D)",
                [](EnvOptions& o) -> std::unique_ptr<Env> {
                  return std::make_unique<BipedalWalker>(o, true);
                }});
}

void register_box2d_multi_agent(EnvRegistry& registry) {
  registry.add({"multiwalker_v9",
                "PettingZoo SISL: N bipedal walkers carry a package (continuous; Box2D; options: "
                "n_walkers, position_noise, angle_noise, forward_reward, terminate_reward, "
                "fall_reward, shared_reward, terminate_on_fall, remove_on_fall, terrain_length, "
                "max_cycles)",
                {},
                [](EnvOptions& o) -> std::unique_ptr<MultiAgentEnv> {
                  return std::make_unique<MultiWalker>(o);
                }});
}

}  // namespace trustrl::envs
