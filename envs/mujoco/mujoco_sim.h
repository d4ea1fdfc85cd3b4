#pragma once
// A MuJoCo model and its simulation data, the part of Gymnasium's mujoco_env.py that the
// locomotion envs share: load an MJCF, set qpos/qvel, step with a frame skip, notice instability.
// MuJoCo 2.2.2 (Debian 12's libmujoco-dev); Gymnasium 1.x runs MuJoCo 3.x (docs/MUJOCO.md).

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct mjModel_;
struct mjData_;

namespace trustrl::envs {

class MujocoSim {
 public:
  /// Loads an MJCF file. Throws Error "<path>: <MuJoCo's message>" if it is missing or broken.
  static MujocoSim from_file(const std::string& path);
  /// Loads MJCF text through MuJoCo's virtual file system; `name` stands for the file in errors.
  static MujocoSim from_xml(const std::string& name, std::string_view xml);

  MujocoSim(MujocoSim&&) noexcept;
  MujocoSim& operator=(MujocoSim&&) noexcept;
  ~MujocoSim();

  int nq() const;
  int nv() const;
  int nu() const;
  /// The model's time step (s); one env step lasts timestep() * frame_skip.
  double timestep() const;
  /// The control range of actuator i (the model's ctrlrange, or +-inf if not ctrllimited).
  std::pair<double, double> ctrl_range(int i) const;

  std::span<const double> qpos() const;
  std::span<const double> qvel() const;
  /// The model's qpos0 (Gymnasium's init_qpos); init_qvel is all zeros.
  std::span<const double> init_qpos() const;

  /// Bodies, the world (body 0) included.
  int nbody() const;
  /// The id of the body named `name`, or -1 if the model has none.
  int body_id(const std::string& name) const;
  /// Body masses (nbody), the world's 0.
  std::span<const double> body_mass() const;
  // What MuJoCo computed in the last mj_forward (the last frame's, before its integration, after a
  // step; Gymnasium reads the same arrays) and, for cfrc_ext, in the step's mj_rnePostConstraint.
  /// Body frame positions (nbody x 3).
  std::span<const double> xpos() const;
  /// Body centres of mass (nbody x 3).
  std::span<const double> xipos() const;
  /// Centre-of-mass-based body inertia and mass (nbody x 10).
  std::span<const double> cinert() const;
  /// Centre-of-mass-based body velocity, rotation then translation (nbody x 6).
  std::span<const double> cvel() const;
  /// Actuator force in joint space (nv).
  std::span<const double> qfrc_actuator() const;
  /// Centre-of-mass-based external force on each body, torque then force (nbody x 6); zero after
  /// reset() and set_qpos_qvel() keeps the last step's, as in Gymnasium.
  std::span<const double> cfrc_ext() const;

  /// mj_resetData: the model's initial state, warnings and warm start cleared.
  void reset();
  /// Gymnasium's MujocoEnv.set_state: writes qpos (nq) and qvel (nv), then mj_forward. qpos stays
  /// as given, quaternions unnormalized (MuJoCo 3.2's behaviour; 2.2.2's mj_forward would
  /// normalize them in place); the next step normalizes them.
  void set_qpos_qvel(std::span<const double> qpos, std::span<const double> qvel);
  /// Sets ctrl (MuJoCo clamps it to ctrlrange), runs mj_step `frame_skip` times and then
  /// mj_rnePostConstraint, as Gymnasium's do_simulation does. Returns false if MuJoCo raised a
  /// simulation warning during these steps (a bad qpos, qvel or qacc: NaN or above 1e10, after
  /// which MuJoCo resets the data itself; singular inertia; a full contact or constraint list) or
  /// left a non-finite qpos or qvel.
  bool step(std::span<const float> ctrl, int frame_skip);

  /// Everything a step depends on: [qpos (nq), qvel (nv), qacc_warmstart (nv)]. The solver's warm
  /// start is included because the next step's contact forces depend on it.
  std::vector<double> state() const;
  /// Takes state() back, or [qpos, qvel] (warm start cleared), then mj_forward.
  void set_state(std::span<const double> state);

 private:
  struct ModelDeleter {
    void operator()(mjModel_* m) const;
  };
  struct DataDeleter {
    void operator()(mjData_* d) const;
  };
  MujocoSim(mjModel_* model, std::string name);

  std::string name_;
  std::unique_ptr<mjModel_, ModelDeleter> model_;
  std::unique_ptr<mjData_, DataDeleter> data_;
};

}  // namespace trustrl::envs
