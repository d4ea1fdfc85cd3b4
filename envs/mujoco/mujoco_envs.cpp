#include "envs/mujoco/mujoco_envs.h"

#include "envs/mujoco/ant.h"
#include "envs/mujoco/half_cheetah.h"
#include "envs/mujoco/hopper.h"
#include "envs/mujoco/humanoid.h"
#include "envs/mujoco/joint_graph.h"
#include "envs/mujoco/multi_agent_mujoco.h"
#include "envs/mujoco/walker2d.h"

namespace trustrl::envs {

namespace {

// Multi-Agent MuJoCo over the -v5 env E (MaMuJoCo v1 wraps Gymnasium's -v5 ids); the options not
// MaMuJoCo's own go to E, as MaMuJoCo passes its keyword arguments to gymnasium.make.
template <typename E>
MultiAgentEnvFactory mamujoco(const std::string& robot) {
  return [robot](EnvOptions& o) -> std::unique_ptr<MultiAgentEnv> {
    const JointGraph& graph = joint_graph(robot);
    auto env = std::make_unique<E>(o, 5);
    const MujocoSim& sim = env->sim();
    MultiAgentMujoco::Forces forces;
    // An env that keeps the forces it observes (Ant) is read, not MuJoCo's data underneath.
    if constexpr (requires { env->cfrc_ext(); }) forces = [e = env.get()] { return e->cfrc_ext(); };
    return std::make_unique<MultiAgentMujoco>(o, graph, std::move(env), sim, std::move(forces));
  };
}

}  // namespace

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

void register_mujoco_multi_agent(EnvRegistry& registry) {
  registry.add({"mamujoco_v1/HalfCheetah",
                "Multi-Agent MuJoCo: HalfCheetah-v5's joints split among agents (agent_conf 2x3 "
                "or 6x1, agent_obsk 1; shared reward; docs/MUJOCO.md)",
                {},
                mamujoco<HalfCheetah>("HalfCheetah")});
  registry.add({"mamujoco_v1/Hopper",
                "Multi-Agent MuJoCo: Hopper-v5's joints split among agents (agent_conf 3x1, "
                "agent_obsk 1; shared reward; docs/MUJOCO.md)",
                {},
                mamujoco<Hopper>("Hopper")});
  registry.add({"mamujoco_v1/Walker2d",
                "Multi-Agent MuJoCo: Walker2d-v5's legs as two agents (agent_conf 2x3, "
                "agent_obsk 1; shared reward; docs/MUJOCO.md)",
                {},
                mamujoco<Walker2d>("Walker2d")});
  registry.add({"mamujoco_v1/Ant",
                "Multi-Agent MuJoCo: Ant-v5's legs split among agents (agent_conf 2x4, 2x4d or "
                "4x2, agent_obsk 1; shared reward; docs/MUJOCO.md)",
                {},
                mamujoco<Ant>("Ant")});
}

}  // namespace trustrl::envs
