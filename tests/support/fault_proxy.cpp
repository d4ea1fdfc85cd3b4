#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"

namespace trustrl::testing {

namespace {

// The loop wakes at least this often, so a stop or a new setting takes effect within it.
constexpr double kMaxWaitS = 0.05;
constexpr std::size_t kReadBytes = 64 * 1024;
// Without a bandwidth cap, a direction holds at most this much before it stops reading (and
// TCP's flow control slows the sender).
constexpr std::size_t kMaxHeldBytes = 4 * 1024 * 1024;
constexpr int kMaxAcceptsPerWake = 16;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Closes with an RST instead of a FIN.
void close_with_reset(int fd) {
  if (fd < 0) return;
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

struct Chunk {
  double release = 0;  // when it may be forwarded
  std::string bytes;
  std::size_t sent = 0;
};

// One direction of a connection: what was read from `from` and is still to be written to `to`.
struct Pipe {
  std::deque<Chunk> held;
  std::size_t held_bytes = 0;
  double busy_until = 0;  // the bandwidth cap: the next chunk leaves no earlier
  bool source_closed = false;
  bool shut = false;  // the close was passed on (shutdown of `to` for writing)
};

struct Connection {
  int client = -1, upstream = -1;
  bool connecting = true;
  Pipe up;    // client -> upstream
  Pipe down;  // upstream -> client
  bool dead = false;
};

}  // namespace

class FaultProxy::Loop {
 public:
  Loop(int target_port, std::uint64_t seed) : target_port_(target_port), jitter_rng_(seed) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener_ < 0) throw Error(std::string("fault proxy: socket: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(0);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 64) != 0) {
      const std::string why = std::strerror(errno);
      ::close(listener_);
      throw Error("fault proxy: cannot listen on 127.0.0.1: " + why);
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      ::close(listener_);
      throw Error(std::string("fault proxy: pipe2: ") + std::strerror(errno));
    }
    wake_read_ = fds[0];
    wake_write_ = fds[1];
    thread_ = std::thread([this] { run(); });
  }

  ~Loop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake();
    thread_.join();
    for (auto& c : connections_) {
      if (c.client >= 0) ::close(c.client);
      if (c.upstream >= 0) ::close(c.upstream);
    }
    ::close(listener_);
    ::close(wake_read_);
    ::close(wake_write_);
  }

  int port() const { return port_; }

  void set_latency(double mean_s, double jitter_s) {
    if (mean_s < 0 || jitter_s < 0 || jitter_s > mean_s)
      throw Error("fault proxy: latency needs 0 <= jitter <= mean");
    {
      std::lock_guard lock(mutex_);
      latency_s_ = mean_s;
      jitter_s_ = jitter_s;
    }
    wake();
  }
  void set_bandwidth(double bytes_per_s) {
    if (bytes_per_s < 0) throw Error("fault proxy: bandwidth must be >= 0");
    {
      std::lock_guard lock(mutex_);
      bandwidth_ = bytes_per_s;
    }
    wake();
  }
  void set_blackhole(bool on) {
    {
      std::lock_guard lock(mutex_);
      blackhole_ = on;
      blackhole_until_ = 0;
    }
    wake();
  }
  void blackhole_for(double seconds) {
    {
      std::lock_guard lock(mutex_);
      blackhole_ = true;
      blackhole_until_ = now_s() + seconds;
    }
    wake();
  }
  bool blackholed() const {
    std::lock_guard lock(mutex_);
    return blackholed_locked(now_s());
  }
  void reset_connections() {
    std::unique_lock lock(mutex_);
    const std::int64_t ticket = ++reset_requests_;
    lock.unlock();
    wake();
    lock.lock();
    // The loop answers within one wake-up; the bound only guards against a stuck thread.
    if (!done_cv_.wait_for(lock, std::chrono::seconds(10),
                           [&] { return resets_done_ >= ticket || stopping_; }))
      throw Error("fault proxy: the reset was not carried out within 10 s");
  }
  void reset_every(double period_s) {
    if (period_s < 0) throw Error("fault proxy: reset period must be >= 0");
    {
      std::lock_guard lock(mutex_);
      reset_period_s_ = period_s;
      next_reset_ = period_s > 0 ? now_s() + period_s : 0;
    }
    wake();
  }
  FaultProxyStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  bool blackholed_locked(double now) const {
    return blackhole_ && (blackhole_until_ == 0 || now < blackhole_until_);
  }

