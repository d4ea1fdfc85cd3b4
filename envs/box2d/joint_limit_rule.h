#pragma once
// How revolute-joint limits act during a Box2D world step: Box2D 2.4's rule (the library trustrl
// links) or Box2D 2.3's (the one pybox2d bundles, so Gymnasium's and PettingZoo's).

#include <string>

#include "envs/options.h"

class b2RevoluteJoint;

namespace trustrl::envs {

enum class JointLimitRule {
  /// Box2D 2.4's: a limit is always on, solved speculatively, so a joint heading for its limit
  /// is stopped within the step that would carry it past.
  kBox2D24,
  /// Box2D 2.3's: a joint's limit is on for a step only if the joint starts that step at or past
  /// it (2.3's b2RevoluteJoint::InitVelocityConstraints decides the limit state once per step),
  /// so a joint inside its limits can overshoot them for a step. Emulated on 2.4 by switching the
  /// limit before each step (apply_joint_limit_rule).
  kBox2D23,
};

/// Reads option `joint_limits`: "box2d_2.4" (the default) or "box2d_2.3"; throws Error naming the
/// env and the value otherwise.
JointLimitRule read_joint_limit_rule(EnvOptions& options, const std::string& env_id);

/// Call before every b2World::Step for each revolute joint created with a limit: under kBox2D23
/// it switches the limit on only when the joint is at or past it (Box2D 2.3's test: angle <=
/// lower or angle >= upper); under kBox2D24 it leaves the limit as it is.
void apply_joint_limit_rule(b2RevoluteJoint& joint, JointLimitRule rule);

}  // namespace trustrl::envs
