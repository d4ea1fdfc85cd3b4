#include "agents/distill_config.h"

#include <algorithm>

#include "core/config_file.h"
#include "core/error.h"

namespace trustrl::agents {

void DistillSection::visit(ConfigVisitor& v) {
  v.field("teacher", teacher,
          "policy file or run directory of the teacher; several separated by commas");
  v.section("student", student, "the student's networks");
  v.field("temperature", temperature,
          "T: logits / T (loss x T^2); Gaussian: variances x T (loss x T)", Bounds::positive());
  v.choice("direction", direction,
           {{"forward", KlDirection::kForward}, {"reverse", KlDirection::kReverse}},
           "forward: KL(teacher || student), mode covering; reverse: KL(student || teacher), mode "
           "seeking");
  v.choice("collect", collect,
           {{"teacher", DistillCollect::kTeacher},
            {"student", DistillCollect::kStudent},
            {"mixed", DistillCollect::kMixed}},
           "who acts while states are collected");
  v.field("mix_start", mix_start, "collect mixed: the teacher's share of rollouts at the start",
          Bounds::closed(0, 1));
  v.field("mix_end", mix_end, "collect mixed: the teacher's share at the end",
          Bounds::closed(0, 1));
  v.field("total_steps", total_steps, "env steps collected over the run", Bounds::at_least(1));
  v.field("num_envs", num_envs, "env copies", Bounds::closed(1, 4096));
  v.field("num_steps", num_steps, "steps per env copy per update", Bounds::at_least(1));
  v.field("minibatch_size", minibatch_size, "samples per gradient step", Bounds::at_least(1));
  v.field("epochs", epochs, "passes over each update's samples", Bounds::at_least(1));
  v.field("learning_rate", learning_rate, "Adam step size", Bounds::positive());
  v.field("anneal_lr", anneal_lr, "anneal the learning rate linearly to 0 over the run");
  v.field("adam_eps", adam_eps, "Adam epsilon", Bounds::positive());
  v.field("max_grad_norm", max_grad_norm, "global gradient-norm clip", Bounds::positive());
  v.field("eval_episodes", eval_episodes,
          "deterministic episodes of the student behind distill/return", Bounds::at_least(1));
  v.field("eval_every", eval_every, "updates between evaluations (and the last update)",
          Bounds::at_least(1));
}

std::vector<std::string> DistillSection::teachers() const {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= teacher.size()) {
    const std::size_t comma = std::min(teacher.find(',', start), teacher.size());
    std::string part = teacher.substr(start, comma - start);
    const auto first = part.find_first_not_of(" \t"), last = part.find_last_not_of(" \t");
    out.push_back(first == std::string::npos ? "" : part.substr(first, last - first + 1));
    start = comma + 1;
  }
  return out;
}

void DistillConfig::visit(ConfigVisitor& v) {
  std::int64_t s = static_cast<std::int64_t>(seed);
  v.field("seed", s, "seed of envs, sampling, the student's weights and shuffles",
          Bounds::closed(0, 9.0e15));
  seed = static_cast<std::uint64_t>(s);
  v.section("distill", distill, "teacher(s), student, loss and collection");
  v.section("run", run, "checkpoints, TensorBoard, threads");
}

void DistillConfig::validate() const {
  for (const std::string& t : distill.teachers())
    if (t.empty())
      throw ConfigError(
          "distill.teacher: give a policy file or run directory (several separated by commas, "
          "none empty)");
  distill.student.validate();
  if (distill.student.gsde)
    throw ConfigError("distill.student.gsde: a gSDE student is not supported; set it to false");
  if (num_updates() < 1)
    throw ConfigError("distill.total_steps " + std::to_string(distill.total_steps) +
                      " is less than one update of distill.num_envs x distill.num_steps = " +
                      std::to_string(batch_steps()));
  if (distill.minibatch_size > batch_steps())
    throw ConfigError("distill.minibatch_size " + std::to_string(distill.minibatch_size) +
                      " is larger than an update's " + std::to_string(batch_steps()) + " samples");
}

DistillConfig parse_distill_config(const std::string& yaml,
                                   const std::vector<std::string>& overrides) {
  DistillConfig c;
  read_config(c, yaml, overrides);
  c.validate();
  return c;
}

DistillConfig load_distill_config(const std::string& path,
                                  const std::vector<std::string>& overrides) {
  return load_config_file<DistillConfig>(path, overrides);
}

}  // namespace trustrl::agents
