#pragma once
// The configuration of `trustrl distill`: one YAML file, validated (docs/DISTILLATION.md).

#include <cstdint>
#include <string>
#include <vector>

#include "agents/distill_loss.h"
#include "agents/network.h"
#include "agents/train_config.h"
#include "core/config.h"

namespace trustrl::agents {

/// Who acts while the states the student learns on are collected (Czarnecki et al. 2019,
/// "Distilling Policy Distillation"): the teacher, the student, or the teacher with a share that
/// falls linearly from mix_start to mix_end over the run (per rollout, DAgger-like).
enum class DistillCollect { kTeacher, kStudent, kMixed };

struct DistillSection {
  /// One policy file or run directory, or several separated by commas.
  std::string teacher;
  /// The student's networks (its critic is not trained: a policy file needs one).
  NetworkConfig student;
  double temperature = 1.0;
  KlDirection direction = KlDirection::kForward;
  DistillCollect collect = DistillCollect::kTeacher;
  double mix_start = 1.0, mix_end = 0.0;
  std::int64_t total_steps = 200000;
  std::int64_t num_envs = 8;
  std::int64_t num_steps = 128;
  std::int64_t minibatch_size = 256;
  std::int64_t epochs = 2;
  double learning_rate = 3e-3;
  bool anneal_lr = true;
  double adam_eps = 1e-5;
  double max_grad_norm = 1.0;
  std::int64_t eval_episodes = 5;
  std::int64_t eval_every = 10;

  void visit(ConfigVisitor& v);
  /// The teacher paths, in order.
  std::vector<std::string> teachers() const;
};

struct DistillConfig {
  std::uint64_t seed = 1;
  DistillSection distill;
  RunConfig run;

  void visit(ConfigVisitor& v);
  /// Throws ConfigError naming the fields.
  void validate() const;
  std::int64_t batch_steps() const { return distill.num_envs * distill.num_steps; }
  std::int64_t num_updates() const { return distill.total_steps / batch_steps(); }
};

DistillConfig load_distill_config(const std::string& path,
                                  const std::vector<std::string>& overrides = {});
DistillConfig parse_distill_config(const std::string& yaml,
                                   const std::vector<std::string>& overrides = {});

}  // namespace trustrl::agents
