#pragma once
// A small 2-D drawing surface for env pictures, over Cairo (anti-aliased by default).
//
// Everything is drawn in world coordinates with y pointing up; a Transform maps them to pixels.
// With the default transform (scale 1, no offset) one world unit is one pixel and y = 0 is the
// bottom edge, which is the frame Gymnasium's pygame renderers draw in before their final
// vertical flip, so their pixel geometry carries over unchanged. Box2D envs set a scale (pixels
// per metre) and move the view (BipedalWalker scrolls it along x).

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "envs/frame.h"

namespace trustrl::envs {

struct Color {
  std::uint8_t r = 0, g = 0, b = 0;
  /// Opacity, 255 = opaque.
  std::uint8_t a = 255;
};

struct Point {
  double x = 0, y = 0;
};

inline Point operator+(Point a, Point b) { return {a.x + b.x, a.y + b.y}; }

/// `p` turned by `radians` about the origin, counter-clockwise in the y-up world.
inline Point rotate(Point p, double radians) {
  const double c = std::cos(radians), s = std::sin(radians);
  return {p.x * c - p.y * s, p.x * s + p.y * c};
}

/// World to pixel: pixel_x = x * scale + offset_x; pixel height above the bottom edge =
/// y * scale + offset_y (the canvas turns that into a top-down row).
struct Transform {
  /// Pixels per world unit.
  double scale = 1.0;
  /// Pixel position of the world origin, measured from the bottom-left corner.
  double offset_x = 0.0;
  double offset_y = 0.0;

  /// A view whose bottom-left corner shows the world point (left, bottom), at `scale` pixels per
  /// unit; scrolling is a new view with a larger `left`.
  static Transform view(double left, double bottom, double scale) {
    return {scale, -left * scale, -bottom * scale};
  }
};

class Canvas {
 public:
  /// A width x height canvas filled with `background` (white unless told). Throws Error for a
  /// size that is not positive or too large for Cairo.
  Canvas(int width, int height, Color background = {255, 255, 255});
  ~Canvas();
  Canvas(Canvas&&) noexcept;
  Canvas& operator=(Canvas&&) noexcept;
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  int width() const;
  int height() const;

  void set_transform(const Transform& transform);
  const Transform& transform() const;
  /// Pixel coordinates (x right, y down from the top-left corner) of a world point.
  Point to_pixel(Point world) const;

  /// Anti-aliasing is on by default; off gives hard edges (useful for exact pixel tests).
  void set_antialias(bool on);

  /// Paints the whole canvas, ignoring the transform.
  void fill(Color color);

  /// A filled polygon (at least 3 corners, in world coordinates; any winding).
  void fill_polygon(std::span<const Point> corners, Color color);
  /// A closed outline; `width_px` is in pixels whatever the scale.
  void stroke_polygon(std::span<const Point> corners, Color color, double width_px = 1.0);
  /// A filled circle; the radius is in world units.
  void fill_circle(Point center, double radius, Color color);
  void stroke_circle(Point center, double radius, Color color, double width_px = 1.0);
  void line(Point from, Point to, Color color, double width_px = 1.0);
  /// Connected segments through `points` (open; at least 2 points).
  void polyline(std::span<const Point> points, Color color, double width_px = 1.0);
  /// An arc of `radius` around `center` from angle `from` to angle `to` (radians, counter-
  /// clockwise positive in the y-up world; `to` < `from` runs clockwise).
  void arc(Point center, double radius, double from, double to, Color color, double width_px = 1.0);

  /// The picture as RGB bytes (Cairo's premultiplied ARGB32 un-premultiplied).
  Frame to_frame() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes `frame` as a PNG file, atomically. Throws Error naming the path if it cannot, or if the
/// frame's byte count does not match its size.
void write_png(const Frame& frame, const std::filesystem::path& path);

/// Reads a PNG file into an RGB frame (alpha is dropped). Throws Error naming the path.
Frame read_png(const std::filesystem::path& path);

}  // namespace trustrl::envs
