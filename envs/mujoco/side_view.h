#pragma once
// A MuJoCo scene drawn without OpenGL: every geom projected onto the x-z plane (a side view from
// -y, the robots' sagittal plane) with an orthographic camera that follows a body along x, on the
// Cairo canvas the other envs draw with. Gymnasium renders the same scenes with MuJoCo's OpenGL
// renderer and a perspective tracking camera; the pictures show the same pose, not the same
// pixels (docs/MUJOCO.md, Rendering).

#include "envs/frame.h"
#include "envs/mujoco/mujoco_sim.h"

namespace trustrl::envs {

struct SideView {
  /// Gymnasium's MuJoCo default frame size.
  int width = 480;
  int height = 480;
  double pixels_per_metre = 160.0;
  /// The body whose x the view centres on (1: the robot's root body in every locomotion model).
  int track_body = 1;
  /// World z at the bottom edge.
  double bottom = -0.3;
};

/// The scene as MuJoCo's last mj_forward left it: the floor (planes) in bands one metre wide, so
/// that motion shows while the camera follows, then the other geoms, the farthest (largest y)
/// first and darker. Spheres, capsules, cylinders, ellipsoids and boxes are drawn; meshes and
/// height fields are not (no model here has them).
Frame render_side_view(const MujocoSim& sim, const SideView& view = {});

}  // namespace trustrl::envs
