#include "envs/mujoco/mujoco_sim.h"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "core/error.h"

namespace trustrl::envs {

namespace {

// MuJoCo prints a warning's first occurrence to stdout and MUJOCO_LOG.TXT in the working
// directory; the envs read d->warning themselves, so the print and the file are turned off.
void quiet_warning(const char*) {}

void install_quiet_warnings() {
  static const bool installed = [] {
    mju_user_warning = quiet_warning;
    return true;
  }();
  (void)installed;
}

// MuJoCo's parse errors span lines ("Error ...\nElement 'x', line 3"): one line for Error.
std::string one_line(const char* message) {
  std::string text(message);
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text.empty() ? "MuJoCo gave no reason" : text;
}

// Every simulation warning counts (bad qpos/qvel/qacc/ctrl, singular inertia, full contact or
// constraint lists); only the visual geom list, which no step uses, is left out.
// MuJoCo 2.2.2's XML loader keeps the last parsed model in a global (for mj_saveLastXML); loads
// are rare, so they are serialized here rather than relying on the library's own locking.
mjModel* load_xml(const char* file, const mjVFS* vfs, char* error, int error_size) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  return mj_loadXML(file, vfs, error, error_size);
}

int simulation_warnings(const mjData* d) {
  int count = 0;
  for (int i = 0; i < mjNWARNING; ++i)
    if (i != mjWARN_VGEOMFULL) count += d->warning[i].number;
  return count;
}

}  // namespace

void MujocoSim::ModelDeleter::operator()(mjModel* m) const { mj_deleteModel(m); }
void MujocoSim::DataDeleter::operator()(mjData* d) const { mj_deleteData(d); }

MujocoSim::MujocoSim(mjModel* model, std::string name)
    : name_(std::move(name)), model_(model), data_(mj_makeData(model)) {
  if (!data_) throw Error(name_ + ": MuJoCo could not allocate the simulation data");
  mj_forward(model_.get(), data_.get());
}

MujocoSim::MujocoSim(MujocoSim&&) noexcept = default;
MujocoSim& MujocoSim::operator=(MujocoSim&&) noexcept = default;
MujocoSim::~MujocoSim() = default;

MujocoSim MujocoSim::from_file(const std::string& path) {
  install_quiet_warnings();
  char error[1000] = "";
  mjModel* model = load_xml(path.c_str(), nullptr, error, sizeof error);
  if (model == nullptr) throw Error("MuJoCo model " + path + ": " + one_line(error));
  return MujocoSim(model, path);
}

MujocoSim MujocoSim::from_xml(const std::string& name, std::string_view xml) {
  install_quiet_warnings();
  // The VFS holds 2000 file slots of 1000-character names: too big for the stack.
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  // MuJoCo looks a file up in the VFS by its name without the directory.
  const std::string file = name.substr(name.find_last_of('/') + 1);
  if (file.empty() || file.size() >= mjMAXVFSNAME)
    throw Error("MuJoCo model '" + name + "': the name must be a file name under " +
                std::to_string(mjMAXVFSNAME) + " characters");
  if (mj_makeEmptyFileVFS(vfs.get(), file.c_str(), static_cast<int>(xml.size())) != 0)
    throw Error("MuJoCo model " + name + ": could not be placed in MuJoCo's virtual file system");
  const int index = mj_findFileVFS(vfs.get(), file.c_str());
  std::memcpy(vfs->filedata[index], xml.data(), xml.size());
  char error[1000] = "";
  mjModel* model = load_xml(file.c_str(), vfs.get(), error, sizeof error);
  mj_deleteVFS(vfs.get());
  if (model == nullptr) throw Error("MuJoCo model " + name + ": " + one_line(error));
  return MujocoSim(model, name);
}

int MujocoSim::nq() const { return model_->nq; }
int MujocoSim::nv() const { return model_->nv; }
int MujocoSim::nu() const { return model_->nu; }
double MujocoSim::timestep() const { return model_->opt.timestep; }

