#pragma once
// The classic-control family: CartPole-v1, Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0,
// Pendulum-v1.

#include "envs/registry.h"

namespace trustrl::envs {

void register_classic_control(EnvRegistry& registry);

}  // namespace trustrl::envs
