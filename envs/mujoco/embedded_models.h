#pragma once
// The MJCF files of envs/mujoco/assets/, compiled into the library so that a run never depends on
// where the XML was installed (MujocoSim::from_xml loads them through MuJoCo's VFS).

#include <string>
#include <string_view>

namespace trustrl::envs {

/// The text of a built-in model by file name ("hopper.xml"); throws Error for an unknown name.
std::string_view embedded_model(const std::string& file);

}  // namespace trustrl::envs
