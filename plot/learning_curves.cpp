#include "plot/learning_curves.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/text.h"

namespace trustrl::plot {

namespace fs = std::filesystem;

namespace {

struct RunCurve {
  std::string key;  // config.yaml without its seed line: runs that share it are seeds
  std::string name;
  std::vector<double> x, y;
};

// Replaces each value at x by the mean of the values over (x - window, x], missing ones skipped (a
// row without a value of its own gets the window's, so seeds that log episodes in different
// updates still line up): a trailing window, so a smoothed curve lags its data and never looks
// ahead. The window is in x's units, so runs with different update sizes are smoothed alike.
void smooth(const std::vector<double>& x, std::vector<double>& y, double window) {
  if (window <= 0) return;
  const std::vector<double> raw = y;
  double sum = 0;
  int count = 0;
  std::size_t first = 0;  // the oldest row still in the window
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (std::isfinite(raw[i])) {
      sum += raw[i];
      ++count;
    }
    for (; first < i && !(x[first] > x[i] - window); ++first)
      if (std::isfinite(raw[first])) {
        sum -= raw[first];
        --count;
      }
    y[i] = count > 0 ? sum / count : NAN;
  }
}

RunCurve read_run(const fs::path& run, const PlotOptions& options) {
  const std::string what = "run '" + run.string() + "'";
  std::error_code ec;
  if (!fs::is_directory(run, ec)) throw Error(what + " is not a directory");
  const fs::path csv = run / "metrics.csv";
  if (!fs::exists(csv, ec)) throw Error(what + " has no metrics.csv");
  std::stringstream text(read_text_file(csv));
  std::string line;
  std::getline(text, line);
  const std::vector<std::string> header = split(line, ',');
  const auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      std::string known;
      for (const auto& h : header) known += (known.empty() ? "" : ", ") + h;
      throw Error(what + " has no metric '" + name + "'; its metrics are: " + known);
    }
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t xc = column(options.wall_time ? "time/elapsed_seconds" : "global_step");
  const std::size_t yc = column(options.metric);
  RunCurve curve;
  curve.name =
      run.filename().empty() ? run.parent_path().filename().string() : run.filename().string();
  while (std::getline(text, line)) {
    const std::vector<std::string> cells = split(line, ',');
    if (cells.size() != header.size()) continue;  // a row cut by a crash
    const auto number = [](const std::string& s) {
      return s.empty() ? NAN : std::strtod(s.c_str(), nullptr);
    };
    curve.x.push_back(number(cells[xc]));
    curve.y.push_back(number(cells[yc]));
  }
  if (curve.x.empty()) throw Error(what + " has no metric rows yet");
  smooth(curve.x, curve.y, options.smooth);
  std::string config;
  if (fs::exists(run / "config.yaml", ec)) {
    std::stringstream in(read_text_file(run / "config.yaml"));
    while (std::getline(in, line))
      if (line.rfind("seed:", 0) != 0) config += line + "\n";
  }
  curve.key = config.empty() ? run.string() : config;
  return curve;
}

