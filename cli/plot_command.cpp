// `trustrl plot RUN... -o curves.png|.svg [--metric NAME] [--x steps|time] [--target Y]
//  [--smooth W]`

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "plot/learning_curves.h"

namespace trustrl::cli {

namespace {

struct PlotArgs {
  std::vector<std::string> runs;
  std::string out;
  std::string metric = "charts/episodic_return";
  std::string x = "steps";
  std::optional<double> target;
  double smooth = 0;
};

void run_plot(const PlotArgs& args) {
  plot::PlotOptions options;
  options.metric = args.metric;
  options.wall_time = args.x == "time";
  options.target = args.target;
  options.smooth = args.smooth;
  std::vector<std::filesystem::path> runs(args.runs.begin(), args.runs.end());
  const auto series = plot::read_series(runs, options);
  plot::render(series, options, args.out);
  std::printf("wrote %s (%zu line(s) from %zu run(s))\n", args.out.c_str(), series.size(),
              runs.size());
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto args = std::make_shared<PlotArgs>();
  auto* cmd = app.add_subcommand(
      "plot", "Plot runs' learning curves (seeds of one config as mean with a min-max band)");
  cmd->add_option("runs", args->runs, "run directories")->required();
  cmd->add_option("-o,--out", args->out, "the picture to write: .png or .svg")->required();
  cmd->add_option("--metric", args->metric, "the metrics.csv column to plot");
  cmd->add_option("--x", args->x, "steps (env steps) or time (wall seconds)")
      ->check(CLI::IsMember({"steps", "time"}));
  cmd->add_option("--target", args->target, "draw a horizontal line at this value");
  cmd->add_option("--smooth", args->smooth,
                  "plot each run's mean over the last W env steps (seconds with --x time) up to "
                  "each point; 0: as "
                  "logged");
  cmd->callback([args] { run_plot(*args); });
}

}  // namespace trustrl::cli
