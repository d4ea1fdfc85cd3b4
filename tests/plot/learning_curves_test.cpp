#include "plot/learning_curves.h"

#include <cairo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>

#include "core/error.h"
#include "core/files.h"
#include "tests/support/scratch_dir.h"

namespace trustrl::plot {
namespace {

namespace fs = std::filesystem;

// A run directory with a config and a metrics.csv whose return at update u is `f(u)`.
fs::path write_run(const fs::path& root, const std::string& name, int seed, double offset,
                   int updates = 20) {
  const fs::path run = root / name;
  fs::create_directories(run);
  std::ofstream(run / "config.yaml") << "env: {id: CartPole-v1}\nseed: " << seed << "\n";
  std::ofstream csv(run / "metrics.csv");
  csv << "global_step,update,charts/episodic_return,losses/approx_kl,time/elapsed_seconds\n";
  for (int u = 1; u <= updates; ++u)
    csv << u * 1000 << "," << u << "," << (u == 3 ? "" : std::to_string(10.0 * u + offset))
        << ",0.01," << u * 0.5 << "\n";
  return run;
}

TEST(Plot, SeedsOfOneConfigAreOneSeriesWithABand) {
  const fs::path root = testing::scratch_dir("plot_series");
  const auto a = write_run(root, "cp-s0", 0, -20), b = write_run(root, "cp-s1", 1, 20);
  const auto c = write_run(root, "other", 0, 0);
  std::ofstream(c / "config.yaml") << "env: {id: Acrobot-v1}\nseed: 0\n";
  const auto series = read_series({a, b, c}, {});
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].runs, 2);
  EXPECT_EQ(series[1].runs, 1);
  ASSERT_EQ(series[0].x.size(), 19u);  // update 3 has no return in any run
  EXPECT_DOUBLE_EQ(series[0].x[0], 1000);
  EXPECT_DOUBLE_EQ(series[0].mean[0], 10);
  EXPECT_DOUBLE_EQ(series[0].low[0], -10);
  EXPECT_DOUBLE_EQ(series[0].high[0], 30);
  PlotOptions time;
  time.wall_time = true;
  EXPECT_DOUBLE_EQ(read_series({a}, time)[0].x[1], 1.0);
}

// --smooth W: each run's value at x is the mean of its values over (x - W, x], missing rows
// skipped; the seed band is taken over the smoothed runs.
TEST(Plot, SmoothingAveragesEachRunOverATrailingWindow) {
  const fs::path root = testing::scratch_dir("plot_smooth");
  const auto a = write_run(root, "cp-s0", 0, -20), b = write_run(root, "cp-s1", 1, 20);
  PlotOptions options;
  options.smooth = 3000;  // three updates of 1000 env steps
  const auto series = read_series({a, b}, options);
  ASSERT_EQ(series.size(), 1u);
  ASSERT_EQ(series[0].x.size(), 20u);  // update 3 takes its window's values
  // Run a's returns: 10u - 20 at x = 1000u, for u = 1, 2, 4, 5, ... (update 3 has none).
  EXPECT_DOUBLE_EQ(series[0].low[0], -10);               // u=1: one value so far
  EXPECT_DOUBLE_EQ(series[0].low[1], (-10.0 + 0) / 2);   // u=2
  EXPECT_DOUBLE_EQ(series[0].low[2], (-10.0 + 0) / 2);   // u=3: (0, 3000] holds u=1 and u=2
  EXPECT_DOUBLE_EQ(series[0].low[3], (0.0 + 20) / 2);    // u=4: (1000, 4000]
  EXPECT_DOUBLE_EQ(series[0].low[4], (20.0 + 30) / 2);   // u=5: (2000, 5000]
  EXPECT_DOUBLE_EQ(series[0].high[4], (60.0 + 70) / 2);  // run b, offset +20
  EXPECT_DOUBLE_EQ(series[0].mean[4], (25.0 + 65.0) / 2);
  // The same window as a share of the run: 15% of its last x (20,000 env steps) is 3,000.
  PlotOptions share;
  share.smooth_fraction = 0.15;
  const auto shared = read_series({a, b}, share);
  EXPECT_EQ(shared[0].mean, series[0].mean);
  EXPECT_EQ(shared[0].low, series[0].low);
  share.smooth_fraction = 1.5;
  EXPECT_THROW(read_series({a}, share), Error);
  options.smooth = -1;
  EXPECT_THROW(read_series({a}, options), Error);
}

