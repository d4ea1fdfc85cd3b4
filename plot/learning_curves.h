#pragma once
// `trustrl plot`: learning curves of runs from their metrics.csv, drawn with Cairo.
//
// Runs whose config.yaml differ only in `seed` form one group, drawn as the mean over its runs
// with a band from the min to the max; other runs are one line each.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace trustrl::plot {

/// One line of the plot: a run, or a seed group (mean with a min-max band).
struct Series {
  std::string label;
  int runs = 1;
  std::vector<double> x, mean, low, high;
};

struct PlotOptions {
  /// A metrics.csv column (charts/episodic_return unless told).
  std::string metric = "charts/episodic_return";
  /// The x column: global_step (env steps) or time/elapsed_seconds (--x time).
  bool wall_time = false;
  /// A horizontal line at this value, e.g. a learning target.
  std::optional<double> target;
  /// Each run's value at x as the mean of its values over (x - smooth, x], in x's units (env steps
  /// or seconds), before seeds are grouped: small batches end few episodes per update, so their
  /// curves are noisy. 0 plots the values as logged.
  double smooth = 0;
  int width = 900;
  int height = 540;
};

/// The series for `runs` (run directories): one per seed group, in the order first seen. Throws
/// Error naming the run if it has no metrics.csv or no rows, or the metric is not one of its
/// columns (listing those that are).
std::vector<Series> read_series(const std::vector<std::filesystem::path>& runs,
                                const PlotOptions& options);

/// Where data lands on the picture: the data ranges and the plot area in pixels.
struct Axes {
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double left = 0, right = 1, top = 0, bottom = 1;
  double px(double x) const { return left + (x - x_min) / (x_max - x_min) * (right - left); }
  double py(double y) const { return bottom - (y - y_min) / (y_max - y_min) * (bottom - top); }
};
Axes axes_for(const std::vector<Series>& series, const PlotOptions& options);

/// Draws the series to `out`: PNG or SVG by its extension. Throws Error for another extension
/// or a file that cannot be written (nothing is left behind).
void render(const std::vector<Series>& series, const PlotOptions& options,
            const std::filesystem::path& out);

}  // namespace trustrl::plot
