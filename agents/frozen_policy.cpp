#include "agents/frozen_policy.h"

#include "core/error.h"

namespace trustrl::agents {

FrozenPolicy::FrozenPolicy(GroupPolicy group, const std::string& what)
    : group_(std::move(group)), inference_(group_.weights) {
  if (group_.weights.gsde)
    throw Error(what +
                " uses gSDE, whose std depends on noise drawn per rollout; it cannot be "
                "read as a fixed distribution");
}

Distribution FrozenPolicy::distribution(const float* raw_inputs, std::int64_t rows) {
  const auto width = static_cast<std::size_t>(actor_input_dim());
  normalized_.resize(static_cast<std::size_t>(rows) * width);
  group_.obs_normalizer.normalize(raw_inputs, rows, normalized_.data());
  inference_.actor_outputs(normalized_.data(), static_cast<int>(rows), outputs_);
  const envs::Space& space = group_.weights.action_space;
  const std::int64_t outputs = group_.weights.actor.back().out;
  const torch::Tensor out =
      torch::from_blob(outputs_.data(), {rows, outputs}, torch::kFloat32).clone();
  switch (space.kind) {
    case envs::SpaceKind::kDiscrete:
      return Distribution::categorical(out);
    case envs::SpaceKind::kMultiDiscrete:
      return Distribution::multi_categorical(out, space.nvec);
    case envs::SpaceKind::kBox: {
      const torch::Tensor log_std =
          torch::from_blob(const_cast<float*>(group_.weights.log_std.data()), {outputs},
                           torch::kFloat32)
              .clone();
      return Distribution::diag_gaussian(out, log_std);
    }
  }
  throw Error("frozen policy: unknown action space");
}

}  // namespace trustrl::agents
