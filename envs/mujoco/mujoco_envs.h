#pragma once
// The MuJoCo locomotion family: Hopper-v5, HalfCheetah-v5, Walker2d-v5, Ant-v5, Humanoid-v5 and
// their -v4 ids (Gymnasium 1.x, on MuJoCo 2.2.2; differences in docs/MUJOCO.md).

#include "envs/registry.h"

namespace trustrl::envs {

void register_mujoco(EnvRegistry& registry);

}  // namespace trustrl::envs
