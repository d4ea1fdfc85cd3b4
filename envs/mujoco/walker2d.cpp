#include "envs/mujoco/walker2d.h"

namespace trustrl::envs {

namespace {

const PlanarWalkerModel& walker2d_model() {
  // walker2d_v5.py's defaults. -v5 loads walker2d_v5.xml (both feet at friction 1.9), -v4
  // walker2d.xml; Gymnasium registers Walker2d without a reward threshold.
  static const PlanarWalkerModel model{
      "Walker2d", "walker2d_v5.xml", "walker2d_v4.xml", std::nullopt, 0.8, 2.0, -1.0,
      1.0,        std::nullopt};
  return model;
}

}  // namespace

Walker2d::Walker2d(EnvOptions& options, int version)
    : PlanarWalker(options, version, walker2d_model()) {}

}  // namespace trustrl::envs
