#include "envs/mujoco/mujoco_envs.h"

#include "envs/mujoco/half_cheetah.h"
#include "envs/mujoco/hopper.h"

namespace trustrl::envs {

void register_mujoco(EnvRegistry& registry) {
  registry.add({"Hopper-v5",
                "make a one-legged robot hop forward (continuous; MuJoCo; options as Gymnasium's, "
                "docs/MUJOCO.md)",
                [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Hopper>(o); }});
  registry.add(
      {"HalfCheetah-v5",
       "make a two-legged planar cheetah run forward (continuous; MuJoCo; options as "
       "Gymnasium's, docs/MUJOCO.md)",
       [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<HalfCheetah>(o); }});
}

}  // namespace trustrl::envs
