#include "server/distributed/c10d_collective.h"

#include <cstdlib>
#include <cstring>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/error.h"
#include "server/transport/transport.h"

namespace trustrl::server {

namespace {

int int_from_environment(const char* name, int low, int high) {
  const char* text = std::getenv(name);
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < low || value > high)
    throw Error(std::string("environment variable ") + name + "='" + text +
                "' is not an integer in [" + std::to_string(low) + ", " + std::to_string(high) +
                "]");
  return static_cast<int>(value);
}

// Runs a c10d call, turning its exceptions (a peer died, a timeout) into one actionable Error.
template <class F>
void collective_call(const std::string& what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (const auto newline = message.find('\n'); newline != std::string::npos)
      message.resize(newline);
    throw Error(
        "data-parallel " + what +
        " failed (did another learner stop or die? restart all of them, rank 0 with --resume): " +
        message);
  }
}

}  // namespace

void DataParallelOptions::read_environment(bool rank_set, bool world_size_set, bool addr_set,
                                           bool port_set) {
  if (!rank_set && std::getenv("RANK")) rank = int_from_environment("RANK", 0, 1 << 20);
  if (!world_size_set && std::getenv("WORLD_SIZE"))
    world_size = int_from_environment("WORLD_SIZE", 1, 1 << 20);
  if (!addr_set && std::getenv("MASTER_ADDR")) master_addr = std::getenv("MASTER_ADDR");
  if (!port_set && std::getenv("MASTER_PORT"))
    master_port = int_from_environment("MASTER_PORT", 1, 65535);
}

struct C10dCollective::Group {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

C10dCollective::C10dCollective(const DataParallelOptions& options)
    : group_(std::make_unique<Group>()), rank_(options.rank), world_size_(options.world_size) {
  if (world_size_ < 1 || rank_ < 0 || rank_ >= world_size_)
    throw Error("rank " + std::to_string(rank_) + " is outside a world of " +
                std::to_string(world_size_) + " learners (--rank must be in [0, --world-size))");
  if (options.master_port < 1 || options.master_port > 65535)
    throw Error("--master-port must be in [1, 65535], got " + std::to_string(options.master_port));
  const auto timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(options.timeout_s * 1000));
  collective_call(
      "rendezvous at " + options.master_addr + ":" + std::to_string(options.master_port), [&] {
        c10d::TCPStoreOptions store;
        store.port = static_cast<std::uint16_t>(options.master_port);
        store.isServer = rank_ == 0;
        store.numWorkers = static_cast<std::size_t>(world_size_);
        store.waitWorkers = true;
        store.timeout = timeout;
        group_->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store);
        auto gloo = c10d::ProcessGroupGloo::Options::create();
        gloo->timeout = timeout;
        // Learners on one machine talk over loopback; otherwise over the interface that
        // this host's name resolves to (or GLOO_SOCKET_IFNAME's, as in PyTorch).
        if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"))
          gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
        else if (is_loopback_address(options.master_addr + ":0"))
          gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
          gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        group_->group =
            c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, rank_, world_size_, gloo);
      });
}

C10dCollective::~C10dCollective() = default;

void C10dCollective::all_reduce_sum(torch::Tensor& values) {
  if (world_size_ == 1) return;
  collective_call("all-reduce", [&] {
    std::vector<at::Tensor> tensors{values};
    group_->group->allreduce(tensors)->wait();
  });
}

std::vector<std::vector<std::uint8_t>> C10dCollective::all_gather(
    const std::vector<std::uint8_t>& bytes) {
  if (world_size_ == 1) return {bytes};
  std::vector<std::vector<std::uint8_t>> out(static_cast<std::size_t>(world_size_));
  collective_call("all-gather", [&] {
    // Sizes first, then every buffer padded to the largest (Gloo gathers equal sizes).
    std::vector<std::vector<at::Tensor>> sizes(1);
    for (int r = 0; r < world_size_; ++r) sizes[0].push_back(torch::empty({1}, torch::kInt64));
    std::vector<at::Tensor> mine{
        torch::full({1}, static_cast<std::int64_t>(bytes.size()), torch::kInt64)};
    group_->group->allgather(sizes, mine)->wait();
    std::int64_t largest = 1;
    for (const auto& s : sizes[0]) largest = std::max(largest, s.item<std::int64_t>());
    at::Tensor padded = torch::zeros({largest}, torch::kUInt8);
    std::memcpy(padded.data_ptr(), bytes.data(), bytes.size());
    std::vector<std::vector<at::Tensor>> all(1);
    for (int r = 0; r < world_size_; ++r) all[0].push_back(torch::empty({largest}, torch::kUInt8));
    std::vector<at::Tensor> input{padded};
    group_->group->allgather(all, input)->wait();
    for (int r = 0; r < world_size_; ++r) {
      const auto n =
          static_cast<std::size_t>(sizes[0][static_cast<std::size_t>(r)].item<std::int64_t>());
      const auto* p = all[0][static_cast<std::size_t>(r)].data_ptr<std::uint8_t>();
      out[static_cast<std::size_t>(r)].assign(p, p + n);
    }
  });
  return out;
}

void C10dCollective::broadcast(std::vector<std::uint8_t>& bytes) {
  if (world_size_ == 1) return;
  collective_call("broadcast", [&] {
    std::vector<at::Tensor> size{
        torch::full({1}, static_cast<std::int64_t>(bytes.size()), torch::kInt64)};
    group_->group->broadcast(size)->wait();
    const std::int64_t n = size[0].item<std::int64_t>();
    std::vector<at::Tensor> data{torch::zeros({std::max<std::int64_t>(n, 1)}, torch::kUInt8)};
    if (rank_ == 0) std::memcpy(data[0].data_ptr(), bytes.data(), bytes.size());
    group_->group->broadcast(data)->wait();
    const auto* p = data[0].data_ptr<std::uint8_t>();
    bytes.assign(p, p + n);
  });
}

}  // namespace trustrl::server
