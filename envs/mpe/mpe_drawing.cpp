#include "envs/mpe/mpe_drawing.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "envs/render/canvas.h"

namespace trustrl::envs::mpe {

namespace {

std::uint8_t channel(double c) {
  // pygame truncates the float colour (e.g. 0.15 * 200 = 30.000000000000004 -> 30).
  return static_cast<std::uint8_t>(std::clamp(std::floor(c * 200.0), 0.0, 255.0));
}

// simple_env.py: x = (x / cam_range) * width // 2 * 0.9 + width // 2, and the same for -y
// (Python's // floors). Returns pixels from the left and from the top.
Point to_screen(const Vec2& p, double cam_range) {
  const double half = kMpeFrameSize / 2;
  return {std::floor(p.x / cam_range * kMpeFrameSize / 2) * 0.9 + half,
          std::floor(-p.y / cam_range * kMpeFrameSize / 2) * 0.9 + half};
}

}  // namespace

Frame draw_particle_world(const ParticleWorld& world, std::span<const EntityColor> colors) {
  std::vector<const Entity*> entities;
  for (const Entity& a : world.agents()) entities.push_back(&a);
  for (const Entity& l : world.landmarks()) entities.push_back(&l);
  if (colors.size() != entities.size())
    throw Error("draw_particle_world: " + std::to_string(colors.size()) + " colours for " +
                std::to_string(entities.size()) + " entities");

  double cam_range = 0.0;
  for (const Entity* e : entities)
    cam_range = std::max({cam_range, std::fabs(e->pos.x), std::fabs(e->pos.y)});
  // Every entity at the origin: the reference divides by zero; any range draws them there.
  if (!(cam_range > 0.0) || !std::isfinite(cam_range)) cam_range = 1.0;

  // Drawn in pixels with y up (the canvas's default), from the top-down screen coordinates.
  Canvas canvas(kMpeFrameSize, kMpeFrameSize);
  auto up = [](Point screen) { return Point{screen.x, kMpeFrameSize - screen.y}; };
  for (std::size_t i = 0; i < entities.size(); ++i) {
    const Point centre = up(to_screen(entities[i]->pos, cam_range));
    const double radius = entities[i]->size * 350;
    const EntityColor& c = colors[i];
    canvas.fill_circle(centre, radius, {channel(c[0]), channel(c[1]), channel(c[2])});
    // pygame's 1 px border lies inside the disc.
    canvas.stroke_circle(centre, radius - 0.5, {0, 0, 0}, 1.0);
  }

  // One row of boxes per speaking agent, where PettingZoo prints its message (x at 5% of the
  // width, the first line at 95% of the height from the top, later lines 5% higher each).
  constexpr double kBox = 14.0, kGap = 4.0;
  int line = 0;
  for (const Entity& agent : world.agents()) {
    if (agent.silent) continue;
    const double top = kMpeFrameSize * 0.95 - kMpeFrameSize * 0.05 * line;
    for (std::size_t k = 0; k < agent.comm.size(); ++k) {
      const double left = kMpeFrameSize * 0.05 + static_cast<double>(k) * (kBox + kGap);
      const Point box[4] = {up({left, top}), up({left + kBox, top}), up({left + kBox, top + kBox}),
                            up({left, top + kBox})};
      const auto shade =
          static_cast<std::uint8_t>(255.0 * (1.0 - std::clamp(agent.comm[k], 0.0, 1.0)));
      canvas.fill_polygon(box, {shade, shade, shade});
      canvas.stroke_polygon(box, {0, 0, 0}, 1.0);
    }
    ++line;
  }
  return canvas.to_frame();
}

}  // namespace trustrl::envs::mpe
