#pragma once
// agents::Collective over libtorch's c10d: a ProcessGroupGloo whose ranks meet through a
// TCPStore served by rank 0 at master_addr:master_port (PyTorch's env:// rendezvous), so learners
// can be launched by hand, by torchrun or by a cluster scheduler.

#include <cstdint>
#include <memory>
#include <string>

#include "agents/collective.h"

namespace trustrl::server {

struct DataParallelOptions {
  int rank = 0;
  int world_size = 1;
  /// Rank 0's host, where the TCPStore listens; "127.0.0.1" for learners on one machine.
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// Limit on the rendezvous and on each collective: a learner that waits longer for the others
  /// fails with an Error (one of them died or hangs).
  double timeout_s = 300.0;

  /// Fills the fields still at their defaults from torchrun's variables (RANK, WORLD_SIZE,
  /// MASTER_ADDR, MASTER_PORT), when set. Throws Error for a malformed value.
  void read_environment(bool rank_set, bool world_size_set, bool addr_set, bool port_set);
};

class C10dCollective final : public agents::Collective {
 public:
  /// Joins the group: blocks until every rank has joined (or timeout_s passes: Error).
  explicit C10dCollective(const DataParallelOptions& options);
  ~C10dCollective() override;

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  void all_reduce_sum(torch::Tensor& values) override;
  std::vector<std::vector<std::uint8_t>> all_gather(
      const std::vector<std::uint8_t>& bytes) override;
  void broadcast(std::vector<std::uint8_t>& bytes) override;

 private:
  struct Group;
  std::unique_ptr<Group> group_;
  int rank_ = 0, world_size_ = 1;
};

}  // namespace trustrl::server
