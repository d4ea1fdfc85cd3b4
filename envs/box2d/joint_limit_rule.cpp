#include "envs/box2d/joint_limit_rule.h"

#include <box2d/box2d.h>

#include "core/error.h"

namespace trustrl::envs {

JointLimitRule read_joint_limit_rule(EnvOptions& options, const std::string& env_id) {
  const std::string rule = options.text("joint_limits", "box2d_2.4");
  if (rule == "box2d_2.4") return JointLimitRule::kBox2D24;
  if (rule == "box2d_2.3") return JointLimitRule::kBox2D23;
  throw Error(env_id + ": option 'joint_limits' must be box2d_2.4 or box2d_2.3, got '" + rule +
              "'");
}

void apply_joint_limit_rule(b2RevoluteJoint& joint, JointLimitRule rule) {
  if (rule == JointLimitRule::kBox2D24) return;
  // Box2D 2.3's limit state, from the angle at the start of the step (b2RevoluteJoint.cpp,
  // InitVelocityConstraints). EnableLimit zeroes the limit impulses when the flag changes, as
  // 2.3 zeroes its limit impulse when the state changes.
  const float angle = joint.GetJointAngle();
  joint.EnableLimit(angle <= joint.GetLowerLimit() || angle >= joint.GetUpperLimit());
}

}  // namespace trustrl::envs
