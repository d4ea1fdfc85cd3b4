// envs/mujoco/side_view: MuJoCo scenes drawn from their geoms, a side view following the torso.

#include "envs/mujoco/side_view.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "envs/mujoco/half_cheetah.h"
#include "envs/mujoco/hopper.h"
#include "envs/registry.h"
#include "tests/envs/mujoco_test_util.h"

namespace trustrl::envs {
namespace {

using Rgb = std::array<std::uint8_t, 3>;

Rgb pixel(const Frame& f, int x, int y) {
  const std::size_t i = 3 * (static_cast<std::size_t>(y) * static_cast<std::size_t>(f.width) +
                             static_cast<std::size_t>(x));
  return {f.rgb[i], f.rgb[i + 1], f.rgb[i + 2]};
}

// The pixel (column, row from the top) where the default view puts world (x, z) when the
// tracked body is at x = `centre`.
std::pair<int, int> to_pixel(double x, double z, double centre) {
  const SideView v;
  return {static_cast<int>(v.width / 2.0 + (x - centre) * v.pixels_per_metre),
          static_cast<int>(v.height - (z - v.bottom) * v.pixels_per_metre)};
}

// Hopper at x, standing at its initial height, other joints at rest.
Frame hopper_at(double x, double z = 1.25) {
  auto hopper = make_env<Hopper>("Hopper-v5");
  auto obs = obs_for(*hopper);
  hopper->reset(0, obs);
  hopper->set_state(qpos_qvel({x, z, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}), obs);
  return hopper->render();
}

TEST(SideView, HopperIsDrawnWhereItStandsWithTheFloorBelow) {
  const Frame f = hopper_at(0);
  ASSERT_EQ(f.width, 480);
  ASSERT_EQ(f.height, 480);
  ASSERT_EQ(f.rgb.size(), 480u * 480u * 3u);
  const Rgb sky = pixel(f, 5, 5);
  // The torso capsule (body 1) at (0, 1.25) and the foot near the floor are drawn; the air beside
  // the torso is sky; the bottom rows are floor.
  const auto [tx, ty] = to_pixel(0, 1.25, 0);
  EXPECT_NE(pixel(f, tx, ty), sky);
  const auto [ax, ay] = to_pixel(0.6, 1.25, 0);
  EXPECT_EQ(pixel(f, ax, ay), sky);
  const auto [fx, fy] = to_pixel(0, 0.06, 0);
  EXPECT_NE(pixel(f, fx, fy), sky);
  EXPECT_NE(pixel(f, 5, 475), sky);
  // Every body has its own colour: torso and thigh (its child, at z 0.825) differ.
  const auto [hx, hy] = to_pixel(0, 0.825, 0);
  EXPECT_NE(pixel(f, tx, ty), pixel(f, hx, hy));
}

TEST(SideView, TheViewFollowsTheTorsoAndTheFloorShowsTheMotion) {
  const Frame here = hopper_at(0), there = hopper_at(0.5);
  // The robot stays in the middle of the picture...
  const auto [tx, ty] = to_pixel(0, 1.25, 0);
  EXPECT_EQ(pixel(here, tx, ty), pixel(there, tx, ty));
  // ... while the floor's one-metre bands move under it.
  EXPECT_NE(here.rgb, there.rgb);
  // One state, one picture.
  EXPECT_EQ(hopper_at(0.5).rgb, there.rgb);
  // Lifted by 0.5 m, the torso is drawn 0.5 m' worth of pixels higher.
  const Frame lifted = hopper_at(0, 1.75);
  const auto [lx, ly] = to_pixel(0, 1.75, 0);
  EXPECT_EQ(ly, ty - static_cast<int>(0.5 * SideView{}.pixels_per_metre));
  EXPECT_EQ(pixel(lifted, lx, ly), pixel(here, tx, ty));
}

TEST(SideView, EveryMujocoEnvRendersAfterReset) {
  for (const std::string& id : EnvRegistry::global().ids(/*multi_agent=*/false)) {
    if (id.find("Hopper") == std::string::npos && id.find("Cheetah") == std::string::npos &&
        id.find("Walker2d") == std::string::npos && id.find("Ant") == std::string::npos &&
        id.find("Humanoid") == std::string::npos)
      continue;
    auto env = make(id);
    std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
    env->reset(3, obs);
    const Frame f = env->render();
    EXPECT_EQ(f.width, 480) << id;
    EXPECT_EQ(f.height, 480) << id;
    // Something besides sky and floor: the robot, in the middle third of the picture.
    const Rgb sky = pixel(f, 5, 5);
    int robot = 0;
    for (int y = 0; y < 480; y += 2)
      for (int x = 160; x < 320; x += 2) {
        const Rgb p = pixel(f, x, y);
        robot += p != sky && p != pixel(f, x, 479);
      }
    EXPECT_GT(robot, 50) << id;
  }
}

}  // namespace
}  // namespace trustrl::envs