// "1.5M", "200k", "35" for tick labels.
std::string tick_text(double v) {
  if (std::fabs(v) < 1e-12) v = 0;  // a tick summed to -1e-15 reads "0", not "-0"
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e6)
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  else if (a >= 1e4)
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A step of 1, 2 or 5 times a power of ten giving about `count` ticks over [lo, hi].
double tick_step(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

struct Rgb {
  double r, g, b;
};
// Tableau 10's first colours (Tableau's default categorical palette).
constexpr Rgb kPalette[] = {{0.122, 0.467, 0.706}, {1.0, 0.498, 0.055},   {0.173, 0.627, 0.173},
                            {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}};

void draw(cairo_t* cr, const std::vector<Series>& series, const PlotOptions& options) {
  const Axes a = axes_for(series, options);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 13);
  // Grid and tick labels.
  cairo_set_line_width(cr, 1);
  const auto text_at = [&](const std::string& s, double x, double y, double align_x) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    cairo_move_to(cr, x - align_x * e.width, y);
    cairo_show_text(cr, s.c_str());
  };
  const double xs = tick_step(a.x_min, a.x_max, 6), ys = tick_step(a.y_min, a.y_max, 6);
  for (double v = std::ceil(a.x_min / xs) * xs; v <= a.x_max + 1e-9 * xs; v += xs) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, a.px(v), a.top);
    cairo_line_to(cr, a.px(v), a.bottom);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text_at(tick_text(v), a.px(v), a.bottom + 18, 0.5);
  }
  for (double v = std::ceil(a.y_min / ys) * ys; v <= a.y_max + 1e-9 * ys; v += ys) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, a.left, a.py(v));
    cairo_line_to(cr, a.right, a.py(v));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text_at(tick_text(v), a.left - 6, a.py(v) + 4, 1.0);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, a.left, a.top, a.right - a.left, a.bottom - a.top);
  cairo_stroke(cr);
  text_at(options.wall_time ? "wall time (s)" : "env steps", (a.left + a.right) / 2, a.bottom + 40,
          0.5);
  cairo_save(cr);
  cairo_translate(cr, 18, (a.top + a.bottom) / 2);
  cairo_rotate(cr, -M_PI / 2);
  text_at(options.metric, 0, 0, 0.5);
  cairo_restore(cr);

  // Bands first, then lines over them.
  cairo_save(cr);
  cairo_rectangle(cr, a.left, a.top, a.right - a.left, a.bottom - a.top);
  cairo_clip(cr);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const Series& line = series[s];
    const Rgb c = kPalette[s % std::size(kPalette)];
    if (line.runs > 1 && !line.x.empty()) {
      cairo_set_source_rgba(cr, c.r, c.g, c.b, 0.25);
      cairo_move_to(cr, a.px(line.x[0]), a.py(line.high[0]));
      for (std::size_t i = 1; i < line.x.size(); ++i)
        cairo_line_to(cr, a.px(line.x[i]), a.py(line.high[i]));
      for (std::size_t i = line.x.size(); i-- > 0;)
        cairo_line_to(cr, a.px(line.x[i]), a.py(line.low[i]));
      cairo_close_path(cr);
      cairo_fill(cr);
    }
  }
  cairo_set_line_width(cr, 2);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const Series& line = series[s];
    const Rgb c = kPalette[s % std::size(kPalette)];
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    for (std::size_t i = 0; i < line.x.size(); ++i)
      (i == 0 ? cairo_move_to : cairo_line_to)(cr, a.px(line.x[i]), a.py(line.mean[i]));
    cairo_stroke(cr);
  }
  if (options.target) {
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, a.left, a.py(*options.target));
    cairo_line_to(cr, a.right, a.py(*options.target));
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
  }
  cairo_restore(cr);

  // Legend, top left inside the plot area.
  double y = a.top + 20;
  for (std::size_t s = 0; s < series.size(); ++s) {
    const Rgb c = kPalette[s % std::size(kPalette)];
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_rectangle(cr, a.left + 10, y - 9, 18, 4);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    const Series& line = series[s];
    text_at(
        line.label +
            (line.runs > 1 ? " (mean, min-max of " + std::to_string(line.runs) + " seeds)" : ""),
        a.left + 34, y, 0.0);
    y += 18;
  }
  if (options.target) {
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    text_at("target " + tick_text(*options.target), a.left + 34, y, 0.0);
  }
}

}  // namespace

