// What Box2D 2.3's joint-limit rule (option joint_limits: box2d_2.3) changes in two statistics
// docs/BOX2D.md compares with Gymnasium: how far Gymnasium's scripted walker gets on seeds 0..11
// (in trustrl's worlds Gymnasium's walks at least 7.4 m on each), and how many random
// LunarLander-v3 episodes (seeds 1000..1399) tumble past the declared angle bound 2*pi (none of
// 400 on Gymnasium).
// Usage: limit_rule_stats

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "box2d_heuristics.h"
#include "envs/box2d/bipedal_walker.h"
#include "envs/registry.h"

int main() {
  using namespace trustrl;
  using namespace trustrl::envs;
  for (const std::string rule : {"box2d_2.4", "box2d_2.3"}) {
    auto env = make("BipedalWalker-v3", {{"joint_limits", rule}});
    const auto& walker = dynamic_cast<const BipedalWalker&>(*env);
    std::vector<float> obs(24);
    std::printf("%s: heuristic walker, metres walked on seeds 0..11:", rule.c_str());
    for (std::uint64_t seed = 0; seed < 12; ++seed) {
      env->reset(seed, obs);
      const double x0 = walker.world().walker().hull_kinematics().x;
      testing::BipedalWalkerHeuristic heuristic;
      StepResult r;
      do {
        const auto a = heuristic.act(obs);
        r = env->step({{}, a}, obs);
      } while (!r.terminated && !r.truncated);
      std::printf(" %.1f", walker.world().walker().hull_kinematics().x - x0);
    }
    std::printf("\n");

    auto lander = make("LunarLander-v3", {{"joint_limits", rule}});
    Rng actions(7);
    std::vector<float> s(8);
    int tumbles = 0;
    double largest = 0;
    for (std::uint64_t seed = 1000; seed < 1400; ++seed) {
      lander->reset(seed, s);
      double episode_largest = 0;
      StepResult r;
      do {
        const std::vector<std::int64_t> a{static_cast<std::int64_t>(actions.below(4))};
        r = lander->step({a, {}}, s);
        episode_largest = std::max(episode_largest, std::fabs(static_cast<double>(s[4])));
      } while (!r.terminated && !r.truncated);
      tumbles += episode_largest > 2 * M_PI ? 1 : 0;
      largest = std::max(largest, episode_largest);
    }
    std::printf("%s: random LunarLander-v3, %d of 400 episodes past |angle| 2*pi (largest %.2f)\n",
                rule.c_str(), tumbles, largest);
  }
  return 0;
}
