// Env pictures: every classic-control, Box2D and MPE env draws a frame of its documented size that
// follows its state, oriented as Gymnasium's (PettingZoo's); every registered env, single- or
// multi-agent, that can render does so.

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
  for (const std::string& id : EnvRegistry::global().ids(/*multi_agent=*/false)) {
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
  EXPECT_GE(rendered, static_cast<int>(classic_cases().size()) + 4);  // + the Box2D envs
}

// --- Box2D -----------------------------------------------------------------------------------

int count(const Frame& f, Rgb color) {
  int n = 0;
  for (int y = 0; y < f.height; ++y)
    for (int x = 0; x < f.width; ++x) n += pixel(f, x, y) == color;
  return n;
}

// A fresh env reset with seed 0 and put in `state` ([x, y, angle, vx, vy, angular_velocity] of
// the main body), then drawn.
Frame box2d_frame(const std::string& id, const std::vector<double>& state) {
  auto env = make(id);
  std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
  env->reset(0, obs);
  env->set_state(state, obs);
  return env->render();
}

TEST(Render, Box2DFramesHaveGymnasiumsSizeAndFollowTheState) {
  const std::vector<Case> cases = {
      {"LunarLander-v3", 600, 400, {10, 11, 0, 0, 0, 0}, {6, 9, 0.5, 0, 0, 0}},
      {"LunarLanderContinuous-v3", 600, 400, {10, 11, 0, 0, 0, 0}, {14, 8, -0.3, 0, 0, 0}},
      {"BipedalWalker-v3", 600, 400, {8, 6, 0, 0, 0, 0}, {8, 6.5, 0.4, 0, 0, 0}},
      {"BipedalWalkerHardcore-v3", 600, 400, {8, 6, 0, 0, 0, 0}, {30, 7, 0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    const Frame a = box2d_frame(c.id, c.state_a);
    EXPECT_EQ(a.width, c.width) << c.id;
    EXPECT_EQ(a.height, c.height) << c.id;
    expect_well_formed(a, c.id);
    EXPECT_NE(a.rgb, box2d_frame(c.id, c.state_b).rgb) << c.id << ": two states, one picture";
    EXPECT_EQ(a.rgb, box2d_frame(c.id, c.state_a).rgb) << c.id << ": one state, two pictures";
  }
}

TEST(Render, Box2DRenderingNeedsAReset) {
  for (const std::string id : {"LunarLander-v3", "BipedalWalker-v3"}) {
    try {
      (void)make(id)->render();
      ADD_FAILURE() << id << " drew before reset()";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("needs reset() first"), std::string::npos) << e.what();
    }
  }
}

TEST(Render, LunarLanderIsDrawnWhereItIsUnderABlackSky) {
  constexpr Rgb kLander{128, 102, 230};
  // 30 px per metre, y up: (10 m, 11 m) is pixel (300, 400 - 330).
  const Frame centre = box2d_frame("LunarLander-v3", {10, 11, 0, 0, 0, 0});
  const auto c = centroid(centre, kLander);
  EXPECT_NEAR(c.first, 300, 3.0);
  EXPECT_NEAR(c.second, 400 - 11 * 30, 6.0);
  const auto moved = centroid(box2d_frame("LunarLander-v3", {5, 6, 0, 0, 0, 0}), kLander);
  EXPECT_NEAR(moved.first - c.first, -150, 1.0);
  EXPECT_NEAR(moved.second - c.second, +150, 1.0);
  // Gymnasium paints the sky black over a white moon, with yellow pennants on the pad.
  EXPECT_EQ(pixel(centre, 0, 0), Rgb(0, 0, 0));
  EXPECT_EQ(pixel(centre, 300, 399), Rgb(255, 255, 255));
  EXPECT_GT(count(centre, {204, 204, 0}), 100);
}

TEST(Render, LunarLanderShowsTheEnginesFiredOnTheLastStep) {
  constexpr Rgb kFlame{255, 108, 108};
  auto env = make("LunarLander-v3");
  std::vector<float> obs(8);
  env->reset(1, obs);
  // It starts half above the top edge; bring it into the middle of the view.
  env->set_state(std::vector<double>{10, 8, 0, 0, 0, 0}, obs);
  EXPECT_EQ(count(env->render(), kFlame), 0) << "no engine has fired yet";
  std::vector<std::int64_t> main{2}, left{1}, none{0};
  env->step({main, {}}, obs);
  const Frame main_frame = env->render();
  EXPECT_GT(count(main_frame, kFlame), 30);
  // The main flame is below the lander's centre (rows grow downwards).
  const double lander_row = centroid(main_frame, {128, 102, 230}).second;
  EXPECT_GT(centroid(main_frame, kFlame).second, lander_row);
  env->step({left, {}}, obs);
  const Frame left_frame = env->render();
  EXPECT_GT(count(left_frame, kFlame), 10);
  // The left orientation engine pushes towards -x: its flame points to +x.
  EXPECT_GT(centroid(left_frame, kFlame).first, centroid(left_frame, {128, 102, 230}).first);
  env->step({none, {}}, obs);
  EXPECT_EQ(count(env->render(), kFlame), 0);
}

TEST(Render, BipedalWalkerViewFollowsTheHull) {
  constexpr Rgb kHull{127, 51, 229};
  // The view's left edge is 4 m (120 px) behind the hull, so the hull stays put on screen while
  // the terrain scrolls by.
  const Frame near = box2d_frame("BipedalWalker-v3", {10, 6, 0, 0, 0, 0});
  const Frame far = box2d_frame("BipedalWalker-v3", {40, 6, 0, 0, 0, 0});
  const auto a = centroid(near, kHull), b = centroid(far, kHull);
  EXPECT_NEAR(a.first, b.first, 0.5);
  EXPECT_NEAR(a.second, b.second, 0.5);
  EXPECT_NEAR(a.first, 120, 10.0);
  EXPECT_NEAR(a.second, 400 - 6 * 30, 10.0);
  EXPECT_NE(near.rgb, far.rgb);
  // Near the start the view stops at x = 0 and the hull moves on screen instead.
  const auto start = centroid(box2d_frame("BipedalWalker-v3", {2, 6, 0, 0, 0, 0}), kHull);
  EXPECT_NEAR(start.first, a.first - 60, 1.0);
  // Sky, ground, the lidar's red rays.
  EXPECT_GT(count(near, {215, 215, 255}), 20000);
  EXPECT_GT(count(near, {102, 153, 76}), 20000);
  // Anti-aliased 1 px rays are rarely pure red: count clearly reddish pixels (the start flag, the
  // only other red, is out of view).
  int reddish = 0;
  for (int y = 0; y < near.height; ++y)
    for (int x = 0; x < near.width; ++x) {
      const auto [red, green, blue] = pixel(near, x, y);
      reddish += red > green + 60 && red > blue + 60;
    }
  EXPECT_GT(reddish, 100);
}

// --- multi-agent envs ------------------------------------------------------------------------

struct MultiAgentHarness {
  explicit MultiAgentHarness(const std::string& id, const OptionMap& options = {})
      : env(make_multi_agent(id, options)) {
    const MultiAgentSpec& s = env->spec();
    obs.resize(static_cast<std::size_t>(s.num_agents() * s.max_obs_dim()));
    state.resize(static_cast<std::size_t>(s.state_dim()));
    active.resize(static_cast<std::size_t>(s.num_agents()));
    env->reset(0, view());
  }
  MultiAgentView view() { return {obs, state, active}; }
  Frame frame_of(const std::vector<double>& s) {
    env->set_state(s, view());
    return env->render();
  }
  std::unique_ptr<MultiAgentEnv> env;
  std::vector<float> obs, state;
  std::vector<std::uint8_t> active;
};

TEST(Render, EveryRegisteredMultiAgentEnvThatRendersDrawsAFrame) {
  int rendered = 0;
  for (const std::string& id : EnvRegistry::global().ids(/*multi_agent=*/true)) {
    MultiAgentHarness h(id);
    Frame f;
    try {
      f = h.env->render();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot render itself"), std::string::npos)
          << id << ": " << e.what();
      continue;
    }
    expect_well_formed(f, id);
    ++rendered;
  }
  EXPECT_GE(rendered, 3);  // simple_spread, simple_speaker_listener, multiwalker
}

TEST(Render, SimpleSpreadDrawsPettingZoosPicture) {
  MultiAgentHarness h("simple_spread_v3");
  // Agents at (0.5, 0), (-0.5, 0.5), (0, -0.5); landmarks at (0, 1), (-1, -1), (0.6, -0.7):
  // the camera spans 1, so (x, y) lands at pixel (floor(350 x) * 0.9 + 350, floor(-350 y) * 0.9
  // + 350).
  // clang-format off
  const std::vector<double> s{0.5, 0, 0, 0,  -0.5, 0.5, 0, 0,  0, -0.5, 0, 0,  // agents
                              0, 1,  -1, -1,  0.6, -0.7};                      // landmarks
  // clang-format on
  const Frame f = h.frame_of(s);
  EXPECT_EQ(f.width, 700);
  EXPECT_EQ(f.height, 700);
  EXPECT_EQ(pixel(f, 0, 0), Rgb(255, 255, 255));
  constexpr Rgb kAgent{70, 70, 170}, kLandmark{50, 50, 50};
  EXPECT_EQ(pixel(f, 507, 350), kAgent);     // (0.5, 0)
  EXPECT_EQ(pixel(f, 192, 192), kAgent);     // (-0.5, 0.5): floor(-175) = -175
  EXPECT_EQ(pixel(f, 350, 507), kAgent);     // (0, -0.5)
  EXPECT_EQ(pixel(f, 350, 35), kLandmark);   // (0, 1)
  EXPECT_EQ(pixel(f, 35, 665), kLandmark);   // (-1, -1)
  EXPECT_EQ(pixel(f, 539, 570), kLandmark);  // (0.6, -0.7)
  // Agents are discs of radius 0.15 * 350 = 52.5 px with a black border.
  EXPECT_EQ(pixel(f, 507 + 45, 350), kAgent);
  EXPECT_EQ(pixel(f, 507 + 60, 350), Rgb(255, 255, 255));
  // A landmark twice as far out halves the camera's scale.
  std::vector<double> wide = s;
  wide[12] = 2.0;  // landmark 0 at (2, 1); agent 0 moves to floor(87.5) * 0.9 + 350 = 428.3
  EXPECT_EQ(pixel(h.frame_of(wide), 428, 350), kAgent);
  EXPECT_EQ(h.frame_of(s).rgb, f.rgb) << "one state, two pictures";
}

TEST(Render, SpeakerListenerColoursTheListenerAfterItsGoalAndShowsTheWord) {
  MultiAgentHarness h("simple_speaker_listener_v4");
  // [goal, speaker pos (2), utterance (3), listener pos (2), vel (2), landmarks (6)]
  std::vector<double> s{0, -0.5, 0.5, 0, 0, 0, 0.5, 0.5, 0, 0, -1, 0, 0, -1, 1, -1};
  const Frame red = h.frame_of(s);
  EXPECT_EQ(pixel(red, 507, 192), Rgb(220, 120, 120));  // the listener: goal red + 0.45
  EXPECT_EQ(pixel(red, 192, 192), Rgb(50, 50, 50));     // the speaker
  EXPECT_EQ(pixel(red, 35, 350), Rgb(130, 30, 30));     // landmark 0 at (-1, 0)
  EXPECT_EQ(pixel(red, 665, 665), Rgb(30, 30, 130));    // landmark 2 at (1, -1)
  s[0] = 1;
  EXPECT_EQ(pixel(h.frame_of(s), 507, 192), Rgb(120, 220, 120));
  // The word: three boxes at the lower left, from x = 35 (5% of 700), 18 px apart, rows 665 to
  // 679; silence leaves them empty, word 2 fills the third.
  const Frame silent = h.frame_of(s);
  EXPECT_EQ(pixel(silent, 35 + 2 * 18 + 7, 672), Rgb(255, 255, 255));
  s[5] = 1;
  const Frame word = h.frame_of(s);
  EXPECT_EQ(pixel(word, 35 + 2 * 18 + 7, 672), Rgb(0, 0, 0));
  EXPECT_EQ(pixel(word, 35 + 7, 672), Rgb(255, 255, 255));
}

TEST(Render, MultiWalkerFollowsTheWalkersAndDropsRemovedOnes) {
  constexpr Rgb kHull{127, 51, 229}, kPackage{127, 102, 229};
  MultiAgentHarness h("multiwalker_v9", {{"terminate_on_fall", "false"}});
  const Frame start = h.env->render();
  EXPECT_EQ(start.width, 600);
  EXPECT_EQ(start.height, 400);
  expect_well_formed(start, "multiwalker_v9");
  const int hull_pixels = count(start, kHull);
  EXPECT_GT(hull_pixels, 300);
  EXPECT_GT(count(start, kPackage), 1000);
  // The view follows the walkers' mean x: all bodies moved 10 m right look the same on screen
  // (the terrain under them differs).
  std::vector<double> s = h.env->get_state();
  const auto at_start = centroid(start, kPackage);
  for (std::size_t b = 0; b < s.size(); b += 7) s[b] += 10.0;  // walkers' x, then package's x
  const Frame moved = h.frame_of(s);
  EXPECT_NEAR(centroid(moved, kPackage).first, at_start.first, 1.0);
  EXPECT_NE(moved.rgb, start.rgb);
  // A walker marked inactive is removed (remove_on_fall) and no longer drawn.
  s[7 + 6] = 0;
  const Frame two = h.frame_of(s);
  EXPECT_NEAR(count(two, kHull), hull_pixels * 2 / 3, hull_pixels / 10);
}

}  // namespace
}  // namespace trustrl::envs
