// RemoteVectorEnv against an in-process EnvServer over loopback: the conformance suite, parity
// with LocalVectorEnv, authentication and TLS, spec checks, reconnection.

#include "server/env_protocol/remote_vector_env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/files.h"
#include "core/rng.h"
#include "envs/registry.h"
#include "envs/single_agent_adapter.h"
#include "server/env_protocol/env_server.h"

namespace trustrl::server {
namespace {

RemoteEnvOptions client_for(const std::string& address) {
  RemoteEnvOptions options;
  options.address = address;
  options.connect_timeout_s = 20;
  options.request_timeout_s = 20;
  options.max_reconnects = 0;
  return options;
}

std::unique_ptr<EnvServer> serve(const std::string& id, int copies, EnvServerOptions options = {}) {
  return std::make_unique<EnvServer>(registered_env_maker(id, {}, copies), std::move(options));
}

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The suite asks for its own copy count, so the server serves that many.
void expect_conformance(const std::string& id) {
  envs::ConformanceOptions suite;
  auto server = serve(id, suite.num_envs);
  for (const auto& check :
       envs::run_conformance(remote_env_maker(client_for(server->address())), suite))
    EXPECT_TRUE(check.passed) << id << " " << check.name << ": " << check.detail;
}

TEST(RemoteVectorEnv, ConformanceCartPole) { expect_conformance("CartPole-v1"); }
TEST(RemoteVectorEnv, ConformancePendulum) { expect_conformance("Pendulum-v1"); }

// A fixed action pattern for any action space.
envs::ActionBatch pattern(const envs::EnvSpec& spec, int n, int t, std::vector<std::int64_t>& d,
                          std::vector<float>& c) {
  const auto& space = spec.action_space;
  d.assign(static_cast<std::size_t>(n * space.flat_dim()), 0);
  c.assign(d.size(), 0.0f);
  for (std::size_t k = 0; k < d.size(); ++k) {
    if (space.kind == envs::SpaceKind::kDiscrete)
      d[k] = space.start + static_cast<std::int64_t>((static_cast<std::size_t>(t) * 7 + k * 3) %
                                                     static_cast<std::size_t>(space.n));
    c[k] = static_cast<float>((static_cast<int>(k) + t) % 9 - 4) * 0.5f;
  }
  if (space.is_discrete()) return {d, {}};
  return {{}, c};
}

void expect_same_buffers(const envs::StepBuffers& a, const envs::StepBuffers& b,
                         const std::string& at) {
  EXPECT_EQ(a.observations, b.observations) << at;
  EXPECT_EQ(a.rewards, b.rewards) << at;
  EXPECT_EQ(a.terminated, b.terminated) << at;
  EXPECT_EQ(a.truncated, b.truncated) << at;
  EXPECT_EQ(a.final_observations, b.final_observations) << at;
  EXPECT_EQ(a.episode_returns, b.episode_returns) << at;
  EXPECT_EQ(a.episode_lengths, b.episode_lengths) << at;
  // The one agent's fields of a single-agent client, as a local one-agent env fills them.
  EXPECT_EQ(a.active, b.active) << at;
  EXPECT_EQ(a.final_active, b.final_active) << at;
  EXPECT_EQ(a.agent_episode_returns, b.agent_episode_returns) << at;
}

// Same seed and actions: remote and local batches agree bit for bit, auto-resets included.
void expect_parity(const std::string& id, const std::string& address, int copies) {
  auto local = envs::LocalVectorEnv::make(id, {}, copies, 1);
  RemoteVectorEnv remote(client_for(address));
  ASSERT_EQ(remote.num_envs(), copies);
  EXPECT_EQ(remote.spec().canonical(), local->spec().canonical());
  int episodes = 0;
  for (const std::uint64_t seed : {11u, 12u}) {
    local->reset(seed);
    remote.reset(seed);
    expect_same_buffers(remote.buffers(), local->buffers(), id + " after reset");
    std::vector<std::int64_t> d;
    std::vector<float> c;
    for (int t = 0; t < 450; ++t) {
      const auto actions = pattern(local->single_agent_spec(), copies, t, d, c);
      local->step(actions);
      remote.step(actions);
      expect_same_buffers(remote.buffers(), local->buffers(), id + " step " + std::to_string(t));
      if (testing::Test::HasFailure()) return;
      for (int i = 0; i < copies; ++i) episodes += local->buffers().done(i);
    }
  }
  EXPECT_GT(episodes, copies) << "the run must cover auto-resets";
}

TEST(RemoteVectorEnv, SameBatchesAsLocalCartPole) {
  auto server = serve("CartPole-v1", 8);
  expect_parity("CartPole-v1", server->address(), 8);
}

TEST(RemoteVectorEnv, SameBatchesAsLocalPendulum) {
  auto server = serve("Pendulum-v1", 8);
  expect_parity("Pendulum-v1", server->address(), 8);
}

TEST(RemoteVectorEnv, TokenIsRequiredWhenSet) {
  EnvServerOptions options;
  options.token = "s3cret";
  auto server = serve("CartPole-v1", 2, options);
  RemoteEnvOptions client = client_for(server->address());
  const std::string missing = error_of([&] { RemoteVectorEnv env(client); });
  EXPECT_NE(missing.find("refused the session: UNAUTHENTICATED: this server needs a token"),
            std::string::npos)
      << missing;
  client.token = "wrong";
  EXPECT_NE(error_of([&] { RemoteVectorEnv env(client); }).find("UNAUTHENTICATED: wrong token"),
            std::string::npos);
  wire::ServerInfo info;
  EXPECT_EQ(get_server_info(make_channel({server->address(), "", "", kDefaultMaxMessageBytes}), "",
                            20, &info)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  client.token = "s3cret";
  RemoteVectorEnv env(client);
  env.reset(1);
  env.step({std::vector<std::int64_t>{0, 1}, {}});
  EXPECT_EQ(env.buffers().rewards, (std::vector<double>{1.0, 1.0}));
}

TEST(RemoteVectorEnv, NonLoopbackAddressNeedsAToken) {
  EnvServerOptions options;
  options.listen = "0.0.0.0:0";
  EXPECT_EQ(
      error_of([&] { serve("CartPole-v1", 1, options); }),
      "refusing to listen on 0.0.0.0:0 without a token: anyone who reaches it could drive the "
      "env. Pass --token (and preferably --tls-cert/--tls-key), or listen on 127.0.0.1");
  options.token = "t";
  EXPECT_NE(serve("CartPole-v1", 1, options)->port(), 0);
}

TEST(Transport, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1:5000", "localhost:1", "[::1]:80", "127.1.2.3:0",
                        "unix:/tmp/x.sock", "ipv4:127.0.0.1:9"})
    EXPECT_TRUE(is_loopback_address(a)) << a;
  for (const char* a :
       {"0.0.0.0:5000", "[::]:5000", "10.0.0.1:80", "example.com:443", "127.evil.com:1", ":5000"})
    EXPECT_FALSE(is_loopback_address(a)) << a;
  EXPECT_EQ(with_port("127.0.0.1:0", 4321), "127.0.0.1:4321");
  EXPECT_EQ(with_port("[::1]:0", 4321), "[::1]:4321");
}

// Keepalive must be configured identically on every side; the Python SDK keeps its own copy.
TEST(Transport, PythonSdkUsesTheSameKeepalive) {
  const std::string python =
      read_text_file(std::string(TRUSTRL_SOURCE_DIR) + "/python/trustrl_env/protocol.py");
  for (const auto& [key, value] : keepalive_arguments()) {
    const std::string entry = "(\"" + key + "\", " + std::to_string(value) + ")";
    EXPECT_NE(python.find(entry), std::string::npos) << entry << " is missing from protocol.py";
  }
}

TEST(RemoteVectorEnv, SpecMismatchFailsAtTheHandshakeNamingTheField) {
  auto server = serve("CartPole-v1", 2);
  RemoteEnvOptions client = client_for(server->address());
  client.max_reconnects = 5;
  // A refusal must not be retried: a retried one ends in "gave up after 6 attempt(s)", not in the
  // message below. (A long backoff would say the same but hang the test where a slow machine
  // turns the handshake into a transient deadline.)
  client.reconnect_backoff_s = 0.05;
  envs::EnvSpec expected = envs::make("CartPole-v1")->spec();
  expected.max_episode_steps = 200;
  client.expected_spec = envs::one_agent_spec(expected);
  const std::string message = error_of([&] { RemoteVectorEnv env(client); });
  EXPECT_EQ(message, "simulator at " + server->address() +
                         " refused the session: FAILED_PRECONDITION: handshake: spec mismatch, the "
                         "client expects another env than this server serves (max_episode_steps: "
                         "expected 200, got 500); client spec hash 0x38e4307501561258, server "
                         "0x5363650e7e2df84f");
  // Asking for that limit makes the same expectation match.
  client.max_episode_steps = 200;
  RemoteVectorEnv env(client);
  EXPECT_EQ(env.spec().max_episode_steps, 200);
}

TEST(RemoteVectorEnv, RefusedStepEndsTheSessionAndResetOpensANewOne) {
  auto server = serve("CartPole-v1", 2);
  RemoteVectorEnv env(client_for(server->address()));
  env.reset(3);
  const std::vector<std::int64_t> bad{0, 5}, good{0, 1};
  EXPECT_NE(error_of([&] {
              env.step({std::vector<std::int64_t>{0}, {}});
            }).find("expected 2 discrete action values for 2 copies, got 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              env.step({bad, {}});
            }).find("refused the step: INVALID_ARGUMENT: step: the action of copy 1 is 5"),
            std::string::npos);
  EXPECT_NE(error_of([&] { env.step({good, {}}); }).find("call reset() first"), std::string::npos);
  env.reset(3);
  env.step({good, {}});
  EXPECT_EQ(env.buffers().rewards, (std::vector<double>{1.0, 1.0}));
}

