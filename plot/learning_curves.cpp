#include "plot/learning_curves.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
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
  std::string env;  // config.yaml's env id
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
  smooth(curve.x, curve.y,
         options.smooth_fraction > 0 && std::isfinite(curve.x.back())
             ? options.smooth_fraction * curve.x.back()
             : options.smooth);
  std::string config;
  if (fs::exists(run / "config.yaml", ec)) {
    const std::string yaml = read_text_file(run / "config.yaml");
    std::stringstream in(yaml);
    while (std::getline(in, line))
      if (line.rfind("seed:", 0) != 0) config += line + "\n";
    try {
      const YAML::Node root = YAML::Load(yaml);
      if (root.IsMap() && root["env"] && root["env"].IsMap() && root["env"]["id"])
        curve.env = root["env"]["id"].as<std::string>();
    } catch (const YAML::Exception& e) {
      throw Error(what + ": config.yaml is not valid YAML: " + e.what());
    }
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

// One panel: its grid, ticks, labels, bands, lines, target and legend inside `a`'s plot area.
void draw_panel(cairo_t* cr, const std::vector<const Series*>& series, const PlotOptions& options,
                const Axes& a, std::optional<double> target, const std::string& title) {
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
  if (!title.empty()) text_at(title, (a.left + a.right) / 2, a.top - 8, 0.5);
  cairo_save(cr);
  cairo_translate(cr, a.left - 62, (a.top + a.bottom) / 2);
  cairo_rotate(cr, -M_PI / 2);
  text_at(options.metric, 0, 0, 0.5);
  cairo_restore(cr);

  // Bands first, then lines over them.
  cairo_save(cr);
  cairo_rectangle(cr, a.left, a.top, a.right - a.left, a.bottom - a.top);
  cairo_clip(cr);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const Series& line = *series[s];
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
    const Series& line = *series[s];
    const Rgb c = kPalette[s % std::size(kPalette)];
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    for (std::size_t i = 0; i < line.x.size(); ++i)
      (i == 0 ? cairo_move_to : cairo_line_to)(cr, a.px(line.x[i]), a.py(line.mean[i]));
    cairo_stroke(cr);
  }
  if (target) {
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, a.left, a.py(*target));
    cairo_line_to(cr, a.right, a.py(*target));
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
  }
  cairo_restore(cr);

  // Legend: in the corner of the plot area that the data crosses least, on a white box.
  std::vector<std::string> entries;
  for (const Series* line : series)
    entries.push_back(
        line->label +
        (line->runs > 1 ? " (mean, min-max of " + std::to_string(line->runs) + " seeds)" : ""));
  if (target) entries.push_back("target " + tick_text(*target));
  double text_width = 0;
  for (const auto& e : entries) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, e.c_str(), &ext);
    text_width = std::max(text_width, ext.x_advance);
  }
  const double box_w = 34 + text_width + 8, box_h = 18.0 * static_cast<double>(entries.size()) + 8;
  double best_x = a.left + 4, best_y = a.top + 4;
  std::size_t fewest = SIZE_MAX;
  for (const bool right : {false, true})
    for (const bool bottom : {true, false}) {
      const double x0 = right ? a.right - 4 - box_w : a.left + 4;
      const double y0 = bottom ? a.bottom - 4 - box_h : a.top + 4;
      std::size_t inside = 0;
      for (const Series* line : series)
        for (std::size_t i = 0; i < line->x.size(); ++i) {
          const double px = a.px(line->x[i]);
          if (px < x0 || px > x0 + box_w) continue;
          for (const double v : {line->low[i], line->mean[i], line->high[i]}) {
            const double py = a.py(v);
            inside += py >= y0 && py <= y0 + box_h;
          }
        }
      if (inside < fewest) fewest = inside, best_x = x0, best_y = y0;
    }
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_rectangle(cr, best_x, best_y, box_w, box_h);
  cairo_fill(cr);
  double y = best_y + 17;
  for (std::size_t s = 0; s < entries.size(); ++s, y += 18) {
    const bool is_target = s == series.size();
    const Rgb c = is_target ? Rgb{0.3, 0.3, 0.3} : kPalette[s % std::size(kPalette)];
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    if (!is_target) {
      cairo_rectangle(cr, best_x + 6, y - 9, 18, 4);
      cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, is_target ? 0.3 : 0.1, is_target ? 0.3 : 0.1, is_target ? 0.3 : 0.1);
    text_at(entries[s], best_x + 30, y, 0.0);
  }
}

std::optional<double> target_for(const std::string& env, const PlotOptions& options) {
  const auto it = options.env_targets.find(env);
  return it != options.env_targets.end() ? std::optional<double>(it->second) : options.target;
}

