#pragma once
// The spec hash both ends of a session compare in the handshake.
//
// SpecHash = FNV-1a 64 over a byte encoding that any language can reproduce (little-endian,
// fixed widths, floats as IEEE-754 bits with -0 written as +0), of exactly the fields that change
// the meaning of the arrays: the spaces, autoreset_mode, num_agents, max_episode_steps, the agents'
// spaces and the state space. docs/REMOTE_ENVS.md gives the byte layout; the Python SDK
// (python/trustrl_env/protocol.py) implements it too, and tests check that both agree. It is a
// checksum against mismatched setups, not a security measure.

#include <cstdint>
#include <optional>
#include <string>

#include "trustrl/env/v1/env.pb.h"

namespace trustrl::server {

/// The bytes the hash is taken over (exposed for tests and for implementers in other languages).
std::string spec_hash_bytes(const ::trustrl::env::v1::EnvSpec& spec);
std::uint64_t spec_hash(const ::trustrl::env::v1::EnvSpec& spec);
/// "0x1234abcd5678ef00".
std::string hash_text(std::uint64_t hash);

/// The hashed fields in which `actual` differs from `expected`, as
/// "max_episode_steps: expected 200, got 500; action_space: expected Discrete(3), got Discrete(2)";
/// none when they agree. A query, not a check: callers put the text in their own messages.
std::optional<std::string> spec_difference(const ::trustrl::env::v1::EnvSpec& expected,
                                           const ::trustrl::env::v1::EnvSpec& actual);

}  // namespace trustrl::server
