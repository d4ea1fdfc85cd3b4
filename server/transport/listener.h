#pragma once
// Accepts a gRPC server's TCP connections itself, so that running out of file descriptors never
// leaves the server deaf, and no client host holds more than its share of connections.
//
// gRPC 1.51's own listener stops for good after one accept4() fails with EMFILE (the issue:
// "alive but deaf" after a flood of plain TCP connections). This listener instead refuses
// (accepts and closes at once) connections that arrive while the process is within `headroom`
// descriptors of its limit, takes a connection off the queue with a spare descriptor when
// accept4() fails with EMFILE all the same, and hands every other connection to
// gRPC through ServerBuilder's external connection acceptor (with the server's credentials, TLS
// included), non-blocking as gRPC's own listener would make it. It also refuses a connection from
// a client host that already holds `max_per_peer` connections handed over: one host opening
// hundreds of sockets (with or without ever starting a session) cannot take the descriptors every
// other host needs. gRPC says nothing when it closes a connection, so the listener counts a
// handed-over connection as open while its descriptor still names the same socket (checked each
// second, and when the host is at its cap).

#include <grpcpp/server_builder.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace trustrl::server {

/// Raises this process's soft limit on open descriptors to its hard limit, unless
/// limit_open_files() chose one; returns the soft limit now in force.
std::int64_t raise_open_file_limit();
/// Sets the soft limit on open descriptors to `limit` (at most the hard one) and keeps it there
/// (`trustrl env-server --max-open-files`, for tests of a server short of descriptors).
void limit_open_files(std::int64_t limit);
/// The soft limit on open descriptors.
std::int64_t open_file_limit();
/// Descriptors this process has open (counted in /proc/self/fd).
std::int64_t open_descriptors();

/// Whether `listen` is a TCP address this listener serves (not a unix: socket).
bool is_tcp_address(const std::string& listen);

/// Connections one client host may hold when no cap is chosen (`--max-connections-per-peer 0`):
/// 1024, or 4 per session (actor) the server admits when that is more. A trustrl client holds one
/// connection per channel (at most one per session or actor, plus a probe), so all the actors
/// and env servers of one machine never meet it, while one host still cannot take the hundreds
/// of thousands of descriptors a server process has.
std::int64_t default_connections_per_peer(std::int64_t sessions);

/// The client host of a socket address in peer_host()'s form: "ipv4:10.0.0.7", "ipv6:[::1]" (an
/// IPv4 address mapped into IPv6 counts as IPv4, as gRPC names it).
std::string socket_host(const sockaddr_storage& address);

class Listener {
 public:
  /// Descriptors kept free for the process's own work (sessions, checkpoints, logs).
  static constexpr int kDefaultHeadroom = 64;

  /// Binds and listens on `address` ("127.0.0.1:0", "[::1]:5000", "0.0.0.0:5000", "host:port").
  /// Refuses connections from a host that holds `max_per_peer` (0: no cap). Throws Error if it
  /// cannot listen.
  Listener(const std::string& address, int headroom, std::int64_t max_per_peer,
           std::function<void(const std::string&)> log);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const { return port_; }
  /// Starts handing connections to `acceptor` (after the gRPC server has started).
  void start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);
  /// Stops accepting; connections already handed over are the server's.
  void stop();
  /// Connections refused (descriptors short, or the host at its cap).
  std::int64_t refused() const { return refused_.load(); }

 private:
  // A connection handed to gRPC: open while `fd` still names the socket (device, inode).
  struct Held {
    int fd;
    dev_t device;
    ino_t inode;
  };
  struct Host {
    std::vector<Held> held;  // closed ones included until a check
    std::chrono::steady_clock::time_point checked{};
  };

  void run();
  void refuse(int fd, const char* why);
  // Whether `host` holds its maximum of connections.
  bool at_cap(const std::string& host);
  // Counts `fd` as held by `host`.
  void hold(int fd, const std::string& host);
  void refuse_peer(int fd, const std::string& host);
  // Forgets the closed connections of every host (the map must not keep hosts long gone).
  void sweep();

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int spare_fd_ = -1;
  int port_ = 0;
  int headroom_;
  std::int64_t max_per_peer_;
  std::function<void(const std::string&)> log_;
  // Used by the listener's thread only.
  std::map<std::string, Host> hosts_;  // by client host
  std::chrono::steady_clock::time_point swept_{};
  std::int64_t refused_peer_ = 0;
  std::string last_named_;  // the host in the last "refused a connection from" line
  std::chrono::steady_clock::time_point last_line_{};
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::atomic<std::int64_t> refused_{0};
  std::thread thread_;
};

/// Adds a listening port for `listen` to `builder`, builds and starts the server: TCP addresses
/// through a Listener (stored in `listener`, at most `max_connections_per_peer` per client
/// host), unix: sockets through gRPC's own listener. Sets `port` (0 for unix sockets). Throws
/// Error if the address cannot be bound.
std::unique_ptr<grpc::Server> start_server(grpc::ServerBuilder& builder, const std::string& listen,
                                           std::shared_ptr<grpc::ServerCredentials> credentials,
                                           std::int64_t max_connections_per_peer,
                                           std::function<void(const std::string&)> log,
                                           std::unique_ptr<Listener>& listener, int& port);

}  // namespace trustrl::server
