// The fault proxy itself: bytes pass unchanged and in order, latency and the bandwidth cap slow
// traffic down (lower bounds only: a loaded machine is slower, never faster), a blackhole
// forwards nothing, a reset reaches the client as an RST. Every wait has a deadline.

#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>

namespace trustrl::testing {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

// A loopback server that echoes what it receives (or only keeps it) on every connection.
class EchoServer {
 public:
  explicit EchoServer(bool echo = true) : echo_(echo) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(0);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    for (int fd : clients_) ::close(fd);
    ::close(listener_);
  }
  int port() const { return port_; }
  std::string received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  int resets_seen() const { return resets_seen_.load(); }

 private:
  void run() {
    while (!stop_) {
      std::vector<pollfd> fds = {{listener_, POLLIN, 0}};
      for (int fd : clients_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) clients_.push_back(::accept4(listener_, nullptr, nullptr, 0));
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)) || fds[i].fd < 0) continue;
        char buffer[16384];
        const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
          if (n < 0 && errno == ECONNRESET) ++resets_seen_;
          std::erase(clients_, fds[i].fd);
          ::close(fds[i].fd);
          continue;
        }
        {
          std::lock_guard lock(mutex_);
          received_.append(buffer, static_cast<std::size_t>(n));
        }
        if (echo_) send_all(fds[i].fd, std::string(buffer, static_cast<std::size_t>(n)));
      }
    }
  }
  static void send_all(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    const double deadline = now_s() + 10;
    while (sent < bytes.size() && now_s() < deadline) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  const bool echo_;
  int listener_ = -1, port_ = 0;
  std::vector<int> clients_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> resets_seen_{0};
  mutable std::mutex mutex_;
  std::string received_;
};

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback(port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
  return fd;
}