std::vector<Series> read_series(const std::vector<fs::path>& runs, const PlotOptions& options) {
  if (runs.empty()) throw Error("plot needs at least one run directory");
  if (!(options.smooth >= 0))
    throw Error("--smooth takes a window of 0 or more (env steps, or seconds with --x time), got " +
                std::to_string(options.smooth));
  std::vector<std::vector<RunCurve>> groups;
  for (const auto& run : runs) {
    RunCurve curve = read_run(run, options);
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.front().key == curve.key; });
    if (it == groups.end())
      groups.push_back({std::move(curve)});
    else
      it->push_back(std::move(curve));
  }
  std::vector<Series> out;
  for (const auto& group : groups) {
    Series s;
    s.label = group.front().name;
    s.runs = static_cast<int>(group.size());
    // Seeds of one config log at the same env steps: rows line up by index.
    std::size_t rows = group.front().x.size();
    for (const auto& c : group) rows = std::min(rows, c.x.size());
    for (std::size_t i = 0; i < rows; ++i) {
      double sum = 0, lo = INFINITY, hi = -INFINITY, x = 0;
      int n = 0;
      for (const auto& c : group) {
        if (!std::isfinite(c.y[i]) || !std::isfinite(c.x[i])) continue;
        sum += c.y[i];
        lo = std::min(lo, c.y[i]);
        hi = std::max(hi, c.y[i]);
        x += c.x[i];
        ++n;
      }
      if (n == 0) continue;  // no episode ended in this update in any run
      s.x.push_back(x / n);
      s.mean.push_back(sum / n);
      s.low.push_back(lo);
      s.high.push_back(hi);
    }
    if (s.x.empty())
      throw Error("run '" + s.label + "' has no value of '" + options.metric + "' in any row");
    out.push_back(std::move(s));
  }
  return out;
}

Axes axes_for(const std::vector<Series>& series, const PlotOptions& options) {
  Axes a;
  a.x_min = INFINITY, a.x_max = -INFINITY, a.y_min = INFINITY, a.y_max = -INFINITY;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      a.x_min = std::min(a.x_min, s.x[i]);
      a.x_max = std::max(a.x_max, s.x[i]);
      a.y_min = std::min(a.y_min, s.low[i]);
      a.y_max = std::max(a.y_max, s.high[i]);
    }
  if (options.target) {
    a.y_min = std::min(a.y_min, *options.target);
    a.y_max = std::max(a.y_max, *options.target);
  }
  a.x_min = std::min(a.x_min, 0.0);
  if (a.x_max <= a.x_min) a.x_max = a.x_min + 1;
  const double pad = a.y_max > a.y_min ? 0.05 * (a.y_max - a.y_min) : 1.0;
  a.y_min -= pad;
  a.y_max += pad;
  a.left = 80;
  a.right = options.width - 20;
  a.top = 20;
  a.bottom = options.height - 60;
  return a;
}

void render(const std::vector<Series>& series, const PlotOptions& options, const fs::path& out) {
  const std::string ext = out.extension().string();
  if (ext != ".png" && ext != ".svg")
    throw Error("plot writes .png or .svg, not '" + out.string() + "'");
  std::error_code ec;
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw Error("cannot write '" + out.string() + "': directory '" + dir.string() +
                "' does not exist");
  // Drawn to a temporary beside the file, then renamed: a failed write leaves nothing.
  const fs::path tmp = dir / ("." + out.filename().string() + ".tmp." + std::to_string(::getpid()));
  cairo_status_t status;
  if (ext == ".svg") {
    cairo_surface_t* surface = cairo_svg_surface_create(tmp.c_str(), options.width, options.height);
    cairo_t* cr = cairo_create(surface);
    draw(cr, series, options);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
  } else {
    cairo_surface_t* surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, options.width, options.height);
    cairo_t* cr = cairo_create(surface);
    draw(cr, series, options);
    cairo_destroy(cr);
    status = cairo_surface_write_to_png(surface, tmp.c_str());
    cairo_surface_destroy(surface);
  }
  if (status != CAIRO_STATUS_SUCCESS) {
    fs::remove(tmp, ec);
    throw Error("cannot write '" + out.string() + "': " + cairo_status_to_string(status));
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot write '" + out.string() + "': " + ec.message());
  }
}

}  // namespace trustrl::plot
