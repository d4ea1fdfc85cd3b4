#include "envs/render/canvas.h"

#include <cairo.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/files.h"

namespace trustrl::envs {

namespace {

// Cairo refuses image surfaces wider or taller than this (cairo-image-surface.c, MAX_IMAGE_SIZE).
constexpr int kMaxSide = 32767;

void check_size(int width, int height, const char* what) {
  if (width <= 0 || height <= 0 || width > kMaxSide || height > kMaxSide)
    throw Error(std::string(what) + ": size " + std::to_string(width) + "x" +
                std::to_string(height) + " must be between 1x1 and " + std::to_string(kMaxSide) +
                "x" + std::to_string(kMaxSide));
}

void check_frame(const Frame& frame, const std::string& what) {
  check_size(frame.width, frame.height, what.c_str());
  const std::size_t want =
      static_cast<std::size_t>(frame.width) * static_cast<std::size_t>(frame.height) * 3;
  if (frame.rgb.size() != want)
    throw Error(what + ": a " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                " frame needs " + std::to_string(want) + " RGB bytes, it has " +
                std::to_string(frame.rgb.size()));
}

// One pixel of Cairo's ARGB32/RGB24 (a native-endian uint32, alpha in the top byte) as RGB.
void unpack_pixel(std::uint32_t p, bool has_alpha, std::uint8_t* rgb) {
  const std::uint32_t a = has_alpha ? p >> 24 : 255u;
  std::uint32_t c[3] = {(p >> 16) & 0xFFu, (p >> 8) & 0xFFu, p & 0xFFu};
  for (int k = 0; k < 3; ++k) {
    // Colours are stored premultiplied by alpha; undo it, rounding to nearest.
    if (a == 0)
      c[k] = 0;
    else if (a != 255)
      c[k] = std::min<std::uint32_t>(255u, (c[k] * 255u + a / 2) / a);
    rgb[k] = static_cast<std::uint8_t>(c[k]);
  }
}

Frame surface_to_frame(cairo_surface_t* surface) {
  cairo_surface_flush(surface);
  const cairo_format_t format = cairo_image_surface_get_format(surface);
  const bool has_alpha = format == CAIRO_FORMAT_ARGB32;
  Frame frame;
  frame.width = cairo_image_surface_get_width(surface);
  frame.height = cairo_image_surface_get_height(surface);
  frame.rgb.resize(static_cast<std::size_t>(frame.width) * static_cast<std::size_t>(frame.height) *
                   3);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  std::uint8_t* out = frame.rgb.data();
  for (int y = 0; y < frame.height; ++y) {
    const unsigned char* row = data + static_cast<std::ptrdiff_t>(y) * stride;
    for (int x = 0; x < frame.width; ++x, out += 3) {
      std::uint32_t p;
      std::memcpy(&p, row + 4 * x, sizeof p);
      unpack_pixel(p, has_alpha, out);
    }
  }
  return frame;
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  auto* bytes = static_cast<std::vector<std::uint8_t>*>(closure);
  bytes->insert(bytes->end(), data, data + length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

struct Canvas::Impl {
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = nullptr;
  int width = 0;
  int height = 0;
  Transform transform;

  ~Impl() {
    if (cr != nullptr) cairo_destroy(cr);
    if (surface != nullptr) cairo_surface_destroy(surface);
  }

  void set_color(Color c) const {
    cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, c.a / 255.0);
  }

  Point pixel(Point p) const {
    return {p.x * transform.scale + transform.offset_x,
            height - (p.y * transform.scale + transform.offset_y)};
  }

  void trace(std::span<const Point> points, bool closed) const {
    cairo_new_path(cr);
    for (const Point& p : points) {
      const Point q = pixel(p);
      cairo_line_to(cr, q.x, q.y);  // line_to on an empty path acts as move_to
    }
    if (closed) cairo_close_path(cr);
  }

  void stroke(Color color, double width_px) const {
    set_color(color);
    cairo_set_line_width(cr, width_px);
    cairo_stroke(cr);
  }
};

Canvas::Canvas(int width, int height, Color background) : impl_(std::make_unique<Impl>()) {
  check_size(width, height, "canvas");
  impl_->width = width;
  impl_->height = height;
  impl_->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
  if (cairo_surface_status(impl_->surface) != CAIRO_STATUS_SUCCESS)
    throw Error(std::string("canvas: cannot create a ") + std::to_string(width) + "x" +
                std::to_string(height) +
                " image: " + cairo_status_to_string(cairo_surface_status(impl_->surface)));
  impl_->cr = cairo_create(impl_->surface);
  if (cairo_status(impl_->cr) != CAIRO_STATUS_SUCCESS)
    throw Error(std::string("canvas: cannot draw: ") +
                cairo_status_to_string(cairo_status(impl_->cr)));
  cairo_set_line_join(impl_->cr, CAIRO_LINE_JOIN_ROUND);
  fill(background);
}

Canvas::~Canvas() = default;
Canvas::Canvas(Canvas&&) noexcept = default;
Canvas& Canvas::operator=(Canvas&&) noexcept = default;

int Canvas::width() const { return impl_->width; }
int Canvas::height() const { return impl_->height; }

void Canvas::set_transform(const Transform& transform) { impl_->transform = transform; }
const Transform& Canvas::transform() const { return impl_->transform; }
Point Canvas::to_pixel(Point world) const { return impl_->pixel(world); }

void Canvas::set_antialias(bool on) {
  cairo_set_antialias(impl_->cr, on ? CAIRO_ANTIALIAS_DEFAULT : CAIRO_ANTIALIAS_NONE);
}

void Canvas::fill(Color color) {
  cairo_save(impl_->cr);
  cairo_set_operator(impl_->cr, CAIRO_OPERATOR_SOURCE);
  impl_->set_color(color);
  cairo_paint(impl_->cr);
  cairo_restore(impl_->cr);
}

void Canvas::fill_polygon(std::span<const Point> corners, Color color) {
  if (corners.size() < 3)
    throw Error("canvas: a polygon needs at least 3 corners, got " +
                std::to_string(corners.size()));
  impl_->trace(corners, true);
  impl_->set_color(color);
  cairo_fill(impl_->cr);
}

void Canvas::stroke_polygon(std::span<const Point> corners, Color color, double width_px) {
  if (corners.size() < 3)
    throw Error("canvas: a polygon needs at least 3 corners, got " +
                std::to_string(corners.size()));
  impl_->trace(corners, true);
  impl_->stroke(color, width_px);
}

void Canvas::fill_circle(Point center, double radius, Color color) {
  const Point c = impl_->pixel(center);
  cairo_new_path(impl_->cr);
  cairo_arc(impl_->cr, c.x, c.y, radius * impl_->transform.scale, 0, 2 * 3.14159265358979323846);
  impl_->set_color(color);
  cairo_fill(impl_->cr);
}

void Canvas::stroke_circle(Point center, double radius, Color color, double width_px) {
  const Point c = impl_->pixel(center);
  cairo_new_path(impl_->cr);
  cairo_arc(impl_->cr, c.x, c.y, radius * impl_->transform.scale, 0, 2 * 3.14159265358979323846);
  impl_->stroke(color, width_px);
}

void Canvas::line(Point from, Point to, Color color, double width_px) {
  const Point points[2] = {from, to};
  impl_->trace(points, false);
  impl_->stroke(color, width_px);
}

void Canvas::polyline(std::span<const Point> points, Color color, double width_px) {
  if (points.size() < 2)
    throw Error("canvas: a polyline needs at least 2 points, got " + std::to_string(points.size()));
  impl_->trace(points, false);
  impl_->stroke(color, width_px);
}

void Canvas::arc(Point center, double radius, double from, double to, Color color,
                 double width_px) {
  // The y flip turns world angles clockwise in Cairo's y-down space, so negate them; the sweep
  // direction then decides which Cairo call draws it.
  const Point c = impl_->pixel(center);
  const double r = radius * impl_->transform.scale;
  cairo_new_path(impl_->cr);
  if (to >= from)
    cairo_arc_negative(impl_->cr, c.x, c.y, r, -from, -to);
  else
    cairo_arc(impl_->cr, c.x, c.y, r, -from, -to);
  impl_->stroke(color, width_px);
}

Frame Canvas::to_frame() const { return surface_to_frame(impl_->surface); }

void write_png(const Frame& frame, const std::filesystem::path& path) {
  check_frame(frame, "cannot write '" + path.string() + "'");
  cairo_surface_t* surface =
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, frame.width, frame.height);
  std::vector<std::uint8_t> png;
  cairo_status_t status = cairo_surface_status(surface);
  if (status == CAIRO_STATUS_SUCCESS) {
    cairo_surface_flush(surface);
    unsigned char* data = cairo_image_surface_get_data(surface);
    const int stride = cairo_image_surface_get_stride(surface);
    const std::uint8_t* in = frame.rgb.data();
    for (int y = 0; y < frame.height; ++y) {
      unsigned char* row = data + static_cast<std::ptrdiff_t>(y) * stride;
      for (int x = 0; x < frame.width; ++x, in += 3) {
        const std::uint32_t p =
            0xFF000000u | (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8) | in[2];
        std::memcpy(row + 4 * x, &p, sizeof p);
      }
    }
    cairo_surface_mark_dirty(surface);
    status = cairo_surface_write_to_png_stream(surface, append_bytes, &png);
  }
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error("cannot encode '" + path.string() + "' as PNG: " + cairo_status_to_string(status));
  write_file_atomic(path, png);
}

Frame read_png(const std::filesystem::path& path) {
  cairo_surface_t* surface = cairo_image_surface_create_from_png(path.c_str());
  const cairo_status_t status = cairo_surface_status(surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surface);
    throw Error("cannot read PNG '" + path.string() + "': " + cairo_status_to_string(status));
  }
  const cairo_format_t format = cairo_image_surface_get_format(surface);
  if (format != CAIRO_FORMAT_ARGB32 && format != CAIRO_FORMAT_RGB24) {
    cairo_surface_destroy(surface);
    throw Error("cannot read PNG '" + path.string() + "': only RGB and RGBA images are supported");
  }
  Frame frame = surface_to_frame(surface);
  cairo_surface_destroy(surface);
  return frame;
}

}  // namespace trustrl::envs
