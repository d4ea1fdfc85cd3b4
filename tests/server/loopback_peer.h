#pragma once
// A second client host on one machine, for tests of per-host limits: Linux routes all of
// 127.0.0.0/8 to loopback, so a socket bound to 127.0.0.2 before connect() reaches a server on
// 127.0.0.1 as another peer ("ipv4:127.0.0.2").

#include <arpa/inet.h>
#include <grpcpp/create_channel_posix.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>

#include "server/transport/transport.h"

namespace trustrl::testing {

/// A plain TCP connection from `source` (an IPv4 loopback address) to 127.0.0.1:port; -1 if it
/// cannot be made.
inline int connect_from(const std::string& source, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/// Whether the server has closed connection `fd` (end of stream or reset); reads and drops
/// whatever the server sent, without waiting.
inline bool closed_by_server(int fd) {
  char bytes[4096];
  for (int k = 0; k < 64; ++k) {
    const ssize_t n = recv(fd, bytes, sizeof(bytes), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }
  return false;
}

/// A plaintext gRPC channel to a server on 127.0.0.1:port whose one connection comes from
/// `source`; null if the connection cannot be made. It does not reconnect.
inline std::shared_ptr<grpc::Channel> channel_from(const std::string& source, int port) {
  const int fd = connect_from(source, port);
  if (fd < 0) return nullptr;
  return grpc::CreateCustomInsecureChannelFromFd(
      "127.0.0.1:" + std::to_string(port), fd,
      server::client_channel_arguments(server::kDefaultMaxMessageBytes));
}

}  // namespace trustrl::testing