// The data ranges of `series` (with the target), on the plot area inside the panel at (x0, y0).
Axes axes_in(const std::vector<const Series*>& series, std::optional<double> target, double x0,
             double y0, double width, double height, bool titled) {
  Axes a;
  a.x_min = INFINITY, a.x_max = -INFINITY, a.y_min = INFINITY, a.y_max = -INFINITY;
  for (const Series* s : series)
    for (std::size_t i = 0; i < s->x.size(); ++i) {
      a.x_min = std::min(a.x_min, s->x[i]);
      a.x_max = std::max(a.x_max, s->x[i]);
      a.y_min = std::min(a.y_min, s->low[i]);
      a.y_max = std::max(a.y_max, s->high[i]);
    }
  if (target) {
    a.y_min = std::min(a.y_min, *target);
    a.y_max = std::max(a.y_max, *target);
  }
  a.x_min = std::min(a.x_min, 0.0);
  if (a.x_max <= a.x_min) a.x_max = a.x_min + 1;
  const double pad = a.y_max > a.y_min ? 0.05 * (a.y_max - a.y_min) : 1.0;
  a.y_min -= pad;
  a.y_max += pad;
  a.left = x0 + 80;
  a.right = x0 + width - 20;
  a.top = y0 + (titled ? 34 : 20);
  a.bottom = y0 + height - 60;
  return a;
}

// "ppo_cartpole-clip-s0" -> "ppo_cartpole-clip": a seed group is labelled by what its runs share.
std::string without_seed_suffix(const std::string& name) {
  const std::size_t dash = name.find_last_of("-_");
  if (dash == std::string::npos || dash + 2 > name.size() || name[dash + 1] != 's') return name;
  const std::string digits = name.substr(dash + 2);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return name;
  return name.substr(0, dash);
}

}  // namespace

std::vector<Series> read_series(const std::vector<fs::path>& runs, const PlotOptions& options) {
  if (runs.empty()) throw Error("plot needs at least one run directory");
  if (!(options.smooth_fraction >= 0 && options.smooth_fraction < 1))
    throw Error("--smooth P% takes a percentage from 0 to below 100, got " +
                std::to_string(options.smooth_fraction * 100) + "%");
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
    s.label = group.size() > 1 ? without_seed_suffix(group.front().name) : group.front().name;
    s.env = group.front().env;
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
  std::vector<const Series*> all;
  for (const auto& s : series) all.push_back(&s);
  return axes_in(all, options.target, 0, 0, options.width, options.height, false);
}

Layout layout_for(const std::vector<Series>& series, const PlotOptions& options) {
  Layout layout;
  if (!options.panels) {
    Layout::Panel panel;
    for (std::size_t i = 0; i < series.size(); ++i) panel.series.push_back(i);
    panel.axes = axes_for(series, options);
    layout.panels.push_back(std::move(panel));
    layout.width = options.width;
    layout.height = options.height;
    return layout;
  }
  for (std::size_t i = 0; i < series.size(); ++i) {
    auto it = std::find_if(layout.panels.begin(), layout.panels.end(),
                           [&](const auto& p) { return p.env == series[i].env; });
    if (it == layout.panels.end()) {
      layout.panels.push_back({series[i].env, {}, {}});
      it = layout.panels.end() - 1;
    }
    it->series.push_back(i);
  }
  const int n = static_cast<int>(layout.panels.size());
  const int columns = std::min(n, 3), rows = (n + columns - 1) / columns;
  layout.width = columns * options.width;
  layout.height = rows * options.height;
  for (int p = 0; p < n; ++p) {
    Layout::Panel& panel = layout.panels[static_cast<std::size_t>(p)];
    std::vector<const Series*> members;
    for (const std::size_t i : panel.series) members.push_back(&series[i]);
    panel.axes = axes_in(members, target_for(panel.env, options), (p % columns) * options.width,
                         (p / columns) * options.height, options.width, options.height, true);
  }
  return layout;
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
  const Layout layout = layout_for(series, options);
  const auto draw = [&](cairo_t* cr) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    for (const auto& panel : layout.panels) {
      std::vector<const Series*> members;
      for (const std::size_t i : panel.series) members.push_back(&series[i]);
      draw_panel(cr, members, options, panel.axes, target_for(panel.env, options),
                 options.panels ? panel.env : std::string());
    }
  };
  // Drawn to a temporary beside the file, then renamed: a failed write leaves nothing.
  const fs::path tmp = dir / ("." + out.filename().string() + ".tmp." + std::to_string(::getpid()));
  cairo_status_t status;
  if (ext == ".svg") {
    cairo_surface_t* surface = cairo_svg_surface_create(tmp.c_str(), layout.width, layout.height);
    cairo_t* cr = cairo_create(surface);
    draw(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
  } else {
    cairo_surface_t* surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, layout.width, layout.height);
    cairo_t* cr = cairo_create(surface);
    draw(cr);
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
