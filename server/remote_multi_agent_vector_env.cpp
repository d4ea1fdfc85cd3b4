#include "server/remote_multi_agent_vector_env.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"
#include "server/transport.h"

namespace trustrl::server {

namespace {

SessionLink::Handshake multi_agent_handshake(const RemoteEnvOptions& options,
                                             const std::optional<envs::MultiAgentSpec>& expected) {
  if (options.expected_spec)
    throw Error("simulator at " + options.address +
                ": a multi-agent remote env takes its expected spec as a MultiAgentSpec; "
                "RemoteEnvOptions::expected_spec (a single-agent spec) must be unset");
  SessionLink::Handshake h;
  h.multi_agent = true;
  if (expected) h.expected_spec = to_wire(*expected);
  h.check_spec = [](const wire::EnvSpec& spec) { multi_agent_from_wire(spec); };
  return h;
}

}  // namespace

RemoteMultiAgentVectorEnv::RemoteMultiAgentVectorEnv(
    RemoteEnvOptions options, std::optional<envs::MultiAgentSpec> expected_spec)
    : link_(options, multi_agent_handshake(options, expected_spec)) {
  link_.connect("could not open a session", grpc::Status::OK);
  spec_ = multi_agent_from_wire(link_.info().spec());
  layout_ = std::make_unique<AgentLayout>(spec_);
  const int n = link_.info().num_envs();
  buffers_.resize(n, spec_.num_agents(), layout_->padded_obs, layout_->state_dim);
  running_agent_returns_.assign(buffers_.rewards.size(), 0.0);
  running_lengths_.assign(static_cast<std::size_t>(n), 0);
}

grpc::Status RemoteMultiAgentVectorEnv::send_reset(std::uint64_t seed) {
  request_.mutable_reset()->set_seed(seed);
  grpc::Status status = link_.call(request_, &response_);
  if (!status.ok()) return status;
  if (!response_.has_reset())
    fail(source() + " answered a reset with another message (payload case " +
         std::to_string(response_.payload_case()) + ")");
  try {
    read_reset(*layout_, response_.reset(), buffers_, source());
  } catch (const Error& e) {
    fail(e.what());
  }
  std::fill(running_agent_returns_.begin(), running_agent_returns_.end(), 0.0);
  std::fill(running_lengths_.begin(), running_lengths_.end(), 0);
  running_ = true;
  return grpc::Status::OK;
}

void RemoteMultiAgentVectorEnv::reset(std::uint64_t seed) {
  seed_ = seed;
  running_ = false;
  grpc::Status status = grpc::Status::OK;
  if (link_.connected()) {
    status = send_reset(seed);
    if (status.ok()) return;
    if (!is_transient(status)) fail(source() + " refused the reset: " + describe(status));
  }
  // No session (an error ended it) or it broke: open one, with retries, and reset there.
  link_.connect(status.ok() ? "could not open a session" : "lost during a reset", status,
                [this, seed] { return send_reset(seed); });
}

void RemoteMultiAgentVectorEnv::step(const envs::ActionBatch& actions) {
  if (!running_)
    throw Error(source() +
                ": step() called before reset() (or after an error ended the session); "
                "call reset() first");
  // Checked here as a local env checks it, so a bad batch costs no round trip and no session.
  if (std::string e = joint_action_error(spec_, buffers_.num_envs, buffers_.active, actions);
      !e.empty())
    throw Error(source() + " (" + spec_.id + "): " + e);

  wire::StepRequest& step = *request_.mutable_step();
  step.Clear();
  pack_actions(*layout_, buffers_.num_envs, actions, &step);

  const grpc::Status status = link_.call(request_, &response_);
  if (!status.ok()) {
    if (is_transient(status)) return recover(status);
    fail(source() + " refused the step: " + describe(status));
  }
  if (!response_.has_step())
    fail(source() + " answered a step with another message (payload case " +
         std::to_string(response_.payload_case()) + ")");
  try {
    read_step(*layout_, response_.step(), buffers_, source());
  } catch (const Error& e) {
    fail(e.what());
  }
  // Per-agent episode returns are not on the wire: summed here in the order
  // LocalVectorEnv sums them, so they match it bit for bit.
  const auto agents = static_cast<std::size_t>(buffers_.num_agents);
  for (std::size_t i = 0; i < running_lengths_.size(); ++i) {
    double* running = &running_agent_returns_[i * agents];
    for (std::size_t k = 0; k < agents; ++k) running[k] += buffers_.rewards[i * agents + k];
    running_lengths_[i] += 1;
    if (!buffers_.done(static_cast<int>(i))) continue;
    for (std::size_t k = 0; k < agents; ++k) {
      buffers_.agent_episode_returns[i * agents + k] = running[k];
      running[k] = 0.0;
    }
    running_lengths_[i] = 0;
  }
}

void RemoteMultiAgentVectorEnv::recover(const grpc::Status& error) {
  // What the learner last saw becomes the final view of every cut episode.
  const std::vector<float> observations = buffers_.observations;
  const std::vector<float> states = buffers_.states;
  const std::vector<std::uint8_t> active = buffers_.active;
  const std::vector<double> returns = running_agent_returns_;
  const std::vector<std::int32_t> lengths = running_lengths_;
  const auto n = static_cast<std::size_t>(buffers_.num_envs);
  const auto agents = static_cast<std::size_t>(buffers_.num_agents);
  cut_episodes_ += static_cast<std::int64_t>(n);
  // Fresh episodes, seeded from the run's seed so that a rerun with the same failures repeats.
  const std::uint64_t seed = Rng::derive(seed_, static_cast<std::uint64_t>(reconnects_) + 1);
  try {
    link_.connect("lost mid-run, " + std::to_string(n) + " episodes cut", error,
                  [this, seed] { return send_reset(seed); });
  } catch (...) {
    running_ = false;
    throw;
  }
  ++reconnects_;
  buffers_.final_observations = observations;
  buffers_.final_states = states;
  buffers_.final_active = active;
  buffers_.agent_episode_returns = returns;
  std::fill(buffers_.rewards.begin(), buffers_.rewards.end(), 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    buffers_.terminated[i] = 0;
    buffers_.truncated[i] = 1;
    double team = 0.0;
    for (std::size_t k = 0; k < agents; ++k) team += returns[i * agents + k];
    buffers_.episode_returns[i] = team;
    buffers_.episode_lengths[i] = lengths[i];
  }
}

void RemoteMultiAgentVectorEnv::fail(const std::string& message) {
  running_ = false;
  link_.fail(message);
}

envs::VectorEnvMaker remote_multi_agent_env_maker(const RemoteEnvOptions& base) {
  return [base](int num_envs, std::optional<int> time_limit) -> std::unique_ptr<envs::VectorEnv> {
    const RemoteEnvOptions options = suite_options(base, num_envs, time_limit);
    return std::make_unique<RemoteMultiAgentVectorEnv>(options);
  };
}

}  // namespace trustrl::server
