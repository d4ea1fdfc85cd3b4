#pragma once
// The MPE family: registers simple_spread_v3 and simple_speaker_listener_v4.

#include "envs/registry.h"

namespace trustrl::envs {

void register_mpe(EnvRegistry& registry);

}  // namespace trustrl::envs
