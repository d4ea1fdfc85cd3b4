#include "envs/mujoco/hopper.h"

#include <limits>

namespace trustrl::envs {

namespace {

const PlanarWalkerModel& hopper_model() {
  // hopper_v5.py's defaults; both ids load hopper.xml.
  static const PlanarWalkerModel model{"Hopper",
                                       "hopper.xml",
                                       "hopper.xml",
                                       Hopper::kRewardThreshold,
                                       0.7,
                                       std::numeric_limits<double>::infinity(),
                                       -0.2,
                                       0.2,
                                       std::pair{-100.0, 100.0}};
  return model;
}

}  // namespace

Hopper::Hopper(EnvOptions& options, int version) : PlanarWalker(options, version, hopper_model()) {}

}  // namespace trustrl::envs
