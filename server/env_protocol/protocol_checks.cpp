#include "server/env_protocol/protocol_checks.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"
#include "core/rng.h"
#include "envs/multi_agent_env.h"
#include "server/env_protocol/spec_hash.h"
#include "server/transport/transport.h"

namespace trustrl::server {

namespace {

using envs::CheckFailed;
using envs::run_check;

wire::SessionRequest handshake_request(const wire::ServerInfo& info) {
  wire::SessionRequest r;
  auto* h = r.mutable_handshake();
  h->set_protocol_version(kProtocolVersion);
  // check-env reads no array it cannot size for either kind of env.
  h->add_capabilities(wire::CAPABILITY_MULTI_AGENT);
  h->set_spec_hash(info.spec_hash());
  h->set_client_name("trustrl check-env");
  return r;
}

wire::SessionRequest reset_request(std::uint64_t seed) {
  wire::SessionRequest r;
  r.mutable_reset()->set_seed(seed);
  return r;
}

class Prober {
 public:
  Prober(const Endpoint& endpoint, double timeout_s)
      : endpoint_(endpoint), timeout_s_(timeout_s), channel_(make_channel(endpoint)) {}

  const wire::ServerInfo& info() {
    if (!have_info_) {
      const grpc::Status s = get_server_info(channel_, endpoint_.token, timeout_s_, &info_);
      if (!s.ok()) throw CheckFailed{"GetSpec failed: " + describe(s)};
      have_info_ = true;
    }
    return info_;
  }

  // Sends `requests` in order on a fresh session, each waiting for its answer; returns the first
  // non-OK status (OK if all were answered) and the answers received.
  grpc::Status exchange(const std::vector<wire::SessionRequest>& requests,
                        std::vector<wire::SessionResponse>* answers = nullptr) {
    SessionClient session(channel_, endpoint_.token);
    for (const auto& request : requests) {
      wire::SessionResponse response;
      grpc::Status s = session.call(request, &response, timeout_s_);
      if (!s.ok()) return s;
      if (answers) answers->push_back(std::move(response));
    }
    session.close(timeout_s_);
    return grpc::Status::OK;
  }

  // The last request of `requests` must be refused with `code` and a message; the ones before it
  // must be answered.
  std::string expect_refusal(const std::vector<wire::SessionRequest>& requests,
                             grpc::StatusCode code) {
    std::vector<wire::SessionResponse> answers;
    const grpc::Status s = exchange(requests, &answers);
    const std::string what = std::string("expected ") + status_code_name(code);
    if (s.ok()) throw CheckFailed{what + ", but the request was answered as if valid"};
    if (answers.size() + 1 != requests.size())
      throw CheckFailed{"request " + std::to_string(answers.size() + 1) + " of " +
                        std::to_string(requests.size()) + " (valid) was refused: " + describe(s)};
    if (s.error_code() != code) throw CheckFailed{what + ", got " + describe(s)};
    if (s.error_message().empty())
      throw CheckFailed{std::string("refused with ") + status_code_name(code) +
                        " but an empty message; say what is wrong and how to fix it"};
    return "refused: " + describe(s);
  }

  wire::SessionRequest valid_step() {
    wire::SessionRequest r;
    fill_valid_actions(info().spec(), info().num_envs(), r.mutable_step());
    return r;
  }