TEST(Plot, RendersAPngWithTheBandWhereTheDataSays) {
  const fs::path root = testing::scratch_dir("plot_png");
  const auto a = write_run(root, "cp-s0", 0, -20), b = write_run(root, "cp-s1", 1, 20);
  PlotOptions options;
  options.target = 150;
  const auto series = read_series({a, b}, options);
  const fs::path png = root / "curves.png";
  render(series, options, png);
  cairo_surface_t* image = cairo_image_surface_create_from_png(png.c_str());
  ASSERT_EQ(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
  ASSERT_EQ(cairo_image_surface_get_width(image), options.width);
  ASSERT_EQ(cairo_image_surface_get_height(image), options.height);
  const unsigned char* data = cairo_image_surface_get_data(image);
  const int stride = cairo_image_surface_get_stride(image);
  const auto pixel = [&](double x, double y) {
    const auto* p = reinterpret_cast<const std::uint32_t*>(data + static_cast<int>(y) * stride) +
                    static_cast<int>(x);
    return *p & 0xffffff;
  };
  int drawn = 0;
  for (int y = 0; y < options.height; ++y)
    for (int x = 0; x < options.width; ++x) drawn += pixel(x, y) != 0xffffff;
  EXPECT_GT(drawn, options.width * options.height / 100) << "the picture is nearly blank";
  // At update 11 the runs return 90 and 130 (mean 110): the band covers 95 and 125, not 137.
  const Axes axes = axes_for(series, options);
  const double x = axes.px(11000);
  const std::uint32_t band = pixel(x, axes.py(95));
  EXPECT_NE(band, 0xffffffu);
  EXPECT_EQ(pixel(x, axes.py(125)), band);
  EXPECT_EQ(pixel(x, axes.py(137)), 0xffffffu);
  // The target line, left of the first data point.
  EXPECT_NE(pixel(axes.px(500), axes.py(150)), 0xffffffu);
  EXPECT_EQ(pixel(axes.px(500), axes.py(140)), 0xffffffu);
  cairo_surface_destroy(image);

  const fs::path svg = root / "curves.svg";
  render(series, options, svg);
  const std::string text = read_text_file(svg);
  EXPECT_NE(text.find("<svg"), std::string::npos);
}

// --panels: one panel per env id, side by side, each with its own axes and its env's target.
TEST(Plot, PanelsSplitRunsByEnvWithTheirOwnAxesAndTargets) {
  const fs::path root = testing::scratch_dir("plot_panels");
  const auto a = write_run(root, "cp-s0", 0, -20), b = write_run(root, "cp-s1", 1, 20);
  const auto c = write_run(root, "acro-s0", 0, -1000);
  std::ofstream(c / "config.yaml") << "algo: ppo\nenv:                # the environment\n"
                                   << "  id: Acrobot-v1      # env id\n  num_envs: 2\nseed: 0\n";
  PlotOptions options;
  options.panels = true;
  options.width = 300;
  options.height = 200;
  options.env_targets = {{"Acrobot-v1", -900}};
  options.target = 150;  // every other panel
  const auto series = read_series({a, b, c}, options);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].label, "cp");  // a seed group is labelled without the seed suffix
  EXPECT_EQ(series[0].env, "CartPole-v1");
  EXPECT_EQ(series[1].label, "acro-s0");
  EXPECT_EQ(series[1].env, "Acrobot-v1");
  const Layout layout = layout_for(series, options);
  ASSERT_EQ(layout.panels.size(), 2u);
  EXPECT_EQ(layout.width, 600);
  EXPECT_EQ(layout.height, 200);
  EXPECT_EQ(layout.panels[1].env, "Acrobot-v1");
  EXPECT_EQ(layout.panels[1].series, std::vector<std::size_t>{1});
  const Axes& cart = layout.panels[0].axes;
  const Axes& acro = layout.panels[1].axes;
  EXPECT_GE(acro.left, 300);  // the second panel is right of the first
  EXPECT_LE(cart.right, 300);
  EXPECT_LT(acro.y_max, 0);  // its own y range: returns -990 .. -800 and the target -900
  EXPECT_GT(cart.y_max, 150);
  const fs::path png = root / "panels.png";
  render(series, options, png);
  cairo_surface_t* image = cairo_image_surface_create_from_png(png.c_str());
  ASSERT_EQ(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
  EXPECT_EQ(cairo_image_surface_get_width(image), 600);
  const unsigned char* data = cairo_image_surface_get_data(image);
  const int stride = cairo_image_surface_get_stride(image);
  const auto pixel = [&](double x, double y) {
    return *(reinterpret_cast<const std::uint32_t*>(data + static_cast<int>(y) * stride) +
             static_cast<int>(x)) &
           0xffffff;
  };
  // Acrobot's target line at -900, left of its first data point (x = 1000 env steps).
  EXPECT_NE(pixel(acro.px(300), acro.py(-900)), 0xffffffu);
  cairo_surface_destroy(image);
}

TEST(Plot, BadInputIsNamed) {
  const fs::path root = testing::scratch_dir("plot_bad");
  const auto run = write_run(root, "cp", 0, 0);
  try {
    PlotOptions options;
    options.metric = "kl/analytic";
    read_series({run}, options);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("has no metric 'kl/analytic'"), std::string::npos) << m;
    EXPECT_NE(m.find("losses/approx_kl"), std::string::npos) << m;  // the ones there are
  }
  fs::create_directories(root / "empty");
  EXPECT_THROW(read_series({root / "empty"}, {}), Error);
  std::ofstream(root / "empty" / "metrics.csv") << "global_step,charts/episodic_return\n";
  EXPECT_THROW(read_series({root / "empty"}, {}), Error);
  const auto series = read_series({run}, {});
  EXPECT_THROW(render(series, {}, root / "curves.jpg"), Error);
  EXPECT_THROW(render(series, {}, root / "no_dir" / "curves.png"), Error);
  EXPECT_THROW(render(series, {}, "/proc/curves.png"), Error);
  EXPECT_FALSE(fs::exists(root / "curves.jpg"));
}

}  // namespace
}  // namespace trustrl::plot