std::pair<double, double> MujocoSim::ctrl_range(int i) const {
  if (model_->actuator_ctrllimited[i] == 0)
    return {-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  return {model_->actuator_ctrlrange[2 * i], model_->actuator_ctrlrange[2 * i + 1]};
}

std::span<const double> MujocoSim::qpos() const {
  return {data_->qpos, static_cast<std::size_t>(model_->nq)};
}
std::span<const double> MujocoSim::qvel() const {
  return {data_->qvel, static_cast<std::size_t>(model_->nv)};
}
std::span<const double> MujocoSim::init_qpos() const {
  return {model_->qpos0, static_cast<std::size_t>(model_->nq)};
}

int MujocoSim::nbody() const { return model_->nbody; }

int MujocoSim::body_id(const std::string& name) const {
  return mj_name2id(model_.get(), mjOBJ_BODY, name.c_str());
}

std::span<const double> MujocoSim::body_mass() const {
  return {model_->body_mass, static_cast<std::size_t>(model_->nbody)};
}
std::span<const double> MujocoSim::xpos() const {
  return {data_->xpos, static_cast<std::size_t>(3 * model_->nbody)};
}
std::span<const double> MujocoSim::xipos() const {
  return {data_->xipos, static_cast<std::size_t>(3 * model_->nbody)};
}
std::span<const double> MujocoSim::cinert() const {
  return {data_->cinert, static_cast<std::size_t>(10 * model_->nbody)};
}
std::span<const double> MujocoSim::cvel() const {
  return {data_->cvel, static_cast<std::size_t>(6 * model_->nbody)};
}
std::span<const double> MujocoSim::qfrc_actuator() const {
  return {data_->qfrc_actuator, static_cast<std::size_t>(model_->nv)};
}
std::span<const double> MujocoSim::cfrc_ext() const {
  return {data_->cfrc_ext, static_cast<std::size_t>(6 * model_->nbody)};
}

void MujocoSim::reset() { mj_resetData(model_.get(), data_.get()); }

void MujocoSim::set_qpos_qvel(std::span<const double> qpos, std::span<const double> qvel) {
  std::copy(qpos.begin(), qpos.end(), data_->qpos);
  std::copy(qvel.begin(), qvel.end(), data_->qvel);
  mj_forward(model_.get(), data_.get());
  // MuJoCo 2.2.2's kinematics normalize free and ball joints' quaternions in qpos in place; since
  // 3.2.0 they are normalized where used and qpos is left as given (normalized by the next step),
  // which this restores. It also makes a saved state come back bit for bit: normalizing an already
  // normalized quaternion again can change its last bits, and the next step with them.
  std::copy(qpos.begin(), qpos.end(), data_->qpos);
}

bool MujocoSim::step(std::span<const float> ctrl, int frame_skip) {
  std::copy(ctrl.begin(), ctrl.end(), data_->ctrl);
  const int warnings_before = simulation_warnings(data_.get());
  for (int i = 0; i < frame_skip; ++i) mj_step(model_.get(), data_.get());
  // Force quantities such as cacc are only computed on demand since MuJoCo 2.0 (Gymnasium does
  // the same; openai/gym#1541).
  mj_rnePostConstraint(model_.get(), data_.get());
  if (simulation_warnings(data_.get()) != warnings_before) return false;
  const auto finite = [](double v) { return std::isfinite(v); };
  return std::all_of(qpos().begin(), qpos().end(), finite) &&
         std::all_of(qvel().begin(), qvel().end(), finite);
}

std::vector<double> MujocoSim::state() const {
  std::vector<double> out(qpos().begin(), qpos().end());
  out.insert(out.end(), qvel().begin(), qvel().end());
  out.insert(out.end(), data_->qacc_warmstart, data_->qacc_warmstart + model_->nv);
  return out;
}

void MujocoSim::set_state(std::span<const double> state) {
  const auto nq = static_cast<std::size_t>(model_->nq), nv = static_cast<std::size_t>(model_->nv);
  if (state.size() != nq + nv && state.size() != nq + 2 * nv)
    throw Error(name_ + ": a state is [qpos (" + std::to_string(nq) + "), qvel (" +
                std::to_string(nv) + ")] with the solver's warm start (" + std::to_string(nv) +
                ") optionally after them, got " + std::to_string(state.size()) + " values");
  for (double v : state)
    if (!std::isfinite(v)) throw Error(name_ + ": state values must be finite");
  std::fill(data_->qacc_warmstart, data_->qacc_warmstart + nv, 0.0);
  set_qpos_qvel(state.subspan(0, nq), state.subspan(nq, nv));
  // mj_forward leaves its own qacc as the warm start, so the saved one goes in after it.
  if (state.size() == nq + 2 * nv)
    std::copy(state.begin() + static_cast<std::ptrdiff_t>(nq + nv), state.end(),
              data_->qacc_warmstart);
}

}  // namespace trustrl::envs
