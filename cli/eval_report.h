#pragma once
// `trustrl eval --json` / `--out FILE`: the evaluation as one JSON object for scripts and CI.
// README.md (Evaluate) lists the fields.

#include <cstdint>
#include <string>

#include "agents/evaluate.h"

namespace trustrl::cli {

/// What was evaluated, beside the returns themselves.
struct EvalSetup {
  std::string env_id;
  /// The spec hash of the env played (server/env_protocol/spec_hash.h), "0x..." text.
  std::string spec_hash;
  std::string policy_file;
  /// "host:port" of --env-server, empty for local copies.
  std::string env_server;
  std::uint64_t seed = 0;
  bool deterministic = false;
  bool multi_agent = false;
};

/// The report, pretty-printed JSON ending in a newline.
std::string eval_report_json(const EvalSetup& setup, const agents::EvalResult& result);

}  // namespace trustrl::cli