 private:
  Endpoint endpoint_;
  double timeout_s_;
  std::shared_ptr<grpc::Channel> channel_;
  wire::ServerInfo info_;
  bool have_info_ = false;
};

// Steps a multi-agent env with random valid joint actions (sentinels for inactive agents) until
// some agent is inactive, then sends a real action for it: the server must refuse it.
std::string inactive_agent_probe(const Endpoint& endpoint, const wire::ServerInfo& info,
                                 std::uint64_t seed, double timeout_s) {
  constexpr int kMaxSteps = 2000;
  const wire::EnvSpec& spec = info.spec();
  const int n = info.num_envs(), agents = spec.num_agents();
  std::vector<envs::Space> spaces;
  for (const auto& agent : spec.agents())
    spaces.push_back(from_wire(agent.action_space(), "space"));
  SessionClient session(make_channel(endpoint), endpoint.token);
  wire::SessionResponse response;
  for (const auto& r : {handshake_request(info), reset_request(seed)})
    if (grpc::Status s = session.call(r, &response, timeout_s); !s.ok())
      throw CheckFailed{"a valid session failed: " + describe(s)};
  std::vector<bool> active(response.reset().agent_active().begin(),
                           response.reset().agent_active().end());
  if (active.size() != static_cast<std::size_t>(n * agents))
    throw CheckFailed{"the reset sent " + std::to_string(active.size()) +
                      " agent_active values, expected " + std::to_string(n * agents)};
  Rng rng(seed);
  // Random valid actions for the current mask; slot `probe_slot` (copy * A + agent) gets a real
  // one even when inactive.
  auto joint_step = [&](int probe_slot) {
    wire::SessionRequest r;
    auto* step = r.mutable_step();
    for (int k = 0; k < n * agents; ++k) {
      const envs::Space& space = spaces[static_cast<std::size_t>(k % agents)];
      const auto dim = static_cast<std::size_t>(space.flat_dim());
      const bool act = active[static_cast<std::size_t>(k)] || k == probe_slot;
      if (space.is_discrete()) {
        std::vector<std::int64_t> v(dim, envs::kNoDiscreteAction);
        if (act) space.sample(rng, std::span(v));
        step->mutable_discrete_actions()->Add(v.begin(), v.end());
      } else {
        std::vector<float> v(dim, envs::kNoContinuousAction);
        if (act) space.sample(rng, std::span(v));
        step->mutable_continuous_actions()->Add(v.begin(), v.end());
      }
    }
    return r;
  };
  for (int t = 0; t < kMaxSteps; ++t) {
    for (int k = 0; k < n * agents; ++k) {
      if (active[static_cast<std::size_t>(k)]) continue;
      const grpc::Status s = session.call(joint_step(k), &response, timeout_s);
      const std::string who = "copy " + std::to_string(k / agents) + ", agent " +
                              std::to_string(k % agents) + " (inactive after step " +
                              std::to_string(t) + ")";
      if (s.ok()) throw CheckFailed{"a real action for " + who + " was answered as if valid"};
      if (s.error_code() != grpc::StatusCode::INVALID_ARGUMENT)
        throw CheckFailed{"an action for " + who + ": expected INVALID_ARGUMENT, got " +
                          describe(s)};
      return "an action for " + who + " refused: " + describe(s);
    }
    if (grpc::Status s = session.call(joint_step(-1), &response, timeout_s); !s.ok())
      throw CheckFailed{"step " + std::to_string(t) +
                        " with valid random actions failed: " + describe(s)};
    if (response.step().agent_active_size() != n * agents)
      throw CheckFailed{"step " + std::to_string(t) + " sent " +
                        std::to_string(response.step().agent_active_size()) +
                        " agent_active values, expected " + std::to_string(n * agents)};
    for (int k = 0; k < n * agents; ++k)
      active[static_cast<std::size_t>(k)] = response.step().agent_active(k);
  }
  return "no agent went inactive in " + std::to_string(kMaxSteps) +
         " steps of random actions: not tested";
}

}  // namespace

void fill_valid_actions(const wire::EnvSpec& spec, int num_envs, wire::StepRequest* step) {
  std::vector<const wire::Space*> spaces;
  if (spec.num_agents() == 0)
    spaces.push_back(&spec.action_space());
  else
    for (const auto& agent : spec.agents()) spaces.push_back(&agent.action_space());
  for (int i = 0; i < num_envs; ++i) {
    for (const wire::Space* s : spaces) {
      switch (s->kind()) {
        case wire::SPACE_KIND_DISCRETE:
          step->add_discrete_actions(s->start());
          break;
        case wire::SPACE_KIND_MULTI_DISCRETE:
          for (int k = 0; k < s->nvec_size(); ++k) step->add_discrete_actions(0);
          break;
        default:
          for (int k = 0; k < s->low_size(); ++k)
            step->add_continuous_actions(std::clamp(0.0f, s->low(k), s->high(k)));
      }
    }
  }
}

std::vector<envs::ConformanceCheck> run_protocol_checks(const Endpoint& endpoint,
                                                        double timeout_s) {
  using Code = grpc::StatusCode;
  Prober probe(endpoint, timeout_s);
  std::vector<envs::ConformanceCheck> out;
  const std::uint64_t seed = 2024;

  out.push_back(run_check("GetSpec describes a valid spec", [&] {
    const wire::ServerInfo& info = probe.info();
    if (info.protocol_version() != kProtocolVersion)
      throw CheckFailed{"protocol_version is " + std::to_string(info.protocol_version()) +
                        ", trustrl speaks " + std::to_string(kProtocolVersion)};
    try {
      validate(info.spec());
    } catch (const Error& e) {
      throw CheckFailed{e.what()};
    }
    const std::uint64_t hash = spec_hash(info.spec());
    if (info.spec_hash() != hash)
      throw CheckFailed{"spec_hash is " + hash_text(info.spec_hash()) + " but the spec hashes to " +
                        hash_text(hash) + " (docs/REMOTE_ENVS.md, SpecHash)"};
    if (info.num_envs() < 1)
      throw CheckFailed{"num_envs is " + std::to_string(info.num_envs()) + "; serve at least 1"};
    return info.server_name() + ": " + info.spec().id() + ", " + describe(info.spec()) + ", " +
           std::to_string(info.num_envs()) + " copies, spec hash " + hash_text(hash);
  }));

  out.push_back(run_check("handshake, reset and step are answered", [&] {
    std::vector<wire::SessionResponse> answers;
    const grpc::Status s = probe.exchange(
        {handshake_request(probe.info()), reset_request(seed), probe.valid_step()}, &answers);
    if (!s.ok())
      throw CheckFailed{"request " + std::to_string(answers.size() + 1) +
                        " failed: " + describe(s)};
    if (!answers[0].has_handshake() || !answers[1].has_reset() || !answers[2].has_step())
      throw CheckFailed{"the answers do not match the requests (handshake, reset, step)"};
    if (answers[0].handshake().server().spec_hash() != probe.info().spec_hash())
      throw CheckFailed{"the handshake's spec hash differs from GetSpec's"};
    return std::string("in order, one answer each");
  }));

  out.push_back(run_check("pipelined requests are answered in order", [&] {
    SessionClient session(make_channel(endpoint), endpoint.token);
    std::vector<wire::SessionRequest> requests = {handshake_request(probe.info()),
                                                  reset_request(seed)};
    for (int k = 0; k < 4; ++k) requests.push_back(probe.valid_step());
    for (const auto& r : requests)
      if (grpc::Status s = session.send(r, timeout_s); !s.ok())
        throw CheckFailed{"sending failed: " + describe(s)};
    for (std::size_t k = 0; k < requests.size(); ++k) {
      wire::SessionResponse response;
      if (grpc::Status s = session.receive(&response, timeout_s); !s.ok())
        throw CheckFailed{"answer " + std::to_string(k + 1) + " of " +
                          std::to_string(requests.size()) + " failed: " + describe(s)};
      if (static_cast<int>(response.payload_case()) != static_cast<int>(requests[k].payload_case()))
        throw CheckFailed{"answer " + std::to_string(k + 1) + " does not match its request"};
    }
    session.close(timeout_s);
    return std::to_string(requests.size()) + " requests sent at once, answered one each, in order";
  }));

  out.push_back(run_check("a request before the handshake is refused", [&] {
    return probe.expect_refusal({reset_request(seed)}, Code::FAILED_PRECONDITION);
  }));

  out.push_back(run_check("a step before any reset is refused", [&] {
    return probe.expect_refusal({handshake_request(probe.info()), probe.valid_step()},
                                Code::FAILED_PRECONDITION);
  }));

  out.push_back(run_check("another protocol version is refused at the handshake", [&] {
    wire::SessionRequest r = handshake_request(probe.info());
    r.mutable_handshake()->set_protocol_version(kProtocolVersion + 100);
    return probe.expect_refusal({r}, Code::FAILED_PRECONDITION);
  }));

  out.push_back(run_check("a spec mismatch is refused at the handshake", [&] {
    wire::SessionRequest r = handshake_request(probe.info());
    wire::EnvSpec other = probe.info().spec();
    other.set_max_episode_steps(other.max_episode_steps() + 7);
    r.mutable_handshake()->set_spec_hash(spec_hash(other));
    *r.mutable_handshake()->mutable_expected_spec() = other;
    return probe.expect_refusal({r}, Code::FAILED_PRECONDITION);
  }));

  out.push_back(run_check("another copy count is refused at the handshake", [&] {
    wire::SessionRequest r = handshake_request(probe.info());
    r.mutable_handshake()->set_num_envs(probe.info().num_envs() + 1);
    return probe.expect_refusal({r}, Code::FAILED_PRECONDITION);
  }));

  if (probe.info().spec().num_agents() > 0) {
    out.push_back(run_check("a client without CAPABILITY_MULTI_AGENT is refused", [&] {
      wire::SessionRequest r = handshake_request(probe.info());
      r.mutable_handshake()->clear_capabilities();
      return probe.expect_refusal({r}, Code::FAILED_PRECONDITION);
    }));
    out.push_back(run_check("a step missing an agent's actions is refused", [&] {
      // The last agent's components of the last copy are dropped from their field.
      const wire::EnvSpec& spec = probe.info().spec();
      const wire::Space& last = spec.agents(spec.agents_size() - 1).action_space();
      wire::SessionRequest step = probe.valid_step();
      auto* s = step.mutable_step();
      if (last.kind() == wire::SPACE_KIND_BOX)
        s->mutable_continuous_actions()->Truncate(s->continuous_actions_size() - last.low_size());
      else
        s->mutable_discrete_actions()->Truncate(
            s->discrete_actions_size() -
            (last.kind() == wire::SPACE_KIND_DISCRETE ? 1 : last.nvec_size()));
      return probe.expect_refusal({handshake_request(probe.info()), reset_request(seed), step},
                                  Code::INVALID_ARGUMENT);
    }));
  }

  if (probe.info().spec().num_agents() > 0) {
    out.push_back(run_check("an active agent sending the no-action sentinel is refused", [&] {
      const wire::EnvSpec& spec = probe.info().spec();
      wire::SessionRequest step = probe.valid_step();
      auto* s = step.mutable_step();
      if (spec.agents(0).action_space().kind() == wire::SPACE_KIND_BOX)
        s->set_continuous_actions(0, NAN);
      else
        s->set_discrete_actions(0, -1);
      return probe.expect_refusal({handshake_request(probe.info()), reset_request(seed), step},
                                  Code::INVALID_ARGUMENT);
    }));
    out.push_back(run_check("an action for an inactive agent is refused", [&] {
      return inactive_agent_probe(endpoint, probe.info(), seed, timeout_s);
    }));
  }

  out.push_back(run_check("an empty request is refused", [&] {
    return probe.expect_refusal({handshake_request(probe.info()), wire::SessionRequest()},
                                Code::INVALID_ARGUMENT);
  }));

  out.push_back(run_check("a step with the wrong number of actions is refused", [&] {
    wire::SessionRequest step = probe.valid_step();
    if (step.step().discrete_actions_size())
      step.mutable_step()->add_discrete_actions(step.step().discrete_actions(0));
    else
      step.mutable_step()->add_continuous_actions(step.step().continuous_actions(0));
    return probe.expect_refusal({handshake_request(probe.info()), reset_request(seed), step},
                                Code::INVALID_ARGUMENT);
  }));

  out.push_back(run_check("actions of the wrong dtype are refused", [&] {
    wire::SessionRequest step = probe.valid_step();
    auto* s = step.mutable_step();
    if (s->discrete_actions_size()) {
      for (const auto a : s->discrete_actions()) s->add_continuous_actions(static_cast<float>(a));
      s->clear_discrete_actions();
    } else {
      for (const auto a : s->continuous_actions())
        s->add_discrete_actions(static_cast<std::int64_t>(a));
      s->clear_continuous_actions();
    }
    return probe.expect_refusal({handshake_request(probe.info()), reset_request(seed), step},
                                Code::INVALID_ARGUMENT);
  }));

  out.push_back(run_check("an invalid action value is refused", [&] {
    wire::SessionRequest step = probe.valid_step();
    auto* s = step.mutable_step();
    const wire::EnvSpec& spec = probe.info().spec();
    const wire::Space& space =
        spec.num_agents() == 0 ? spec.action_space() : spec.agents(0).action_space();
    std::string what;
    if (space.kind() == wire::SPACE_KIND_DISCRETE) {
      s->set_discrete_actions(0, space.start() + space.n());
      what = "out-of-range value " + std::to_string(space.start() + space.n());
    } else if (space.kind() == wire::SPACE_KIND_MULTI_DISCRETE) {
      s->set_discrete_actions(0, space.nvec(0));
      what = "out-of-range value " + std::to_string(space.nvec(0));
    } else {
      s->set_continuous_actions(0, NAN);
      what = "NaN";
    }
    return what + " " +
           probe.expect_refusal({handshake_request(probe.info()), reset_request(seed), step},
                                Code::INVALID_ARGUMENT);
  }));

  if (!endpoint.token.empty()) {
    out.push_back(run_check("a call without the token is refused", [&] {
      Endpoint anonymous = endpoint;
      anonymous.token.clear();
      wire::ServerInfo ignored;
      const grpc::Status s = get_server_info(make_channel(anonymous), "", timeout_s, &ignored);
      if (s.error_code() != Code::UNAUTHENTICATED)
        throw CheckFailed{"GetSpec without a token: expected UNAUTHENTICATED, got " + describe(s)};
      return "refused: " + describe(s);
    }));
  }

  out.push_back(run_check("the server still serves after the refusals", [&] {
    const grpc::Status s =
        probe.exchange({handshake_request(probe.info()), reset_request(seed), probe.valid_step()});
    if (!s.ok()) throw CheckFailed{"a valid session failed: " + describe(s)};
    return std::string("a fresh session was served");
  }));
  return out;
}

}  // namespace trustrl::server
