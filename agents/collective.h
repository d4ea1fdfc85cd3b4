#pragma once
// What several data-parallel learners need from each other (docs/DISTRIBUTED.md): every learner
// calls the same operations in the same order, and each returns once all have called it. The
// implementation over libtorch's c10d (ProcessGroupGloo on a TCPStore) is in server/; agents/
// sees only this interface.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace trustrl::agents {

class Collective {
 public:
  virtual ~Collective() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// Sums a contiguous CPU float32 or float64 tensor element-wise over every learner, in place;
  /// every learner ends with the same bits.
  virtual void all_reduce_sum(torch::Tensor& values) = 0;
  /// Every learner's bytes, in rank order (sizes may differ).
  virtual std::vector<std::vector<std::uint8_t>> all_gather(
      const std::vector<std::uint8_t>& bytes) = 0;
  /// Rank 0's bytes, on every learner (the others' `bytes` are replaced).
  virtual void broadcast(std::vector<std::uint8_t>& bytes) = 0;

  /// Whether any learner passed true.
  bool any(bool flag) {
    torch::Tensor t = torch::full({1}, flag ? 1.0 : 0.0, torch::kFloat64);
    all_reduce_sum(t);
    return t.item<double>() > 0.5;
  }
};

}  // namespace trustrl::agents
