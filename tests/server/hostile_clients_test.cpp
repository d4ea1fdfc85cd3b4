// Clients that hold what they should not: sessions left idle, one host taking every session or
// every connection, a flood of plain TCP connections past the process's descriptor limit. The
// server must go on serving the others, and recover once the flood is gone. All traffic on
// loopback (127.0.0.2 stands for a second host), every loop bounded.

#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "server/env_protocol/env_server.h"
#include "server/env_protocol/session_client.h"
#include "server/transport/listener.h"
#include "tests/server/loopback_peer.h"
#include "tests/server/test_servers.h"
#include "tests/support/child_process.h"

namespace trustrl::server {
namespace {

constexpr double kTimeoutS = 20;
using Clock = std::chrono::steady_clock;

wire::SessionRequest handshake() {
  wire::SessionRequest r;
  r.mutable_handshake()->set_protocol_version(kProtocolVersion);
  return r;
}

grpc::Status open_session(SessionClient& s) {
  wire::SessionResponse response;
  return s.call(handshake(), &response, kTimeoutS);
}

TEST(HostileClients, IdleSessionsAreClosedAndNewOnesGetIn) {
  EnvServerOptions options;
  options.max_sessions = 4;
  options.idle_timeout = std::chrono::milliseconds(400);
  EnvServer server(registered_env_maker("CartPole-v1", {}, 2), options);
  auto channel = make_channel({server.address(), "", "", kDefaultMaxMessageBytes});
  // Four clients handshake and then sit idle: the server is full.
  std::vector<std::unique_ptr<SessionClient>> idle;
  for (int k = 0; k < 4; ++k) {
    idle.push_back(std::make_unique<SessionClient>(channel, ""));
    ASSERT_TRUE(open_session(*idle.back()).ok()) << k;
  }
  {
    SessionClient refused(channel, "");
    EXPECT_EQ(open_session(refused).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  // Within a bounded wait past the timeout a new session gets in ...
  const auto start = Clock::now();
  bool admitted = false;
  std::unique_ptr<SessionClient> fresh;
  for (int attempt = 0; attempt < 100 && !admitted; ++attempt) {
    fresh = std::make_unique<SessionClient>(channel, "");
    admitted = open_session(*fresh).ok();
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(admitted) << "idle sessions still hold every place";
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);
  // ... and each idle client learns why its session ended.
  wire::SessionResponse response;
  const grpc::Status closed = idle.front()->call(handshake(), &response, kTimeoutS);
  EXPECT_EQ(closed.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(closed);
  EXPECT_NE(closed.error_message().find("session closed after 0.4 s idle"), std::string::npos)
      << describe(closed);
  // A session that keeps talking is never closed, however long it lives.
  wire::SessionRequest reset;
  reset.mutable_reset()->set_seed(1);
  for (int t = 0; t < 20; ++t) {
    ASSERT_TRUE(fresh->call(reset, &response, kTimeoutS).ok()) << t;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TEST(HostileClients, OneHostCannotTakeEverySession) {
  EnvServerOptions options;
  options.max_sessions = 8;
  options.max_sessions_per_peer = 2;
  EnvServer server(registered_env_maker("CartPole-v1", {}, 1), options);
  auto channel = make_channel({server.address(), "", "", kDefaultMaxMessageBytes});
  SessionClient a(channel, ""), b(channel, ""), c(channel, "");
  ASSERT_TRUE(open_session(a).ok());
  ASSERT_TRUE(open_session(b).ok());
  const grpc::Status third = open_session(c);
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << describe(third);
  EXPECT_NE(third.error_message().find("maximum of 2 sessions to ipv4:127.0.0.1"),
            std::string::npos)
      << describe(third);
  EXPECT_TRUE(a.close(kTimeoutS).ok());
  SessionClient d(channel, "");
  EXPECT_TRUE(open_session(d).ok()) << "a place freed by a close is free again";
}

// How many of `fds` the server has closed.
int count_closed(const std::vector<int>& fds) {
  int closed = 0;
  for (const int fd : fds) closed += testing::closed_by_server(fd) ? 1 : 0;
  return closed;
}

// count_closed(), once it reaches `expected` or after about 2 s.
int wait_closed(const std::vector<int>& fds, int expected) {
  int closed = count_closed(fds);
  for (int attempt = 0; attempt < 100 && closed < expected; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    closed = count_closed(fds);
  }
  return closed;
}

TEST(HostileClients, OneHostCannotHoldEveryConnection) {
  std::vector<std::string> lines;
  std::mutex mutex;
  EnvServerOptions options;
  options.max_connections_per_peer = 8;
  options.log = [&](const std::string& line) {
    std::lock_guard lock(mutex);
    lines.push_back(line);
  };
  EnvServer server(registered_env_maker("CartPole-v1", {}, 1), options);
  // 40 plain connections from 127.0.0.2 that never speak HTTP/2: 8 are held, 32 closed at once.
  std::vector<int> flood;
  for (int k = 0; k < 40; ++k) {
    const int fd = testing::connect_from("127.0.0.2", server.port());
    ASSERT_GE(fd, 0) << "cannot connect from 127.0.0.2: " << std::strerror(errno);
    flood.push_back(fd);
  }
  EXPECT_EQ(wait_closed(flood, 32), 32);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count_closed(flood), 32) << "the 8 held connections stay open";
  // Another host is served meanwhile: 127.0.0.1 opens a session.
  auto channel = make_channel({server.address(), "", "", kDefaultMaxMessageBytes});
  SessionClient other(channel, "");
  EXPECT_TRUE(open_session(other).ok());
  {
    std::lock_guard lock(mutex);
    int named = 0;
    for (const auto& line : lines)
      if (line.find("refused a connection from ipv4:127.0.0.2: it already holds 8 connections") !=
              std::string::npos &&
          line.find("(--max-connections-per-peer)") != std::string::npos)
        ++named;
    EXPECT_EQ(named, 1) << "one line for the 32 refusals";
  }
  // Once the flood is closed, the host may hold 8 again (the server notices the closes).
  for (const int fd : flood) close(fd);
  bool held_again = false;
  for (int attempt = 0; attempt < 30 && !held_again; ++attempt) {
    std::vector<int> again;
    for (int k = 0; k < 8; ++k) again.push_back(testing::connect_from("127.0.0.2", server.port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    held_again = count_closed(again) == 0;
    for (const int fd : again) close(fd);
  }
  EXPECT_TRUE(held_again) << "closed connections still count against their host";
}

TEST(HostileClients, PerHostLimitsCountByTheAddressWithoutItsPort) {
  sockaddr_storage v4{};
  auto& a4 = reinterpret_cast<sockaddr_in&>(v4);
  a4.sin_family = AF_INET;
  a4.sin_port = htons(5000);
  inet_pton(AF_INET, "10.0.0.7", &a4.sin_addr);
  EXPECT_EQ(socket_host(v4), "ipv4:10.0.0.7");
  sockaddr_storage mapped{};
  auto& a6 = reinterpret_cast<sockaddr_in6&>(mapped);
  a6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:10.0.0.7", &a6.sin6_addr);
  EXPECT_EQ(socket_host(mapped), "ipv4:10.0.0.7") << "an IPv4 client of a dual-stack listener";
  inet_pton(AF_INET6, "fe80::1", &a6.sin6_addr);
  EXPECT_EQ(socket_host(mapped), "ipv6:[fe80::1]");
  EXPECT_EQ(peer_host("ipv4:10.0.0.7:51234"), "ipv4:10.0.0.7");
  EXPECT_EQ(peer_host("ipv6:[fe80::1]:5"), "ipv6:[fe80::1]");
  EXPECT_EQ(peer_host("unix:/tmp/s"), "unix:/tmp/s");
  // The default cap: 1024, or 4 per session when that is more.
  EXPECT_EQ(default_connections_per_peer(64), 1024);
  EXPECT_EQ(default_connections_per_peer(256), 1024);
  EXPECT_EQ(default_connections_per_peer(1000), 4000);
}

TEST(HostileClients, AnEnvServerTakesItsConnectionCapFromTheCommandLine) {
  testing::ChildProcess child({testing::kBinary, "env-server", "--env", "CartPole-v1", "--listen",
                               "127.0.0.1:0", "--max-connections-per-peer", "4"},
                              {}, true);
  const std::string address = child.wait_for_line("listening on ", testing::kStartTimeoutS);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  std::vector<int> flood;
  for (int k = 0; k < 10; ++k) flood.push_back(testing::connect_from("127.0.0.2", port));
  EXPECT_EQ(wait_closed(flood, 6), 6);
  for (const int fd : flood) close(fd);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(kTimeoutS), 0) << child.output();
  EXPECT_NE(child.output().find("env-server: refused a connection from ipv4:127.0.0.2: it already "
                                "holds 4 connections, the most one client host may hold "
                                "(--max-connections-per-peer)"),
            std::string::npos)
      << child.output();
}

TEST(HostileClients, TheSoftDescriptorLimitIsRaisedToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max < 512) GTEST_SKIP() << "hard limit " << before.rlim_max << " too low";
  rlimit lowered = before;
  lowered.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  EXPECT_EQ(open_file_limit(), 256);
  const std::int64_t raised = raise_open_file_limit();
  EXPECT_EQ(raised, before.rlim_max == RLIM_INFINITY ? INT64_MAX
                                                     : static_cast<std::int64_t>(before.rlim_max));
  setrlimit(RLIMIT_NOFILE, &before);
}

// Opens a plain TCP connection to 127.0.0.1:port (no HTTP/2, no token); -1 if refused.
int plain_connection(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(HostileClients, AServerOutOfDescriptorsRecoversOnceTheFloodIsGone) {
  // A real env server whose limit is 128 descriptors (which it keeps: --max-open-files).
  std::vector<std::string> argv = {
      testing::kBinary, "env-server",     "--env", "CartPole-v1",      "--listen",
      "127.0.0.1:0",    "--max-sessions", "8",     "--max-open-files", "128"};
  testing::ChildProcess child(argv, {}, true);
  const std::string address = child.wait_for_line("listening on ", testing::kStartTimeoutS);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  auto channel = make_channel({address, "", "", kDefaultMaxMessageBytes});
  SessionClient before(channel, "");
  ASSERT_TRUE(open_session(before).ok());

  // 300 plain connections, more than the server has descriptors: all are taken off the queue
  // (accepted or refused), none leaves the server deaf.
  std::vector<int> flood;
  for (int k = 0; k < 300; ++k)
    if (const int fd = plain_connection(port); fd >= 0) flood.push_back(fd);
  // The session opened before the flood still works meanwhile.
  wire::SessionRequest reset;
  reset.mutable_reset()->set_seed(1);
  wire::SessionResponse response;
  EXPECT_TRUE(before.call(reset, &response, kTimeoutS).ok());
  for (const int fd : flood) close(fd);

  // Once the flood is gone a new session gets in, within a bounded wait.
  bool admitted = false;
  grpc::Status last;
  for (int attempt = 0; attempt < 100 && !admitted; ++attempt) {
    auto fresh_channel = make_channel({address, "", "", kDefaultMaxMessageBytes});
    SessionClient fresh(fresh_channel, "");
    last = open_session(fresh);
    admitted = last.ok();
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(admitted) << describe(last) << "\n" << child.output();
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(kTimeoutS), 0) << child.output();
}

TEST(HostileClients, HealthAnswersWithoutTheTokenAndNothingElseDoes) {
  EnvServerOptions options;
  options.token = "secret";
  EnvServer server(registered_env_maker("CartPole-v1", {}, 1), options);
  auto channel = make_channel({server.address(), "", "", kDefaultMaxMessageBytes});
  // Decided and documented (docs/RELIABILITY.md): the health service says SERVING or
  // NOT_SERVING to anyone, so load balancers and probes need no secret; it tells nothing else.
  grpc::GenericStub generic(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(deadline_after(kTimeoutS));
  grpc::Slice empty(std::string{});
  const grpc::ByteBuffer request(&empty, 1);  // HealthCheckRequest{service: ""}
  auto call = generic.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  ASSERT_TRUE(status.ok()) << describe(status);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& slice : slices)
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2)) << "HealthCheckResponse{status: SERVING}";
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  // Every trustrl call needs the token.
  wire::ServerInfo info;
  EXPECT_EQ(get_server_info(channel, "", kTimeoutS, &info).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(get_server_info(channel, "secret", kTimeoutS, &info).ok());
}

TEST(HostileClients, ATokenWithoutTlsOffLoopbackIsWarnedAbout) {
  EXPECT_EQ(plaintext_token_warning("127.0.0.1:5000", "t", ""), std::nullopt);
  EXPECT_EQ(plaintext_token_warning("0.0.0.0:5000", "", ""), std::nullopt);
  EXPECT_EQ(plaintext_token_warning("0.0.0.0:5000", "t", "cert.pem"), std::nullopt);
  EXPECT_NE(plaintext_token_warning("0.0.0.0:5000", "t", "").value_or("").find("plain text"),
            std::string::npos);
  std::vector<std::string> lines;
  std::mutex mutex;
  EnvServerOptions options;
  options.listen = "0.0.0.0:0";
  options.token = "t";
  options.log = [&](const std::string& line) {
    std::lock_guard lock(mutex);
    lines.push_back(line);
  };
  EnvServer server(registered_env_maker("CartPole-v1", {}, 1), options);
  std::lock_guard lock(mutex);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.front().find("the token crosses the network in plain text"), std::string::npos);
}

}  // namespace
}  // namespace trustrl::server
