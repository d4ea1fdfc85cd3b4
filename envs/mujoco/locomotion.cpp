#include "envs/mujoco/locomotion.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "envs/mujoco/embedded_models.h"

namespace trustrl::envs {

MujocoSim load_locomotion_model(EnvOptions& options, const std::string& builtin_file, int version) {
  const std::string file = version >= 5 ? options.text("xml_file", "") : "";
  if (file.empty()) return MujocoSim::from_xml(builtin_file, embedded_model(builtin_file));
  return MujocoSim::from_file(file);
}

int read_frame_skip(EnvOptions& options, int version, int fallback) {
  if (version < 5) return fallback;
  return static_cast<int>(options.integer("frame_skip", fallback, Bounds::at_least(1)));
}

std::string locomotion_id(const std::string& name, int version) {
  if (version != 4 && version != 5)
    throw Error(name + ": version " + std::to_string(version) + " is not built in (-v4, -v5)");
  return name + "-v" + std::to_string(version);
}

Space locomotion_action_space(const MujocoSim& sim) {
  std::vector<float> low, high;
  for (int i = 0; i < sim.nu(); ++i) {
    const auto [lo, hi] = sim.ctrl_range(i);
    low.push_back(static_cast<float>(lo));
    high.push_back(static_cast<float>(hi));
  }
  return Space::box(std::move(low), std::move(high));
}

double control_cost(std::span<const float> action, double weight) {
  double sum = 0.0;
  for (float a : action) sum += static_cast<double>(a) * a;
  return weight * sum;
}

void reset_with_noise(MujocoSim& sim, Rng& rng, double scale, VelocityNoise velocity_noise) {
  sim.reset();
  std::vector<double> qpos(sim.init_qpos().begin(), sim.init_qpos().end());
  std::vector<double> qvel(static_cast<std::size_t>(sim.nv()), 0.0);
  for (double& q : qpos) q += rng.uniform(-scale, scale);
  for (double& v : qvel)
    v += velocity_noise == VelocityNoise::kNormal ? scale * rng.normal()
                                                  : rng.uniform(-scale, scale);
  sim.set_qpos_qvel(qpos, qvel);
}

double survive_reward(bool healthy, int version, bool terminate_when_unhealthy,
                      double healthy_reward) {
  return healthy || (version < 5 && terminate_when_unhealthy) ? healthy_reward : 0.0;
}

void write_locomotion_obs(const MujocoSim& sim, bool exclude_x, double velocity_clip,
                          std::span<float> obs) {
  std::size_t k = 0;
  const auto qpos = sim.qpos();
  for (std::size_t i = exclude_x ? 1 : 0; i < qpos.size(); ++i)
    obs[k++] = static_cast<float>(qpos[i]);
  for (double v : sim.qvel())
    obs[k++] = static_cast<float>(std::clamp(v, -velocity_clip, velocity_clip));
}

}  // namespace trustrl::envs
