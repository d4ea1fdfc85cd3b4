#pragma once
// Constants of proto/trustrl/learner/v1/learner.proto that the learner and the actor must agree
// on, in one place: the learner refuses a join of another protocol version, and the actor a run
// of another.

#include <cstdint>

namespace trustrl::server {

/// The version of the learner protocol this build speaks (RunInfo and JoinRequest carry it).
inline constexpr std::uint32_t kLearnerProtocolVersion = 1;

/// The largest incarnation a learner takes (2^62): the default, an actor's start time in ns,
/// stays below it until 2116, and an absurd one (a negative number read as unsigned) is refused.
inline constexpr std::uint64_t kMaxIncarnation = std::uint64_t{1} << 62;

}  // namespace trustrl::server
