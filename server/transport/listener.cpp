#include "server/transport/listener.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "core/error.h"

namespace trustrl::server {

namespace {

std::atomic<bool> limit_chosen{false};

void set_soft_limit(rlim_t wanted) {
  rlimit current{};
  if (getrlimit(RLIMIT_NOFILE, &current) != 0) return;
  if (wanted > current.rlim_max) wanted = current.rlim_max;
  if (wanted == current.rlim_cur) return;
  current.rlim_cur = wanted;
  setrlimit(RLIMIT_NOFILE, &current);
}

}  // namespace

std::int64_t raise_open_file_limit() {
  rlimit current{};
  if (!limit_chosen.load() && getrlimit(RLIMIT_NOFILE, &current) == 0)
    set_soft_limit(current.rlim_max);
  return open_file_limit();
}

void limit_open_files(std::int64_t limit) {
  limit_chosen.store(true);
  set_soft_limit(static_cast<rlim_t>(limit));
}

std::int64_t open_file_limit() {
  rlimit current{};
  if (getrlimit(RLIMIT_NOFILE, &current) != 0) return -1;
  return current.rlim_cur == RLIM_INFINITY ? INT64_MAX
                                           : static_cast<std::int64_t>(current.rlim_cur);
}

std::int64_t open_descriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  std::int64_t n = -1;  // the directory's own descriptor
  while (const dirent* entry = readdir(dir))
    if (entry->d_name[0] != '.') ++n;
  closedir(dir);
  return n;
}

std::int64_t default_connections_per_peer(std::int64_t sessions) {
  return std::max<std::int64_t>(1024, std::min<std::int64_t>(sessions, INT_MAX) * 4);
}

std::string socket_host(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof(text));
    return std::string("ipv4:") + text;
  }
  if (address.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(address).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      inet_ntop(AF_INET, a.s6_addr + 12, text, sizeof(text));
      return std::string("ipv4:") + text;
    }
    inet_ntop(AF_INET6, &a, text, sizeof(text));
    return std::string("ipv6:[") + text + "]";
  }
  return "unknown";
}

bool is_tcp_address(const std::string& listen) {
  return listen.rfind("unix:", 0) != 0 && listen.rfind("unix-abstract:", 0) != 0;
}

namespace {

// "127.0.0.1:0" -> ("127.0.0.1", "0"); "[::1]:5000" -> ("::1", "5000"); "ipv4:" and "dns:"
// prefixes are dropped.
std::pair<std::string, std::string> split_host_port(std::string address) {
  for (const char* scheme : {"ipv4:", "ipv6:", "dns:///", "dns:"})
    if (address.rfind(scheme, 0) == 0) address = address.substr(std::strlen(scheme));
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw Error("listen address '" + address + "' has no :port");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, address.substr(colon + 1)};
}

}  // namespace

Listener::Listener(const std::string& address, int headroom, std::int64_t max_per_peer,
                   std::function<void(const std::string&)> log)
    : headroom_(headroom), max_per_peer_(max_per_peer), log_(std::move(log)) {
  const auto [host, port] = split_host_port(address);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.empty() || host == "*" ? nullptr : host.c_str(), port.c_str(),
                                 &hints, &found);
      rc != 0)
    throw Error("cannot listen on " + address + ": " + gai_strerror(rc));
  std::string failure = "no address";
  for (const addrinfo* a = found; a && listen_fd_ < 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      listen_fd_ = fd;
    } else {
      failure = std::strerror(errno);
      close(fd);
    }
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0)
    throw Error("cannot listen on " + address + ": " + failure +
                " (is the port taken, or the address not one of this machine's?)");
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(listen_fd_);
    throw Error(std::string("cannot listen: pipe2: ") + std::strerror(errno));
  }
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Listener::~Listener() {
  stop();
  for (int fd : {listen_fd_, wake_[0], wake_[1], spare_fd_})
    if (fd >= 0) close(fd);
}

void Listener::start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor) {
  acceptor_ = std::move(acceptor);
  thread_ = std::thread([this] { run(); });
}

void Listener::stop() {
  if (!thread_.joinable()) return;
  const char byte = 1;
  [[maybe_unused]] const auto n = write(wake_[1], &byte, 1);
  thread_.join();
}

void Listener::refuse(int fd, const char* why) {
  close(fd);
  // One line for the first refusal and then one per thousand: a flood must not flood the log.
  if (refused_.fetch_add(1) % 1000 == 0 && log_)
    log_(std::string("refused a connection: ") + why + " (" + std::to_string(refused_.load()) +
         " so far); the server goes on serving the others");
}

namespace {

bool still_open(int fd, dev_t device, ino_t inode) {
  struct stat now {};
  return fstat(fd, &now) == 0 && now.st_dev == device && now.st_ino == inode;
}

}  // namespace

