// Every built-in env family registers here; EnvRegistry::global() calls this once.

#include "envs/box2d/box2d_envs.h"
#include "envs/classic/classic_control.h"
#include "envs/mpe/mpe.h"
#include "envs/mujoco/mujoco_envs.h"
#include "envs/registry.h"

namespace trustrl::envs {

void register_builtin_envs(EnvRegistry& registry) {
  register_classic_control(registry);
  register_box2d(registry);
  register_mujoco(registry);
  register_mpe(registry);
  register_box2d_multi_agent(registry);
  register_mujoco_multi_agent(registry);
}

}  // namespace trustrl::envs