// Reads until `want` bytes came, the peer closed, or the deadline passed. Sets `error` to the
// errno of a failed read (ECONNRESET for an RST).
std::string read_bytes(int fd, std::size_t want, double timeout_s, int* error = nullptr) {
  std::string out;
  const double deadline = now_s() + timeout_s;
  while (out.size() < want) {
    const double left = deadline - now_s();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) continue;
    char buffer[16384];
    const ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, want - out.size()), 0);
    if (n < 0 && error) *error = errno;
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    sent += static_cast<std::size_t>(n);
  }
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Waits (bounded) until `done` holds.
template <typename F>
bool eventually(F done, double timeout_s = 10) {
  const double deadline = now_s() + timeout_s;
  while (!done()) {
    if (now_s() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(FaultProxy, BytesPassUnchangedAndInOrderUnderJitter) {
  EchoServer server;
  FaultProxy proxy(server.port());
  proxy.set_latency(0.002, 0.002);  // chunks drawn 0..4 ms: they would overtake without ordering
  const int fd = connect_to(proxy.port());
  // Many small writes, so the jitter applies to many chunks.
  const std::string bytes = random_bytes(1 << 20, 7);
  std::thread writer([&] {
    for (std::size_t off = 0; off < bytes.size(); off += 4096)
      send_all(fd, bytes.substr(off, 4096));
  });
  const std::string back = read_bytes(fd, bytes.size(), 60);
  writer.join();
  EXPECT_EQ(back.size(), bytes.size());
  EXPECT_TRUE(back == bytes) << "the bytes came back changed or reordered";
  EXPECT_EQ(server.received().size(), bytes.size());
  EXPECT_EQ(proxy.stats().connections, 1);
  // The proxy counts a chunk after its send returns, and the reader can get there first.
  const auto both_ways = 2 * static_cast<std::int64_t>(bytes.size());
  EXPECT_TRUE(eventually([&] { return proxy.stats().bytes_forwarded == both_ways; }))
      << proxy.stats().bytes_forwarded << " bytes forwarded, not " << both_ways;
  ::close(fd);
}

TEST(FaultProxy, LatencyDelaysEachDirection) {
  EchoServer server;
  FaultProxy proxy(server.port());
  const int fd = connect_to(proxy.port());
  send_all(fd, "warm");
  ASSERT_EQ(read_bytes(fd, 4, 10), "warm");
  proxy.set_latency(0.050, 0.010);  // at least 40 ms each way
  for (int i = 0; i < 3; ++i) {
    const double t0 = now_s();
    send_all(fd, "ping");
    ASSERT_EQ(read_bytes(fd, 4, 10), "ping");
    EXPECT_GE(now_s() - t0, 0.080) << "round trip " << i;
  }
  proxy.set_latency(0);
  ::close(fd);
}

TEST(FaultProxy, BandwidthCapSlowsATransfer) {
  EchoServer server(/*echo=*/false);
  FaultProxy proxy(server.port());
  proxy.set_bandwidth(200'000);
  const int fd = connect_to(proxy.port());
  const std::string bytes = random_bytes(100'000, 3);  // 0.5 s at the cap
  const double t0 = now_s();
  send_all(fd, bytes);
  ASSERT_TRUE(eventually([&] { return server.received().size() == bytes.size(); }, 30));
  EXPECT_GE(now_s() - t0, 0.4);
  EXPECT_TRUE(server.received() == bytes);
  ::close(fd);
}

TEST(FaultProxy, BlackholeForwardsNothingThenTrafficResumes) {
  EchoServer server(/*echo=*/false);
  FaultProxy proxy(server.port());
  const int fd = connect_to(proxy.port());
  send_all(fd, "before;");
  ASSERT_TRUE(eventually([&] { return server.received() == "before;"; }));
  proxy.set_blackhole(true);
  EXPECT_TRUE(proxy.blackholed());
  send_all(fd, "lost in the hole;");
  // The proxy took the bytes (the client's send succeeded) and dropped every one.
  ASSERT_TRUE(eventually([&] { return proxy.stats().bytes_dropped == 17; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server.received(), "before;");
  proxy.set_blackhole(false);
  send_all(fd, "after");
  ASSERT_TRUE(eventually([&] { return server.received() == "before;after"; })) << server.received();
  ::close(fd);
}

TEST(FaultProxy, TimedBlackholeEndsByItself) {
  EchoServer server;
  FaultProxy proxy(server.port());
  proxy.blackhole_for(0.2);
  EXPECT_TRUE(eventually([&] { return !proxy.blackholed(); }));
  const int fd = connect_to(proxy.port());
  send_all(fd, "open again");
  EXPECT_EQ(read_bytes(fd, 10, 10), "open again");
  ::close(fd);
}

TEST(FaultProxy, ResetReachesBothEndsAsAnRst) {
  EchoServer server;
  FaultProxy proxy(server.port());
  const int fd = connect_to(proxy.port());
  send_all(fd, "hello");
  ASSERT_EQ(read_bytes(fd, 5, 10), "hello");
  proxy.reset_connections();
  int error = 0;
  EXPECT_EQ(read_bytes(fd, 1, 10, &error), "");
  EXPECT_EQ(error, ECONNRESET) << "the client should see a reset, not a clean close";
  EXPECT_TRUE(eventually([&] { return server.resets_seen() == 1; }));
  EXPECT_EQ(proxy.stats().resets, 1);
  EXPECT_EQ(proxy.stats().open, 0);
  ::close(fd);
  // New connections are served as before.
  const int again = connect_to(proxy.port());
  send_all(again, "again");
  EXPECT_EQ(read_bytes(again, 5, 10), "again");
  ::close(again);
}

TEST(FaultProxy, PeriodicResetsCutEachConnection) {
  EchoServer server;
  FaultProxy proxy(server.port());
  proxy.reset_every(0.1);
  for (int i = 0; i < 2; ++i) {
    const int fd = connect_to(proxy.port());
    int error = 0;
    // The connection works until the next reset, then reads fail: never more than that.
    EXPECT_EQ(read_bytes(fd, 1, 10, &error), "");
    EXPECT_EQ(error, ECONNRESET);
    ::close(fd);
  }
  EXPECT_GE(proxy.stats().resets, 2);
  proxy.reset_every(0);
}

TEST(FaultProxy, AClosedEndIsPassedOnAndTheDestructorClosesTheRest) {
  EchoServer server;
  auto proxy = std::make_unique<FaultProxy>(server.port());
  const int fd = connect_to(proxy->port());
  send_all(fd, "x");
  ASSERT_EQ(read_bytes(fd, 1, 10), "x");
  ::shutdown(fd, SHUT_WR);  // the server sees EOF and closes: the client then reads EOF
  int error = 0;
  EXPECT_EQ(read_bytes(fd, 1, 10, &error), "");
  EXPECT_EQ(error, 0);
  ::close(fd);
  const int open = connect_to(proxy->port());
  ASSERT_TRUE(eventually([&] { return proxy->stats().open == 1; }));
  proxy.reset();
  EXPECT_EQ(read_bytes(open, 1, 10, &error), "");
  ::close(open);
}

TEST(FaultProxy, RefusesBadSettings) {
  EchoServer server;
  FaultProxy proxy(server.port());
  EXPECT_THROW(proxy.set_latency(0.01, 0.02), std::exception);
  EXPECT_THROW(proxy.set_bandwidth(-1), std::exception);
  EXPECT_THROW(proxy.reset_every(-1), std::exception);
}

}  // namespace
}  // namespace trustrl::testing