bool Listener::at_cap(const std::string& host) {
  const auto it = hosts_.find(host);
  if (it == hosts_.end()) return false;
  Host& mine = it->second;
  const auto full = [&] { return static_cast<std::int64_t>(mine.held.size()) >= max_per_peer_; };
  // Closed connections are looked for only at the cap, and at most every 100 ms: a host flooding
  // past its cap must not cost the listener a scan of its connections per refusal.
  if (const auto now = std::chrono::steady_clock::now();
      full() && now - mine.checked >= std::chrono::milliseconds(100)) {
    mine.checked = now;
    std::erase_if(mine.held, [](const Held& h) { return !still_open(h.fd, h.device, h.inode); });
  }
  return full();
}

void Listener::hold(int fd, const std::string& host) {
  struct stat st {};
  if (fstat(fd, &st) == 0) hosts_[host].held.push_back({fd, st.st_dev, st.st_ino});
}

void Listener::refuse_peer(int fd, const std::string& host) {
  close(fd);
  refused_.fetch_add(1);
  const std::int64_t n = ++refused_peer_;
  // One line for the first refusal, one per thousand, and one for another host than the last
  // named (at most every 10 s): a flood, even from several hosts, must not flood the log.
  const auto now = std::chrono::steady_clock::now();
  const bool another = host != last_named_ && now - last_line_ >= std::chrono::seconds(10);
  if (!log_ || !(n == 1 || n % 1000 == 0 || another)) return;
  last_named_ = host;
  last_line_ = now;
  log_("refused a connection from " + host + ": it already holds " + std::to_string(max_per_peer_) +
       " connections, the most one client host may hold (--max-connections-per-peer); " +
       std::to_string(n) + " refused so far; the server goes on serving the others");
}

void Listener::sweep() {
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    std::erase_if(it->second.held,
                  [](const Held& h) { return !still_open(h.fd, h.device, h.inode); });
    it = it->second.held.empty() ? hosts_.erase(it) : std::next(it);
  }
  swept_ = std::chrono::steady_clock::now();
}

void Listener::run() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, 1000) < 0 && errno != EINTR) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (fds[1].revents != 0) return;
    if (std::chrono::steady_clock::now() - swept_ >= std::chrono::seconds(1)) sweep();
    if ((fds[0].revents & POLLIN) == 0) continue;
    for (;;) {  // drain the queue
      // Non-blocking, as gRPC's own listener makes them: gRPC reads until EAGAIN, and a blocking
      // socket would hold one of its poller threads in read().
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof(peer);
      const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
          // No descriptor for it: take it off the queue with the spare one and close it, so the
          // queue does not grow and the clients learn at once.
          if (spare_fd_ >= 0) {
            close(spare_fd_);
            const int dropped = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (dropped >= 0) refuse(dropped, "this process has no file descriptor left");
            spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
          } else {
            spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          break;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        break;  // EAGAIN: the queue is empty
      }
      // The host's cap first: it is cheap, while counting descriptors reads /proc/self/fd.
      const std::string host = max_per_peer_ > 0 ? socket_host(peer) : std::string();
      if (max_per_peer_ > 0 && at_cap(host)) {
        refuse_peer(fd, host);
        continue;
      }
      const std::int64_t limit = open_file_limit();
      if (limit > 0 && open_descriptors() > limit - headroom_) {
        refuse(fd, "too close to the limit on open file descriptors");
        continue;
      }
      if (max_per_peer_ > 0) hold(fd, host);
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
      p.listener_fd = listen_fd_;
      p.fd = fd;
      acceptor_->HandleNewConnection(&p);
    }
  }
}

std::unique_ptr<grpc::Server> start_server(grpc::ServerBuilder& builder, const std::string& listen,
                                           std::shared_ptr<grpc::ServerCredentials> credentials,
                                           std::int64_t max_connections_per_peer,
                                           std::function<void(const std::string&)> log,
                                           std::unique_ptr<Listener>& listener, int& port) {
  // A server process takes every descriptor it may: a flood of connections then meets the
  // listener's headroom long before the process runs out.
  static const std::int64_t raised = raise_open_file_limit();
  (void)raised;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor;
  port = 0;
  if (is_tcp_address(listen)) {
    listener = std::make_unique<Listener>(listen, Listener::kDefaultHeadroom,
                                          max_connections_per_peer, std::move(log));
    port = listener->port();
    acceptor = builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, credentials);
  } else {
    builder.AddListeningPort(listen, credentials);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server)
    throw Error("cannot listen on " + listen +
                " (is the socket path taken, or its directory missing?)");
  if (listener) listener->start(std::move(acceptor));
  return server;
}

}  // namespace trustrl::server
