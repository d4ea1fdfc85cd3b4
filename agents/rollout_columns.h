#pragma once
// Rollouts cut and joined along the env-copy axis: a learner that gathers its batch from several
// actors puts their rollouts side by side, and takes only the copies a batch still needs from
// the last one. Every buffer of a rollout has the copy axis second ([T, N, ...]) or first
// ([N, A] bootstrap values), and GAE runs per copy, so copies are independent columns.
//
// Episodes carry no copy index: episode k is the k-th (step, copy) whose terminated or truncated
// flag is set, in row-major order, which is how both actors record them. Cutting and joining keep
// that correspondence.

#include <cstdint>
#include <vector>

#include "agents/rollout.h"
#include "core/bytes.h"

namespace trustrl::agents {

/// Copies [first, first + count) of `r`. Throws Error if they are out of range.
Rollout slice_columns(const Rollout& r, int first, int count);
/// The parts side by side, in order: num_envs adds up, everything else must agree (Error names
/// the field that does not). The result's policy_version is the oldest part's.
Rollout merge_columns(const std::vector<const Rollout*>& parts);
/// Whether `r` carries one episode record per ended (step, copy), as actors write them.
bool episodes_match_flags(const Rollout& r);

/// A rollout as bytes and back (between learners); read throws Error naming `what` if truncated.
void save_rollout(const Rollout& r, ByteWriter& out);
Rollout load_rollout(ByteReader& in);

}  // namespace trustrl::agents
