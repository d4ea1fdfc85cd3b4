#pragma once
// The vector envs the CLI can train and evaluate on: local copies of a registered env, or (when
// the config names one) a remote env server.

#include <optional>
#include <string>

#include "agents/vector_env_factory.h"
#include "trustrl/env/v1/env.pb.h"

namespace trustrl::cli {

/// What to do when a remote env server serves another spec (spec hash) than the registered env
/// the config or the policy names would have here: say so in one line on stderr, or refuse.
enum class SpecMismatch { kWarn, kRefuse };

/// Local copies of env.id (single- or multi-agent), or a RemoteVectorEnv when env.remote is set,
/// whose spec is compared with the registered env's here (when there is one).
agents::VectorEnvFactory env_factory(SpecMismatch on_mismatch = SpecMismatch::kWarn);

/// One line saying how the spec `source` serves (`served`) differs from `local`, the spec of
/// the env `env.id` with `env.options` here; none when their spec hashes agree. The caller warns
/// or refuses (SpecMismatch), so this is a finding, not an error.
std::optional<std::string> spec_mismatch(const agents::EnvConfig& env, const std::string& source,
                                         const ::trustrl::env::v1::EnvSpec& local,
                                         const ::trustrl::env::v1::EnvSpec& served);

}  // namespace trustrl::cli
