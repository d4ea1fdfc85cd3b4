// RemoteVectorEnv against an in-process EnvServer over loopback: the conformance suite, parity
// with LocalVectorEnv, authentication, spec checks.

#include "server/remote_vector_env.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "envs/registry.h"
#include "server/env_server.h"

namespace trustrl::server {
namespace {

RemoteEnvOptions client_for(const EnvServer& server) {
  RemoteEnvOptions options;
  options.address = server.address();
  options.connect_timeout_s = 20;
  options.request_timeout_s = 20;
  options.max_reconnects = 0;
  return options;
}

// The suite asks for its own copy count, so the server serves that many.
void expect_conformance(const std::string& id) {
  envs::ConformanceOptions suite;
  EnvServer server(registered_env_maker(id, {}, suite.num_envs), {});
  for (const auto& check : envs::run_conformance(remote_env_maker(client_for(server)), suite))
    EXPECT_TRUE(check.passed) << id << " " << check.name << ": " << check.detail;
}

TEST(RemoteVectorEnv, ConformanceCartPole) { expect_conformance("CartPole-v1"); }
TEST(RemoteVectorEnv, ConformancePendulum) { expect_conformance("Pendulum-v1"); }

}  // namespace
}  // namespace trustrl::server