  void wake() {
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_write_, &byte, 1);  // full: already woken
  }

  struct Settings {
    double latency = 0, jitter = 0, bandwidth = 0;
    bool blackhole = false;
    bool reset_now = false;
    std::int64_t reset_ticket = 0;
  };

  Settings settings_now() {
    std::lock_guard lock(mutex_);
    Settings s;
    s.latency = latency_s_;
    s.jitter = jitter_s_;
    s.bandwidth = bandwidth_;
    s.blackhole = blackholed_locked(now_s());
    return s;
  }

  Settings settings(double now) {
    std::lock_guard lock(mutex_);
    Settings s;
    s.latency = latency_s_;
    s.jitter = jitter_s_;
    s.bandwidth = bandwidth_;
    s.blackhole = blackholed_locked(now);
    if (reset_requests_ > resets_done_) {
      s.reset_now = true;
      s.reset_ticket = reset_requests_;
    }
    if (reset_period_s_ > 0 && now >= next_reset_) {
      s.reset_now = true;
      next_reset_ = now + reset_period_s_;
    }
    return s;
  }

  void run() {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) break;
      }
      step();
      std::erase_if(connections_, [](const Connection& c) { return c.dead; });
      std::lock_guard lock(mutex_);
      stats_.open = static_cast<std::int64_t>(connections_.size());
    }
    std::lock_guard lock(mutex_);
    done_cv_.notify_all();
  }

  void reset_all(std::int64_t ticket) {
    // Counted before the RSTs go out, so whoever sees one also sees it counted.
    const auto n = std::count_if(connections_.begin(), connections_.end(),
                                 [](const Connection& c) { return !c.dead; });
    {
      std::lock_guard lock(mutex_);
      stats_.resets += n;
      stats_.open -= n;
    }
    for (auto& c : connections_) {
      if (c.dead) continue;
      close_with_reset(c.client);
      close_with_reset(c.upstream);
      c.client = c.upstream = -1;
      c.dead = true;
    }
    std::lock_guard lock(mutex_);
    if (ticket > 0) resets_done_ = std::max(resets_done_, ticket);
    done_cv_.notify_all();
  }

  // One poll and the work it finds. The settings are read after the poll, so a change made
  // before bytes were sent applies to them.
  void step() {
    const double now = now_s();
    std::size_t cap = kMaxHeldBytes;
    {
      std::lock_guard lock(mutex_);
      if (bandwidth_ > 0)
        cap = std::max<std::size_t>(4096, static_cast<std::size_t>(bandwidth_ / 10));
    }
    std::vector<pollfd> fds = {{listener_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    double wait_s = kMaxWaitS;
    auto ready_at = [&](const Pipe& p) {
      if (p.held.empty()) return false;
      if (p.held.front().release <= now) return true;
      wait_s = std::min(wait_s, p.held.front().release - now);
      return false;
    };
    for (auto& c : connections_) {
      short client_events = 0, upstream_events = 0;
      if (!c.up.source_closed && c.up.held_bytes < cap) client_events |= POLLIN;
      if (ready_at(c.down)) client_events |= POLLOUT;
      if (c.connecting) {
        upstream_events |= POLLOUT;
      } else {
        if (!c.down.source_closed && c.down.held_bytes < cap) upstream_events |= POLLIN;
        if (ready_at(c.up)) upstream_events |= POLLOUT;
      }
      fds.push_back({c.client, client_events, 0});
      fds.push_back({c.upstream, upstream_events, 0});
    }
    {
      std::lock_guard lock(mutex_);
      if (reset_period_s_ > 0) wait_s = std::min(wait_s, next_reset_ - now);
    }
    const int timeout_ms = static_cast<int>(std::ceil(std::max(0.0, wait_s) * 1000));
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) return;
    if (fds[1].revents) {
      char drain[64];
      while (::read(wake_read_, drain, sizeof drain) > 0) {
      }
    }
    const double t = now_s();
    const Settings s = settings(t);
    if (s.reset_now) {
      reset_all(s.reset_ticket);
      return;
    }
    std::size_t i = 2;
    for (auto& c : connections_) {
      const pollfd& cf = fds[i++];
      const pollfd& uf = fds[i++];
      if (c.connecting && uf.revents) finish_connect(c);
      if (!c.dead && cf.revents & (POLLIN | POLLHUP | POLLERR))
        read_into(c, c.client, c.up, t, s, cap);
      if (!c.dead && !c.connecting && uf.revents & (POLLIN | POLLHUP | POLLERR))
        read_into(c, c.upstream, c.down, t, s, cap);
      if (!c.dead && !c.connecting) write_from(c, c.up, c.upstream, t, s);
      if (!c.dead) write_from(c, c.down, c.client, t, s);
      if (!c.dead && c.up.shut && c.down.shut) {
        ::close(c.client);
        ::close(c.upstream);
        c.client = c.upstream = -1;
        c.dead = true;
      }
    }
    if (fds[0].revents & POLLIN) accept_new();
  }

  void accept_new() {
    for (int k = 0; k < kMaxAcceptsPerWake; ++k) {
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) return;
      const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (upstream < 0) {
        close_with_reset(client);
        continue;
      }
      const int one = 1;
      ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in addr = loopback(target_port_);
      Connection c;
      c.client = client;
      c.upstream = upstream;
      const int rc = ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      if (rc != 0 && errno != EINPROGRESS) {  // nobody listens: the client sees it as a reset
        close_with_reset(client);
        ::close(upstream);
        continue;
      }
      c.connecting = rc != 0;
      connections_.push_back(std::move(c));
      std::lock_guard lock(mutex_);
      ++stats_.connections;
    }
  }

  void finish_connect(Connection& c) {
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(c.upstream, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      kill(c, /*reset=*/true);
      return;
    }
    c.connecting = false;
  }

  void kill(Connection& c, bool reset) {
    if (reset) {
      close_with_reset(c.client);
      close_with_reset(c.upstream);
    } else {
      ::close(c.client);
      ::close(c.upstream);
    }
    c.client = c.upstream = -1;
    c.dead = true;
  }

  void read_into(Connection& c, int from, Pipe& p, double now, const Settings& s, std::size_t cap) {
    if (p.source_closed) return;
    // Under a bandwidth cap, chunks of about 10 ms each, so the pace is smooth.
    std::size_t want = kReadBytes;
    if (s.bandwidth > 0)
      want = std::clamp<std::size_t>(static_cast<std::size_t>(s.bandwidth / 100), 512, kReadBytes);
    want = std::min(want, std::max<std::size_t>(cap > p.held_bytes ? cap - p.held_bytes : 0, 512));
    std::string bytes(want, '\0');
    const ssize_t n = ::recv(from, bytes.data(), want, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      kill(c, /*reset=*/true);  // the end was reset: pass the reset on
      return;
    }
    if (n == 0) {
      p.source_closed = true;
      return;
    }
    bytes.resize(static_cast<std::size_t>(n));
    // The settings as they are now, after the bytes arrived: a change made before they were sent
    // applies to them.
    const Settings now_set = settings_now();
    if (now_set.blackhole) {
      std::lock_guard lock(mutex_);
      stats_.bytes_dropped += n;
      return;
    }
    double delay = now_set.latency;
    if (now_set.jitter > 0)
      delay += std::uniform_real_distribution<double>(-now_set.jitter, now_set.jitter)(jitter_rng_);
    Chunk chunk;
    chunk.release = std::max(now + delay, p.busy_until);
    p.busy_until =
        chunk.release + (now_set.bandwidth > 0 ? static_cast<double>(n) / now_set.bandwidth : 0);
    chunk.bytes = std::move(bytes);
    p.held_bytes += static_cast<std::size_t>(n);
    p.held.push_back(std::move(chunk));
  }

  void write_from(Connection& c, Pipe& p, int to, double now, const Settings& s) {
    while (!p.held.empty() && p.held.front().release <= now) {
      Chunk& chunk = p.held.front();
      const ssize_t n = ::send(to, chunk.bytes.data() + chunk.sent, chunk.bytes.size() - chunk.sent,
                               MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        kill(c, /*reset=*/true);
        return;
      }
      chunk.sent += static_cast<std::size_t>(n);
      p.held_bytes -= static_cast<std::size_t>(n);
      {
        std::lock_guard lock(mutex_);
        stats_.bytes_forwarded += n;
      }
      if (chunk.sent < chunk.bytes.size()) return;  // the socket is full: wait for POLLOUT
      p.held.pop_front();
    }
    // A close is passed on once everything before it is, and not into a blackhole.
    if (p.held.empty() && p.source_closed && !p.shut && !s.blackhole) {
      ::shutdown(to, SHUT_WR);
      p.shut = true;
    }
  }

  const int target_port_;
  int port_ = 0;
  int listener_ = -1, wake_read_ = -1, wake_write_ = -1;
  std::mt19937_64 jitter_rng_;
  std::list<Connection> connections_;  // the loop thread's alone
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  bool stopping_ = false;
  double latency_s_ = 0, jitter_s_ = 0, bandwidth_ = 0;
  bool blackhole_ = false;
  double blackhole_until_ = 0;  // 0: until switched off
  std::int64_t reset_requests_ = 0, resets_done_ = 0;
  double reset_period_s_ = 0, next_reset_ = 0;
  FaultProxyStats stats_;
};

FaultProxy::FaultProxy(int target_port, std::uint64_t seed)
    : loop_(std::make_unique<Loop>(target_port, seed)) {}
FaultProxy::~FaultProxy() = default;
int FaultProxy::port() const { return loop_->port(); }
std::string FaultProxy::address() const { return "127.0.0.1:" + std::to_string(port()); }
void FaultProxy::set_latency(double mean_s, double jitter_s) {
  loop_->set_latency(mean_s, jitter_s);
}
void FaultProxy::set_bandwidth(double bytes_per_s) { loop_->set_bandwidth(bytes_per_s); }
void FaultProxy::set_blackhole(bool on) { loop_->set_blackhole(on); }
void FaultProxy::blackhole_for(double seconds) { loop_->blackhole_for(seconds); }
bool FaultProxy::blackholed() const { return loop_->blackholed(); }
void FaultProxy::reset_connections() { loop_->reset_connections(); }
void FaultProxy::reset_every(double period_s) { loop_->reset_every(period_s); }
FaultProxyStats FaultProxy::stats() const { return loop_->stats(); }

}  // namespace trustrl::testing
