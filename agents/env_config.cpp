#include "agents/env_config.h"

#include <charconv>
#include <system_error>

#include "core/error.h"

namespace trustrl::agents {

std::int64_t parse_env_threads(const std::string& text) {
  if (text == "auto") return kAutoEnvThreads;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 1024)
    throw ConfigError("env.threads: expected auto or a whole number in [1, 1024], got '" + text +
                      "'");
  return n;
}

void EnvConfig::visit(ConfigVisitor& v) {
  v.field(
      "id", id,
      "env id (`trustrl envs` lists them); with `remote`, the id the server must serve (or empty)");
  v.field("options", options, "env options (Gymnasium's make() keyword arguments)");
  v.field("num_envs", num_envs, "env copies stepped as one batch", Bounds::closed(1, 65536));
  // A number or `auto`; kept as text here because the visitor's fields hold one type each.
  std::string t = threads == kAutoEnvThreads ? "auto" : std::to_string(threads);
  v.field("threads", t,
          "threads stepping the env copies: auto (chosen from the measured cost of the first "
          "steps) or 1..1024");
  threads = parse_env_threads(t);
  v.field("remote", remote, "host:port of a remote env server; empty for local envs");
  v.field("token", token, "token for the remote env server");
  v.field("tls_ca", tls_ca,
          "PEM file of the CA to trust for TLS to the remote server; empty: plaintext");
  v.field("connect_timeout_s", connect_timeout_s,
          "limit on each connection attempt to the remote server", Bounds::positive());
  v.field("request_timeout_s", request_timeout_s, "limit on each answer from the remote server",
          Bounds::positive());
  v.field("max_reconnects", max_reconnects,
          "reconnection attempts in a row before giving up on the remote server",
          Bounds::non_negative());
}

}  // namespace trustrl::agents
