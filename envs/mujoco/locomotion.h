#pragma once
// What the MuJoCo locomotion envs (Gymnasium 1.x mujoco/*_v5.py) share: the model option, the
// action space from the actuators' control ranges, the control cost, and the reward terms that
// Gymnasium returns in `info`.

#include <span>
#include <string>

#include "core/rng.h"
#include "envs/mujoco/mujoco_sim.h"
#include "envs/options.h"
#include "envs/space.h"

namespace trustrl::envs {

/// The last step's reward decomposition, named as in Gymnasium's info dict; reward_ctrl and
/// reward_contact are the negated costs. Zero after reset() and on a step ended by simulation
/// instability. The y and contact terms are the 3D robots' (Ant, Humanoid), zero for the others.
struct LocomotionInfo {
  double x_position = 0.0;
  double x_velocity = 0.0;
  double reward_forward = 0.0;
  double reward_ctrl = 0.0;
  double reward_survive = 0.0;
  double y_position = 0.0;
  double y_velocity = 0.0;
  double reward_contact = 0.0;
};

/// The env's model: the built-in `builtin_file`, or for a -v5 id (`version` 5) the MJCF file that
/// the xml_file option names (Gymnasium's -v4 ids have no xml_file argument). Throws Error naming
/// the file and MuJoCo's message.
MujocoSim load_locomotion_model(EnvOptions& options, const std::string& builtin_file, int version);
/// The frame_skip option of a -v5 id (>= 1), or `fallback` for a -v4 id, which has no such option.
int read_frame_skip(EnvOptions& options, int version, int fallback);
/// "<name>-v<version>" for version 4 or 5; throws Error for any other version.
std::string locomotion_id(const std::string& name, int version);
/// Box of the actuators' control ranges (Gymnasium's _set_action_space), float32.
Space locomotion_action_space(const MujocoSim& sim);
/// weight * sum(action^2) on the action as given (Gymnasium takes the cost before MuJoCo clamps).
double control_cost(std::span<const float> action, double weight);
/// How a reset perturbs the velocities: uniform in +-scale (Hopper, Walker2d, Humanoid) or
/// scale * N(0, 1) (HalfCheetah, Ant), as each env's reset_model draws them.
enum class VelocityNoise { kUniform, kNormal };
/// Gymnasium's reset_model: mj_resetData, then qpos0 + U(-scale, scale) per coordinate and zero
/// velocities plus `velocity_noise`, drawn from `rng` in that order (qpos first), set as the state.
void reset_with_noise(MujocoSim& sim, Rng& rng, double scale, VelocityNoise velocity_noise);
/// The healthy reward a step pays: while healthy, and with `terminate_when_unhealthy` on the
/// terminating step too for the -v4 ids (Gymnasium issue 526, fixed in -v5).
double survive_reward(bool healthy, int version, bool terminate_when_unhealthy,
                      double healthy_reward);
/// qpos (without x if `exclude_x`) then qvel, each velocity clipped to +-`velocity_clip`.
void write_locomotion_obs(const MujocoSim& sim, bool exclude_x, double velocity_clip,
                          std::span<float> obs);

}  // namespace trustrl::envs
