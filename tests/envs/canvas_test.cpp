// The drawing surface: where shapes land under a transform, colours, anti-aliasing, PNG files.

#include "envs/render/canvas.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <tuple>

#include "core/error.h"
#include "core/files.h"

namespace trustrl::envs {
namespace {

namespace fs = std::filesystem;

using Rgb = std::tuple<int, int, int>;

Rgb pixel(const Frame& f, int x, int y) {
  const std::size_t i = (static_cast<std::size_t>(y) * f.width + x) * 3;
  return {f.rgb[i], f.rgb[i + 1], f.rgb[i + 2]};
}

int count(const Frame& f, Rgb color) {
  int n = 0;
  for (int y = 0; y < f.height; ++y)
    for (int x = 0; x < f.width; ++x) n += pixel(f, x, y) == color;
  return n;
}

fs::path temp_dir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("trustrl_canvas_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kRed{255, 0, 0};

TEST(Canvas, StartsFilledWithTheBackground) {
  Canvas canvas(7, 5, {10, 20, 30});
  const Frame f = canvas.to_frame();
  EXPECT_EQ(f.width, 7);
  EXPECT_EQ(f.height, 5);
  ASSERT_EQ(f.rgb.size(), 7u * 5u * 3u);
  EXPECT_EQ(count(f, {10, 20, 30}), 35);
  canvas.fill({1, 2, 3});
  EXPECT_EQ(count(canvas.to_frame(), {1, 2, 3}), 35);
}

TEST(Canvas, RejectsSizesItCannotHold) {
  EXPECT_THROW(Canvas(0, 10), Error);
  EXPECT_THROW(Canvas(10, -1), Error);
  EXPECT_THROW(Canvas(40000, 10), Error);
}

TEST(Canvas, FilledRectangleLandsWhereTheTransformSays) {
  Canvas canvas(100, 80);
  // 10 px per unit, world origin 20 px from the left edge and 10 px above the bottom edge.
  canvas.set_transform({10.0, 20.0, 10.0});
  const Point rect[4] = {{0, 0}, {0, 1}, {2, 1}, {2, 0}};
  canvas.fill_polygon(rect, {255, 0, 0});
  const Frame f = canvas.to_frame();
  // Pixels x 20..39; heights 10..19 above the bottom, i.e. rows 60..69 from the top. Edges lie on
  // pixel boundaries, so even with anti-aliasing every pixel is fully in or out.
  EXPECT_EQ(count(f, kRed), 20 * 10);
  EXPECT_EQ(pixel(f, 20, 60), kRed);
  EXPECT_EQ(pixel(f, 39, 69), kRed);
  EXPECT_EQ(pixel(f, 19, 65), kWhite);
  EXPECT_EQ(pixel(f, 40, 65), kWhite);
  EXPECT_EQ(pixel(f, 30, 59), kWhite);
  EXPECT_EQ(pixel(f, 30, 70), kWhite);
}

TEST(Canvas, ViewShowsItsBottomLeftCorner) {
  Canvas canvas(200, 100);
  canvas.set_transform(Transform::view(5.0, 1.0, 20.0));
  const Point corner = canvas.to_pixel({5.0, 1.0});
  EXPECT_DOUBLE_EQ(corner.x, 0.0);
  EXPECT_DOUBLE_EQ(corner.y, 100.0);
  const Point p = canvas.to_pixel({6.5, 2.0});  // 1.5 units right, 1 unit up
  EXPECT_DOUBLE_EQ(p.x, 30.0);
  EXPECT_DOUBLE_EQ(p.y, 80.0);
  // Scrolling right moves the same world point left on screen.
  canvas.set_transform(Transform::view(6.0, 1.0, 20.0));
  EXPECT_DOUBLE_EQ(canvas.to_pixel({6.5, 2.0}).x, 10.0);
}

TEST(Canvas, CircleCoversItsArea) {
  Canvas canvas(100, 100);
  canvas.set_antialias(false);
  canvas.set_transform({2.0, 50.0, 50.0});
  canvas.fill_circle({0, 0}, 10.0, {255, 0, 0});  // 20 px radius
  const Frame f = canvas.to_frame();
  const double area = 3.14159265358979 * 20 * 20;
  EXPECT_NEAR(count(f, kRed), area, area * 0.03);
  EXPECT_EQ(pixel(f, 50, 50), kRed);
  EXPECT_EQ(pixel(f, 50, 25), kWhite);
  EXPECT_EQ(count(f, kRed) + count(f, kWhite), 100 * 100);  // nothing in between without AA
}

TEST(Canvas, AntialiasingBlendsSlantedEdges) {
  const Point triangle[3] = {{5, 5}, {45, 10}, {20, 45}};
  auto colors = [&](bool antialias) {
    Canvas canvas(50, 50);
    canvas.set_antialias(antialias);
    canvas.fill_polygon(triangle, {0, 0, 0});
    const Frame f = canvas.to_frame();
    std::set<Rgb> seen;
    for (int y = 0; y < 50; ++y)
      for (int x = 0; x < 50; ++x) seen.insert(pixel(f, x, y));
    return seen.size();
  };
  EXPECT_EQ(colors(false), 2u);
  EXPECT_GT(colors(true), 4u);
}

TEST(Canvas, OneWideLineOnAPixelCentreIsOneRow) {
  Canvas canvas(30, 20);
  canvas.line({0, 5.5}, {30, 5.5}, {255, 0, 0});
  const Frame f = canvas.to_frame();
  EXPECT_EQ(count(f, kRed), 30);
  for (int x = 0; x < 30; ++x) EXPECT_EQ(pixel(f, x, 20 - 6), kRed);
}

TEST(Canvas, ArcTurnsCounterClockwiseInTheWorld) {
  Canvas canvas(100, 100);
  canvas.set_transform({1.0, 50.0, 50.0});
  canvas.arc({0, 0}, 30, 0, 3.14159265358979 / 2, {255, 0, 0}, 4.0);  // the upper-right quarter
  const Frame f = canvas.to_frame();
  // 45 degrees up-right is (50 + 21.2, 50 - 21.2) in top-down pixels; down-right is not drawn.
  EXPECT_EQ(pixel(f, 71, 28), kRed);
  EXPECT_EQ(pixel(f, 71, 71), kWhite);
  EXPECT_EQ(pixel(f, 28, 28), kWhite);
}

TEST(Canvas, OutlinesLeaveTheInsideEmpty) {
  Canvas canvas(60, 60);
  const Point square[4] = {{10, 10}, {10, 50}, {50, 50}, {50, 10}};
  canvas.stroke_polygon(square, {255, 0, 0}, 2.0);
  canvas.stroke_circle({30, 30}, 5, {255, 0, 0}, 1.0);
  const Frame f = canvas.to_frame();
  EXPECT_EQ(pixel(f, 10, 30), kRed);  // left edge, 2 px wide around x = 10
  EXPECT_EQ(pixel(f, 20, 30), kWhite);
  EXPECT_EQ(pixel(f, 30, 30), kWhite);  // the circle's centre
  EXPECT_NE(pixel(f, 35, 30), kWhite);  // its outline, 5 px out (anti-aliased, so not pure red)
}

TEST(Canvas, TranslucentColoursAreUnpremultiplied) {
  // Over a transparent background, half-opaque red stays pure red in RGB (Cairo stores it
  // premultiplied as 128,0,0 with alpha 128).
  Canvas canvas(4, 4, {0, 0, 0, 0});
  const Point all[4] = {{0, 0}, {0, 4}, {4, 4}, {4, 0}};
  canvas.fill_polygon(all, {255, 0, 0, 128});
  EXPECT_EQ(pixel(canvas.to_frame(), 1, 1), kRed);
  // Over white it blends.
  Canvas over_white(4, 4);
  over_white.fill_polygon(all, {0, 0, 0, 128});
  const auto [r, g, b] = pixel(over_white.to_frame(), 1, 1);
  EXPECT_NEAR(r, 127, 1);
  EXPECT_EQ(r, g);
  EXPECT_EQ(g, b);
}

TEST(Canvas, DegenerateShapesAreErrors) {
  Canvas canvas(10, 10);
  const Point two[2] = {{0, 0}, {1, 1}};
  EXPECT_THROW(canvas.fill_polygon(two, {}), Error);
  EXPECT_THROW(canvas.stroke_polygon(two, {}), Error);
  EXPECT_THROW(canvas.polyline(std::span<const Point>(two, 1), {}), Error);
}

TEST(Png, RoundTripsAFrame) {
  const fs::path dir = temp_dir("png");
  Canvas canvas(33, 21, {0, 128, 255});
  const Point tri[3] = {{2, 2}, {30, 5}, {10, 19}};
  canvas.fill_polygon(tri, {250, 10, 20});
  const Frame frame = canvas.to_frame();
  const fs::path file = dir / "picture.png";
  write_png(frame, file);
  const std::vector<std::uint8_t> bytes = read_file(file);
  ASSERT_GT(bytes.size(), 8u);
  const std::uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  EXPECT_TRUE(std::equal(magic, magic + 8, bytes.begin()));
  const Frame back = read_png(file);
  EXPECT_EQ(back.width, 33);
  EXPECT_EQ(back.height, 21);
  EXPECT_EQ(back.rgb, frame.rgb);
  int entries = 0;  // no temporary left beside it
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
  fs::remove_all(dir);
}

TEST(Png, BadFramesAndPathsAreNamed) {
  Frame bad{4, 4, std::vector<std::uint8_t>(10)};
  EXPECT_THROW(write_png(bad, temp_dir("pngbad") / "x.png"), Error);
  Frame good{2, 2, std::vector<std::uint8_t>(12)};
  try {
    write_png(good, "/nonexistent/trustrl/x.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/trustrl"), std::string::npos) << e.what();
  }
  try {
    read_png("/nonexistent/trustrl/y.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/trustrl/y.png"), std::string::npos)
        << e.what();
  }
  fs::remove_all(temp_dir("pngbad"));
}

}  // namespace
}  // namespace trustrl::envs
