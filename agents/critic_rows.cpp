#include "agents/critic_rows.h"

#include <string>

#include "core/error.h"

namespace trustrl::agents {

CriticRows CriticRowGather::gather(const torch::Tensor& table, const torch::Tensor& index,
                                   std::int64_t start, std::int64_t count) {
  if (!index.defined()) return {table.narrow(0, start, count).contiguous(), torch::Tensor()};
  const std::int64_t table_rows = table.size(0);
  slot_.resize(static_cast<std::size_t>(table_rows), -1);
  const torch::Tensor ids = index.narrow(0, start, count).contiguous();
  const std::int64_t* id = ids.data_ptr<std::int64_t>();
  torch::Tensor local = torch::empty({count}, torch::kInt64);
  std::int64_t* at = local.data_ptr<std::int64_t>();
  std::vector<std::int64_t> distinct;
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t row = id[i];
    if (row < 0 || row >= table_rows) {
      for (const std::int64_t r : distinct) slot_[static_cast<std::size_t>(r)] = -1;
      throw Error("critic input index " + std::to_string(row) + " of sample " +
                  std::to_string(start + i) + " is outside the batch's " +
                  std::to_string(table_rows) + " critic input rows");
    }
    std::int64_t& slot = slot_[static_cast<std::size_t>(row)];
    if (slot < 0) {
      slot = static_cast<std::int64_t>(distinct.size());
      distinct.push_back(row);
    }
    at[i] = slot;
  }
  for (const std::int64_t r : distinct) slot_[static_cast<std::size_t>(r)] = -1;
  const torch::Tensor rows = torch::from_blob(
      distinct.data(), {static_cast<std::int64_t>(distinct.size())}, torch::kInt64);
  return {table.index_select(0, rows).contiguous(), local};
}

}  // namespace trustrl::agents
