// `trustrl plot RUN... -o curves.png|.svg [--metric NAME] [--x steps|time] [--target [ENV=]Y]...
//  [--smooth W] [--panels]`

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/command_list.h"
#include "cli/commands.h"
#include "core/error.h"
#include "plot/learning_curves.h"

namespace trustrl::cli {

namespace {

struct PlotArgs {
  std::vector<std::string> runs;
  std::string out;
  std::string metric = "charts/episodic_return";
  std::string x = "steps";
  std::vector<std::string> targets;
  std::string smooth = "0";
  bool panels = false;
};

// "200" (every panel) or "LunarLander-v3=200" (that env's panel).
void add_target(const std::string& text, plot::PlotOptions& options) {
  const std::size_t eq = text.rfind('=');
  const std::string number = eq == std::string::npos ? text : text.substr(eq + 1);
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || *end != '\0' || !std::isfinite(value))
    throw Error("--target takes a number or ENV=NUMBER (e.g. --target LunarLander-v3=200), got '" +
                text + "'");
  if (eq == std::string::npos)
    options.target = value;
  else
    options.env_targets[text.substr(0, eq)] = value;
}

// "50000" (env steps, or seconds with --x time) or "5%" (of each run's length).
void set_smooth(const std::string& text, plot::PlotOptions& options) {
  const bool percent = !text.empty() && text.back() == '%';
  const std::string number = percent ? text.substr(0, text.size() - 1) : text;
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || *end != '\0' || !std::isfinite(value))
    throw Error(
        "--smooth takes a window W or a share of each run P% (e.g. --smooth 50000, --smooth "
        "5%), got '" +
        text + "'");
  (percent ? options.smooth_fraction : options.smooth) = percent ? value / 100 : value;
}

void run_plot(const PlotArgs& args) {
  plot::PlotOptions options;
  options.metric = args.metric;
  options.wall_time = args.x == "time";
  for (const auto& t : args.targets) add_target(t, options);
  set_smooth(args.smooth, options);
  options.panels = args.panels;
  if (args.panels) {  // a grid of up to three columns: smaller panels than the single picture
    options.width = 600;
    options.height = 400;
  }
  std::vector<std::filesystem::path> runs(args.runs.begin(), args.runs.end());
  const auto series = plot::read_series(runs, options);
  plot::render(series, options, args.out);
  std::printf("wrote %s (%zu line(s) from %zu run(s))\n", args.out.c_str(), series.size(),
              runs.size());
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto args = std::make_shared<PlotArgs>();
  auto* cmd = app.add_subcommand("plot", summary_of("plot"));
  cmd->add_option("runs", args->runs, "run directories")->required();
  cmd->add_option("-o,--out", args->out, "the picture to write: .png or .svg")->required();
  cmd->add_option("--metric", args->metric, "the metrics.csv column to plot");
  cmd->add_option("--x", args->x, "steps (env steps) or time (wall seconds)")
      ->check(CLI::IsMember({"steps", "time"}));
  cmd->add_option("--target", args->targets,
                  "draw a horizontal line at this value; ENV=VALUE draws it in that env's panel "
                  "only (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--panels", args->panels,
                "one 600x400 panel per env id, in a grid of up to three columns, each with its "
                "own axes");
  cmd->add_option("--smooth", args->smooth,
                  "plot each run's mean over the last W env steps (seconds with --x time) up to "
                  "each point, or over the last P% of the run's length (--smooth 5%); 0: as "
                  "logged");
  cmd->callback([args] { run_plot(*args); });
}

}  // namespace trustrl::cli
