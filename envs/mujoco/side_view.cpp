#include "envs/mujoco/side_view.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "envs/render/canvas.h"

namespace trustrl::envs {

namespace {

// MuJoCo's mjtGeom values (mjmodel.h), kept here so that this file needs no MuJoCo header.
enum GeomType { kPlane = 0, kSphere = 2, kCapsule = 3, kEllipsoid = 4, kCylinder = 5, kBox = 6 };

// Muted tones, one per body in turn (the models carry no materials).
constexpr std::array<Color, 6> kBodyColors = {{{196, 120, 64},
                                               {84, 130, 180},
                                               {110, 160, 90},
                                               {170, 90, 130},
                                               {200, 170, 80},
                                               {120, 110, 170}}};

Color shade(Color c, double factor) {
  const auto f = [&](std::uint8_t v) {
    return static_cast<std::uint8_t>(std::clamp(v * factor, 0.0, 255.0));
  };
  return {f(c.r), f(c.g), f(c.b), c.a};
}

// The geom's local axis `axis` (0 x, 1 y, 2 z) in world coordinates, projected on x-z.
Point axis_xz(const MujocoGeom& g, int axis) { return {g.mat[axis], g.mat[6 + axis]}; }

// Andrew's monotone chain: the convex hull of `p`, counter-clockwise.
std::vector<Point> convex_hull(std::vector<Point> p) {
  std::sort(p.begin(), p.end(),
            [](Point a, Point b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
  const auto cross = [](Point o, Point a, Point b) {
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  };
  std::vector<Point> hull(2 * p.size());
  std::size_t k = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], p[i]) <= 0) --k;
    hull[k++] = p[i];
  }
  for (std::size_t i = p.size() - 1, t = k + 1; i-- > 0;) {
    while (k >= t && cross(hull[k - 2], hull[k - 1], p[i]) <= 0) --k;
    hull[k++] = p[i];
  }
  hull.resize(k > 1 ? k - 1 : k);
  return hull;
}

// A stadium (capsule, r > 0 round ends) or a band (cylinder) from a to b, half-width r.
void fill_segment(Canvas& canvas, Point a, Point b, double r, bool round, Color color) {
  const double dx = b.x - a.x, dz = b.y - a.y, len = std::hypot(dx, dz);
  if (len > 1e-9) {
    const Point n{-dz / len * r, dx / len * r};
    const std::array<Point, 4> quad = {{{a.x + n.x, a.y + n.y},
                                        {b.x + n.x, b.y + n.y},
                                        {b.x - n.x, b.y - n.y},
                                        {a.x - n.x, a.y - n.y}}};
    canvas.fill_polygon(quad, color);
  }
  if (round || len <= 1e-9) {
    canvas.fill_circle(a, r, color);
    canvas.fill_circle(b, r, color);
  }
}

// The projection of an ellipsoid with half-axes `s` along the geom's axes: the image of the unit
// sphere under L = P R diag(s), an ellipse whose matrix is L L^T; drawn through its Cholesky
// factor.
void fill_ellipsoid(Canvas& canvas, const MujocoGeom& g, const std::array<double, 3>& s,
                    Color color) {
  double e00 = 0, e01 = 0, e11 = 0;
  for (int k = 0; k < 3; ++k) {
    const Point a = axis_xz(g, k);
    e00 += a.x * a.x * s[k] * s[k];
    e01 += a.x * a.y * s[k] * s[k];
    e11 += a.y * a.y * s[k] * s[k];
  }
  const double c00 = std::sqrt(std::max(e00, 1e-12)), c10 = e01 / c00,
               c11 = std::sqrt(std::max(e11 - c10 * c10, 1e-12));
  std::vector<Point> ring;
  for (int i = 0; i < 32; ++i) {
    const double t = 2 * M_PI * i / 32, u = std::cos(t), v = std::sin(t);
    ring.push_back({g.pos[0] + c00 * u, g.pos[2] + c10 * u + c11 * v});
  }
  canvas.fill_polygon(ring, color);
}

void draw_geom(Canvas& canvas, const MujocoGeom& g, Color color) {
  const Point c{g.pos[0], g.pos[2]};
  switch (g.type) {
    case kSphere:
      canvas.fill_circle(c, g.size[0], color);
      break;
    case kCapsule:
    case kCylinder: {
      const Point z = axis_xz(g, 2);
      const double h = g.size[1];
      fill_segment(canvas, {c.x - z.x * h, c.y - z.y * h}, {c.x + z.x * h, c.y + z.y * h},
                   g.size[0], g.type == kCapsule, color);
      break;
    }
    case kEllipsoid:
      fill_ellipsoid(canvas, g, g.size, color);
      break;
    case kBox: {
      std::vector<Point> corners;
      for (const int sx : {-1, 1})
        for (const int sy : {-1, 1})
          for (const int sz : {-1, 1}) {
            Point p = c;
            const int sign[3] = {sx, sy, sz};
            for (int k = 0; k < 3; ++k) {
              const Point a = axis_xz(g, k);
              p.x += sign[k] * g.size[k] * a.x;
              p.y += sign[k] * g.size[k] * a.y;
            }
            corners.push_back(p);
          }
      const std::vector<Point> hull = convex_hull(std::move(corners));
      if (hull.size() >= 3) canvas.fill_polygon(hull, color);
      break;
    }
    default:
      break;  // meshes and height fields: not in these models
  }
}

}  // namespace

Frame render_side_view(const MujocoSim& sim, const SideView& view) {
  Canvas canvas(view.width, view.height, {214, 228, 240});
  const auto xpos = sim.xpos();
  const int body = std::clamp(view.track_body, 0, sim.nbody() - 1);
  const double centre = xpos[static_cast<std::size_t>(3 * body)];
  const double half = view.width / view.pixels_per_metre / 2;
  const double left = centre - half, right = centre + half;
  canvas.set_transform(Transform::view(left, view.bottom, view.pixels_per_metre));

  std::vector<MujocoGeom> geoms = sim.geoms();
  for (const MujocoGeom& g : geoms) {
    if (g.type != kPlane) continue;
    // The floor, its plane's height, in alternating one-metre bands.
    const double z = g.pos[2];
    for (double x = std::floor(left); x < right; x += 1.0) {
      const std::array<Point, 4> band = {
          {{x, z}, {x + 1.0, z}, {x + 1.0, view.bottom - 1}, {x, view.bottom - 1}}};
      const bool even = static_cast<long long>(std::floor(x)) % 2 == 0;
      canvas.fill_polygon(band, even ? Color{150, 150, 140} : Color{128, 128, 120});
    }
    canvas.line({left - 1, z}, {right + 1, z}, {70, 70, 64}, 2.0);
  }
  std::erase_if(geoms, [](const MujocoGeom& g) { return g.type == kPlane; });
  // Farthest from the camera (at -y) first, so nearer geoms cover them.
  std::stable_sort(geoms.begin(), geoms.end(),
                   [](const MujocoGeom& a, const MujocoGeom& b) { return a.pos[1] > b.pos[1]; });
  for (const MujocoGeom& g : geoms) {
    const Color base = kBodyColors[static_cast<std::size_t>(g.body) % kBodyColors.size()];
    draw_geom(canvas, g, shade(base, g.pos[1] > 0.02 ? 0.7 : 1.0));
  }
  return canvas.to_frame();
}

}  // namespace trustrl::envs
