#pragma once
// `trustrl plot`: learning curves of runs from their metrics.csv, drawn with Cairo.
//
// Runs whose config.yaml differ only in `seed` form one group, drawn as the mean over its runs
// with a band from the min to the max; other runs are one line each. With `panels`, runs of
// different envs go to panels of their own (one per env id, in a grid), so one picture can show a
// whole table of learning targets whose returns have different scales.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace trustrl::plot {

/// One line of the plot: a run, or a seed group (mean with a min-max band).
struct Series {
  std::string label;
  /// The env id of the run's config.yaml (empty without one).
  std::string env;
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
  /// Per env id, a target line drawn in that env's panel instead of `target`.
  std::map<std::string, double> env_targets;
  /// One panel per env id, in a grid of up to three columns, each with its own axes.
  bool panels = false;
  /// Each run's value at x as the mean of its values over (x - smooth, x], in x's units (env steps
  /// or seconds), before seeds are grouped: small batches end few episodes per update, so their
  /// curves are noisy. 0 plots the values as logged.
  double smooth = 0;
  /// If > 0, the window is this fraction of each run's last x instead (runs of different lengths,
  /// as in panels of different envs, are smoothed alike relative to their length).
  double smooth_fraction = 0;
  /// The picture's size; with panels, the size of one panel.
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

/// How `render` lays out panels: each panel's env id, its series (indices into the series) and
/// its axes on the whole picture, and the picture's size. Without `panels`, one panel holds all.
struct Layout {
  struct Panel {
    std::string env;
    std::vector<std::size_t> series;
    Axes axes;
  };
  std::vector<Panel> panels;
  int width = 0, height = 0;
};
Layout layout_for(const std::vector<Series>& series, const PlotOptions& options);

/// Draws the series to `out`: PNG or SVG by its extension. Throws Error for another extension
/// or a file that cannot be written (nothing is left behind).
void render(const std::vector<Series>& series, const PlotOptions& options,
            const std::filesystem::path& out);

}  // namespace trustrl::plot
