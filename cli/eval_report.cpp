#include "cli/eval_report.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "core/sample_statistics.h"

namespace trustrl::cli {

namespace {

nlohmann::json summary_json(const std::vector<double>& values) {
  const SampleSummary s = summarize(values);
  nlohmann::json j = {{"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"max", s.max}};
  // One episode says nothing about the spread: null bounds rather than a zero-width interval.
  j["ci95"] = {{"method", "student-t"},
               {"low", s.mean_ci95 ? nlohmann::json(s.mean_ci95->low) : nlohmann::json()},
               {"high", s.mean_ci95 ? nlohmann::json(s.mean_ci95->high) : nlohmann::json()}};
  return j;
}

}  // namespace

std::string eval_report_json(const EvalSetup& setup, const agents::EvalResult& result) {
  const std::vector<double> lengths(result.lengths.begin(), result.lengths.end());
  nlohmann::json j;
  j["env_id"] = setup.env_id;
  j["spec_hash"] = setup.spec_hash;
  j["policy_file"] = setup.policy_file;
  j["env_server"] = setup.env_server.empty() ? nlohmann::json() : nlohmann::json(setup.env_server);
  j["seed"] = setup.seed;
  j["deterministic"] = setup.deterministic;
  j["multi_agent"] = setup.multi_agent;
  j["episodes"] = result.returns.size();
  j["return"] = summary_json(result.returns);
  j["length"] = summary_json(lengths);
  j["returns"] = result.returns;
  j["lengths"] = result.lengths;
  if (setup.multi_agent) {
    // "return" is each episode's mean over agents; the team return sums the agents' rewards.
    j["team_return"] = summary_json(result.team_returns);
    j["team_returns"] = result.team_returns;
  }
  return j.dump(2) + "\n";
}

}  // namespace trustrl::cli
