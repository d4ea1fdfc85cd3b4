#pragma once
// Accepts a gRPC server's TCP connections itself, so that running out of file descriptors never
// leaves the server deaf.
//
// gRPC 1.51's own listener stops for good after one accept4() fails with EMFILE (the issue:
// "alive but deaf" after a flood of plain TCP connections). This listener instead refuses
// (accepts and closes at once) connections that arrive while the process is within `headroom`
// descriptors of its limit, takes a connection off the queue with a spare descriptor when
// accept4() fails with EMFILE all the same, and hands every other connection to
// gRPC through ServerBuilder's external connection acceptor (with the server's credentials, TLS
// included), non-blocking as gRPC's own listener would make it.

#include <grpcpp/server_builder.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

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

class Listener {
 public:
  /// Descriptors kept free for the process's own work (sessions, checkpoints, logs).
  static constexpr int kDefaultHeadroom = 64;

  /// Binds and listens on `address` ("127.0.0.1:0", "[::1]:5000", "0.0.0.0:5000", "host:port").
  /// Throws Error if it cannot.
  Listener(const std::string& address, int headroom, std::function<void(const std::string&)> log);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const { return port_; }
  /// Starts handing connections to `acceptor` (after the gRPC server has started).
  void start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);
  /// Stops accepting; connections already handed over are the server's.
  void stop();
  /// Connections refused because descriptors ran short.
  std::int64_t refused() const { return refused_.load(); }

 private:
  void run();
  void refuse(int fd, const char* why);

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int spare_fd_ = -1;
  int port_ = 0;
  int headroom_;
  std::function<void(const std::string&)> log_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::atomic<std::int64_t> refused_{0};
  std::thread thread_;
};

/// Adds a listening port for `listen` to `builder`, builds and starts the server: TCP addresses
/// through a Listener (stored in `listener`), unix: sockets through gRPC's own listener. Sets
/// `port` (0 for unix sockets). Throws Error if the address cannot be bound.
std::unique_ptr<grpc::Server> start_server(grpc::ServerBuilder& builder, const std::string& listen,
                                           std::shared_ptr<grpc::ServerCredentials> credentials,
                                           std::function<void(const std::string&)> log,
                                           std::unique_ptr<Listener>& listener, int& port);

}  // namespace trustrl::server
