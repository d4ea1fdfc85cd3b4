#pragma once
// A fault-injecting TCP proxy for tests, in process (what Toxiproxy does): it listens on
// 127.0.0.1, forwards every connection to a loopback port, and injects faults that can be
// switched at any time: latency with jitter, a bandwidth cap, a blackhole, abrupt resets. The
// kernel's netem and iptables are not available everywhere; a proxy is.
//
//   FaultProxy proxy(learner_port);
//   proxy.set_latency(0.020, 0.005);          // 20 ms +- 5 ms per chunk, each direction
//   start_actor("--learner", proxy.address());
//   proxy.blackhole_for(5.0);                 // the actor is cut off for 5 s
//
// One thread polls every socket, waking at least every 50 ms, so every wait is bounded and the
// destructor returns promptly.

#include <cstdint>
#include <memory>
#include <string>

namespace trustrl::testing {

struct FaultProxyStats {
  std::int64_t connections = 0;      // accepted so far
  std::int64_t open = 0;             // open now
  std::int64_t resets = 0;           // connections the proxy reset (RST to both ends)
  std::int64_t bytes_forwarded = 0;  // written to either end
  std::int64_t bytes_dropped = 0;    // read during a blackhole and thrown away
};

class FaultProxy {
 public:
  /// Listens on 127.0.0.1 (a free port) and forwards each connection to 127.0.0.1:target_port.
  /// `seed` seeds the jitter. Throws trustrl::Error if it cannot listen.
  explicit FaultProxy(int target_port, std::uint64_t seed = 1);
  /// Stops the thread and closes every connection.
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const;
  /// "127.0.0.1:PORT", for --learner and --env-server.
  std::string address() const;

  /// Holds each chunk read, in either direction, for a delay drawn uniformly from
  /// [mean_s - jitter_s, mean_s + jitter_s] before forwarding it; chunks keep their order (a chunk
  /// never leaves before the one ahead of it). 0: none.
  void set_latency(double mean_s, double jitter_s = 0);
  /// At most this many bytes per second in each direction of each connection; 0: no cap.
  void set_bandwidth(double bytes_per_s);
  /// While on, bytes read in either direction are dropped (the sender sees them accepted) and an
  /// end's close is not passed on; new connections are accepted. Chunks already held for latency
  /// still leave.
  void set_blackhole(bool on);
  /// A blackhole that ends by itself `seconds` from now.
  void blackhole_for(double seconds);
  bool blackholed() const;
  /// Resets every open connection now (SO_LINGER 0, so both ends get an RST); returns when done.
  void reset_connections();
  /// Resets every open connection every `period_s` from now on; 0: stops.
  void reset_every(double period_s);

  FaultProxyStats stats() const;

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace trustrl::testing