// A self-signed certificate for 127.0.0.1, made with the openssl tool.
std::filesystem::path make_certificate() {
  const auto dir =
      std::filesystem::temp_directory_path() / ("trustrl_tls_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
      "/CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
      (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) return {};
  return dir;
}

TEST(RemoteVectorEnv, ServesOverTls) {
  const auto dir = make_certificate();
  // openssl is a test dependency (scripts/setup.sh): without it TLS would go untested, so fail.
  ASSERT_FALSE(dir.empty()) << "the openssl tool is missing (scripts/setup.sh installs it)";
  EnvServerOptions options;
  options.tls_cert_file = dir / "cert.pem";
  options.tls_key_file = dir / "key.pem";
  auto server = serve("Pendulum-v1", 2, options);
  RemoteEnvOptions client = client_for(server->address());
  EXPECT_NE(error_of([&] { RemoteVectorEnv env(client); }).find("is unreachable"),
            std::string::npos)
      << "a plaintext client cannot talk to a TLS server";
  client.tls_ca_file = dir / "cert.pem";
  RemoteVectorEnv env(client);
  env.reset(1);
  env.step({{}, std::vector<float>{0.5f, -0.5f}});
  EXPECT_EQ(env.buffers().observations.size(), 6u);
  std::filesystem::remove_all(dir);
}

// The server goes away mid-run and comes back on the same port: the next step reconnects, starts
// fresh episodes and reports every copy as cut.
TEST(RemoteVectorEnv, ReconnectsAfterTheServerRestartsAndCountsCutEpisodes) {
  const int copies = 3;
  auto server = serve("CartPole-v1", copies);
  const std::string address = server->address();
  RemoteEnvOptions client = client_for(address);
  client.max_reconnects = 3;
  client.reconnect_backoff_s = 0.01;
  RemoteVectorEnv env(client);
  env.reset(42);
  const std::vector<std::int64_t> actions{0, 1, 0};
  for (int t = 0; t < 5; ++t) env.step({actions, {}});
  const std::vector<float> last = env.buffers().observations;

  server.reset();
  EnvServerOptions same_port;
  same_port.listen = address;
  server = serve("CartPole-v1", copies, same_port);

  env.step({actions, {}});
  EXPECT_EQ(env.cut_episodes(), copies);
  EXPECT_EQ(env.reconnects(), 1);
  const envs::StepBuffers& b = env.buffers();
  EXPECT_EQ(b.truncated, std::vector<std::uint8_t>(copies, 1));
  EXPECT_EQ(b.terminated, std::vector<std::uint8_t>(copies, 0));
  EXPECT_EQ(b.rewards, std::vector<double>(copies, 0.0)) << "the lost action was never applied";
  EXPECT_EQ(b.final_observations, last);
  EXPECT_EQ(b.episode_lengths, std::vector<std::int32_t>(copies, 5));
  EXPECT_EQ(b.episode_returns, std::vector<double>(copies, 5.0));
  // The fresh episodes are seeded from the run's seed.
  auto local = envs::LocalVectorEnv::make("CartPole-v1", {}, copies, 1);
  local->reset(Rng::derive(42, 1));
  EXPECT_EQ(b.observations, local->buffers().observations);
  env.step({actions, {}});
  EXPECT_EQ(env.buffers().rewards, std::vector<double>(copies, 1.0));
}

TEST(RemoteVectorEnv, GivesUpWhenTheServerStaysDown) {
  auto server = serve("CartPole-v1", 2);
  RemoteEnvOptions client = client_for(server->address());
  client.max_reconnects = 2;
  client.reconnect_backoff_s = 0.01;
  RemoteVectorEnv env(client);
  env.reset(1);
  env.step({std::vector<std::int64_t>{0, 1}, {}});
  server.reset();
  const std::string message = error_of([&] { env.step({std::vector<std::int64_t>{0, 1}, {}}); });
  EXPECT_NE(
      message.find("simulator at " + client.address +
                   " is unreachable (lost mid-run, 2 episodes cut): gave up after 2 attempt(s)"),
      std::string::npos)
      << message;
  EXPECT_EQ(env.cut_episodes(), 2);
  EXPECT_NE(error_of([&] {
              env.step({std::vector<std::int64_t>{0, 1}, {}});
            }).find("call reset() first"),
            std::string::npos);
}

TEST(RemoteVectorEnv, UnreachableAtStartNamesTheAddress) {
  std::string address;
  {
    auto server = serve("CartPole-v1", 1);
    address = server->address();
  }
  RemoteEnvOptions client = client_for(address);
  client.max_reconnects = 1;
  client.reconnect_backoff_s = 0.01;
  const std::string message = error_of([&] { RemoteVectorEnv env(client); });
  EXPECT_NE(message.find("simulator at " + address +
                         " is unreachable (could not open a session): gave up after 2 attempt(s)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("UNAVAILABLE"), std::string::npos) << message;
}

}  // namespace
}  // namespace trustrl::server
