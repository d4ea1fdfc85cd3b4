// Env pictures: every classic-control env draws a frame of its documented size that follows its
// state, oriented as Gymnasium's; every registered env that can render does so.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "core/error.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

using Rgb = std::tuple<int, int, int>;

Rgb pixel(const Frame& f, int x, int y) {
  const std::size_t i = (static_cast<std::size_t>(y) * f.width + x) * 3;
  return {f.rgb[i], f.rgb[i + 1], f.rgb[i + 2]};
}

// Pixels that differ from the top-left corner, which every env leaves as background.
int non_background(const Frame& f) {
  const Rgb background = pixel(f, 0, 0);
  int n = 0;
  for (int y = 0; y < f.height; ++y)
    for (int x = 0; x < f.width; ++x) n += pixel(f, x, y) != background;
  return n;
}

// The mean position (x right, y down) of the pixels of exactly `color` whose four neighbours have
// it too (so that anti-aliased edges of other shapes that happen to match are left out); NaN if
// none.
std::pair<double, double> centroid(const Frame& f, Rgb color) {
  double sx = 0, sy = 0;
  int n = 0;
  for (int y = 1; y + 1 < f.height; ++y)
    for (int x = 1; x + 1 < f.width; ++x)
      if (pixel(f, x, y) == color && pixel(f, x - 1, y) == color && pixel(f, x + 1, y) == color &&
          pixel(f, x, y - 1) == color && pixel(f, x, y + 1) == color)
        sx += x, sy += y, ++n;
  if (n == 0) return {NAN, NAN};
  return {sx / n, sy / n};
}

void expect_well_formed(const Frame& f, const std::string& id) {
  ASSERT_GT(f.width, 0) << id;
  ASSERT_GT(f.height, 0) << id;
  ASSERT_EQ(f.rgb.size(), static_cast<std::size_t>(f.width) * f.height * 3) << id;
  EXPECT_GT(non_background(f), 100) << id << " draws an almost blank frame";
}

struct Case {
  std::string id;
  int width, height;
  std::vector<double> state_a, state_b;
};

const std::vector<Case>& classic_cases() {
  static const std::vector<Case> cases = {
      {"CartPole-v1", 600, 400, {0.0, 0.0, 0.05, 0.0}, {1.0, 0.0, -0.15, 0.0}},
      {"Acrobot-v1", 500, 500, {0.0, 0.0, 0.0, 0.0}, {1.0, -0.5, 0.0, 0.0}},
      {"MountainCar-v0", 600, 400, {-0.5, 0.0}, {0.3, 0.0}},
      {"MountainCarContinuous-v0", 600, 400, {-0.5, 0.0}, {0.3, 0.0}},
      {"Pendulum-v1", 500, 500, {0.0, 0.0, NAN}, {2.0, 0.0, 1.5}},
  };
  return cases;
}

Frame render_state(const std::string& id, const std::vector<double>& state) {
  auto env = make(id);
  std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
  env->reset(0, obs);
  env->set_state(state, obs);
  return env->render();
}

TEST(Render, ClassicFramesHaveTheDocumentedSizeAndContent) {
  for (const Case& c : classic_cases()) {
    auto env = make(c.id);
    std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
    env->reset(7, obs);
    const Frame f = env->render();
    EXPECT_EQ(f.width, c.width) << c.id;
    EXPECT_EQ(f.height, c.height) << c.id;
    expect_well_formed(f, c.id);
    EXPECT_EQ(pixel(f, 0, 0), Rgb(255, 255, 255)) << c.id << ": Gymnasium's backgrounds are white";
  }
}

TEST(Render, ClassicFramesFollowTheState) {
  for (const Case& c : classic_cases()) {
    const Frame a = render_state(c.id, c.state_a);
    const Frame b = render_state(c.id, c.state_b);
    const Frame a_again = render_state(c.id, c.state_a);
    EXPECT_NE(a.rgb, b.rgb) << c.id << ": two states, one picture";
    EXPECT_EQ(a.rgb, a_again.rgb) << c.id << ": one state, two pictures";
  }
}

TEST(Render, RenderingDoesNotDisturbTheEpisode) {
  auto a = make("CartPole-v1"), b = make("CartPole-v1");
  std::vector<float> oa(4), ob(4);
  a->reset(3, oa);
  b->reset(3, ob);
  std::vector<std::int64_t> action{1};
  for (int t = 0; t < 5; ++t) {
    (void)a->render();
    a->step({action, {}}, oa);
    b->step({action, {}}, ob);
  }
  EXPECT_EQ(oa, ob);
}

