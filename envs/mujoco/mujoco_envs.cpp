#include "envs/mujoco/mujoco_envs.h"

#include "envs/mujoco/ant.h"
#include "envs/mujoco/half_cheetah.h"
#include "envs/mujoco/hopper.h"
#include "envs/mujoco/humanoid.h"
#include "envs/mujoco/walker2d.h"

namespace trustrl::envs {

void register_mujoco(EnvRegistry& registry) {
  registry.add({"Hopper-v5",
                "make a one-legged robot hop forward (continuous; MuJoCo; options as Gymnasium's, "
                "docs/MUJOCO.md)",
                [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Hopper>(o); }});
  registry.add(
      {"Hopper-v4",
       "Hopper-v5 with -v4's healthy reward on the terminating step, no frame_skip or "
       "xml_file (continuous; MuJoCo; docs/MUJOCO.md)",
       [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Hopper>(o, 4); }});
  registry.add(
      {"HalfCheetah-v4",
       "HalfCheetah-v5 without the frame_skip and xml_file options (continuous; MuJoCo; "
       "docs/MUJOCO.md)",
       [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<HalfCheetah>(o, 4); }});
  registry.add(
      {"HalfCheetah-v5",
       "make a two-legged planar cheetah run forward (continuous; MuJoCo; options as "
       "Gymnasium's, docs/MUJOCO.md)",
       [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<HalfCheetah>(o); }});
  registry.add(
      {"Walker2d-v5",
       "make a two-legged planar walker walk forward (continuous; MuJoCo; options as "
       "Gymnasium's, docs/MUJOCO.md)",
       [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Walker2d>(o); }});
  registry.add(
      {"Walker2d-v4",
       "Walker2d-v5 with -v4's right-foot friction 0.9, healthy reward on the terminating step, "
       "no frame_skip or xml_file (continuous; MuJoCo; docs/MUJOCO.md)",
       [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Walker2d>(o, 4); }});
  registry.add({"Ant-v5",
                "make a four-legged ant run forward (continuous; MuJoCo; options as Gymnasium's, "
                "docs/MUJOCO.md)",
                [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Ant>(o); }});
  registry.add({"Ant-v4",
                "Ant-v5 without contact forces in the observation or the reward unless "
                "use_contact_forces, healthy reward on the terminating step (continuous; MuJoCo; "
                "docs/MUJOCO.md)",
                [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Ant>(o, 4); }});
  registry.add(
      {"Humanoid-v5",
       "make a 3D humanoid walk forward without falling (continuous; MuJoCo; options as "
       "Gymnasium's, docs/MUJOCO.md)",
       [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Humanoid>(o); }});
  registry.add(
      {"Humanoid-v4",
       "Humanoid-v5 with the world's and the free joint's zeros in the observation, no contact "
       "cost, healthy reward on the terminating step (continuous; MuJoCo; docs/MUJOCO.md)",
       [](EnvOptions& o) -> std::unique_ptr<Env> { return std::make_unique<Humanoid>(o, 4); }});
}

}  // namespace trustrl::envs