TEST(Render, CartPoleLeansTheWayThetaSays) {
  constexpr Rgb kPole{202, 152, 101};
  const auto upright = centroid(render_state("CartPole-v1", {0, 0, 0, 0}), kPole);
  const auto right = centroid(render_state("CartPole-v1", {0, 0, 0.2, 0}), kPole);
  EXPECT_NEAR(upright.first, 300, 1.0);        // centred cart at x = 0
  EXPECT_LT(upright.second, 400 - 100);        // the pole stands above the track (row 299)
  EXPECT_GT(right.first, upright.first + 10);  // theta > 0 leans right
  // The cart moves with x: 1 m is 125 px.
  constexpr Rgb kAxle{129, 132, 203};
  const auto moved = centroid(render_state("CartPole-v1", {1.0, 0, 0, 0}), kAxle);
  EXPECT_NEAR(moved.first, 300 + 125, 1.0);
}

TEST(Render, AcrobotHangsDownAtRest) {
  constexpr Rgb kLink{0, 204, 204};
  const auto down = centroid(render_state("Acrobot-v1", {0, 0, 0, 0}), kLink);
  EXPECT_NEAR(down.first, 250, 1.0);
  EXPECT_GT(down.second, 250 + 50);  // below the pivot (rows grow downwards)
  const auto up = centroid(render_state("Acrobot-v1", {3.14159265358979, 0, 0, 0}), kLink);
  EXPECT_LT(up.second, 250 - 50);
}

TEST(Render, PendulumPointsUpAtZeroAndShowsTheTorque) {
  constexpr Rgb kRod{204, 77, 77};
  const auto up = centroid(render_state("Pendulum-v1", {0, 0, NAN}), kRod);
  EXPECT_NEAR(up.first, 250, 1.0);
  EXPECT_LT(up.second, 250 - 30);
  // theta = pi/2 turns the rod counter-clockwise, to the left.
  const auto left = centroid(render_state("Pendulum-v1", {1.5707963, 0, NAN}), kRod);
  EXPECT_LT(left.first, 250 - 30);
  // The torque arrow: absent before the first step, mirrored between signs, larger with |u|.
  const Frame none = render_state("Pendulum-v1", {0, 0, NAN});
  const Frame pos = render_state("Pendulum-v1", {0, 0, 2.0});
  const Frame neg = render_state("Pendulum-v1", {0, 0, -2.0});
  const Frame small = render_state("Pendulum-v1", {0, 0, 0.5});
  EXPECT_GT(non_background(pos), non_background(none) + 200);
  EXPECT_GT(non_background(pos), non_background(small));
  EXPECT_NE(pos.rgb, neg.rgb);
  // With the rod straight up the picture of -u is the mirror image of that of +u (up to how
  // anti-aliasing samples edges).
  int mismatched = 0;
  for (int y = 0; y < 500; ++y)
    for (int x = 0; x < 500; ++x) {
      const auto [r1, g1, b1] = pixel(pos, x, y);
      const auto [r2, g2, b2] = pixel(neg, 499 - x, y);
      mismatched += std::abs(r1 - r2) + std::abs(g1 - g2) + std::abs(b1 - b2) > 96;
    }
  EXPECT_LT(mismatched, 50);
}

TEST(Render, MountainCarSitsOnTheHill) {
  // The car (black) and its wheels (grey): the wheels' centre tracks the position, 333 px/unit.
  constexpr Rgb kWheel{128, 128, 128};
  const auto low = centroid(render_state("MountainCar-v0", {-0.5, 0}), kWheel);
  const auto high = centroid(render_state("MountainCar-v0", {0.4, 0}), kWheel);
  EXPECT_NEAR(low.first, (-0.5 + 1.2) * 600 / 1.8, 3.0);
  EXPECT_NEAR(high.first, (0.4 + 1.2) * 600 / 1.8, 3.0);
  EXPECT_LT(high.second, low.second - 50);  // higher up the right-hand slope
  // The flag marks a different goal in the two cars.
  EXPECT_NE(render_state("MountainCar-v0", {-0.5, 0}).rgb,
            render_state("MountainCarContinuous-v0", {-0.5, 0}).rgb);
}

TEST(Render, EveryRegisteredEnvThatRendersDrawsAFrame) {
  int rendered = 0;
  for (const std::string& id : EnvRegistry::global().ids()) {
    auto env = make(id);
    std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
    env->reset(0, obs);
    Frame f;
    try {
      f = env->render();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot render itself"), std::string::npos)
          << id << ": " << e.what();
      continue;
    }
    expect_well_formed(f, id);
    ++rendered;
  }
  EXPECT_GE(rendered, static_cast<int>(classic_cases().size()));
}

}  // namespace
}  // namespace trustrl::envs
