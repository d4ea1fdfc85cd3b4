#include "core/balanced_ranges.h"

#include <string>

#include "core/error.h"

namespace trustrl {

namespace {

constexpr std::uint64_t pack(std::uint64_t front, std::uint64_t back) {
  return (back << 32) | front;
}
constexpr std::size_t front_of(std::uint64_t bounds) { return bounds & 0xffffffffu; }
constexpr std::size_t back_of(std::uint64_t bounds) { return bounds >> 32; }

// A quarter of what is left, at least one: big blocks while much is left (few claims), single
// items at the end (a short tail).
constexpr std::size_t block_size(std::size_t left) { return left / 4 > 0 ? left / 4 : 1; }

}  // namespace

BalancedRanges::BalancedRanges(std::size_t items, int threads) : items_(items), threads_(threads) {
  if (threads < 1)
    throw Error("balanced ranges need at least 1 thread, got " + std::to_string(threads));
  if (items > 0xffffffffu)
    throw Error("balanced ranges hold at most 2^32 - 1 items, got " + std::to_string(items));
  ranges_ = std::make_unique<Range[]>(static_cast<std::size_t>(threads));
  reset();
}

std::size_t BalancedRanges::begin_of(int home) const {
  return items_ * static_cast<std::size_t>(home) / static_cast<std::size_t>(threads_);
}

int BalancedRanges::home_of(std::size_t item) const {
  if (item >= items_)
    throw Error("item " + std::to_string(item) + " is not one of the " + std::to_string(items_) +
                " items");
  // The largest h with begin_of(h) <= item.
  int h = static_cast<int>(item * static_cast<std::size_t>(threads_) / items_);
  while (h + 1 < threads_ && begin_of(h + 1) <= item) ++h;
  while (h > 0 && begin_of(h) > item) --h;
  return h;
}

void BalancedRanges::reset() {
  for (int h = 0; h < threads_; ++h)
    ranges_[static_cast<std::size_t>(h)].bounds.store(pack(begin_of(h), begin_of(h + 1)),
                                                      std::memory_order_relaxed);
  // Published to the threads by whatever starts the loop (the pool's ticket).
}

bool BalancedRanges::claim(int range, bool from_back, std::pair<std::size_t, std::size_t>& block) {
  auto& bounds = ranges_[static_cast<std::size_t>(range)].bounds;
  std::uint64_t b = bounds.load(std::memory_order_relaxed);
  while (true) {
    const std::size_t front = front_of(b), back = back_of(b);
    if (front >= back) return false;
    const std::size_t n = block_size(back - front);
    const std::uint64_t rest = from_back ? pack(front, back - n) : pack(front + n, back);
    if (bounds.compare_exchange_weak(b, rest, std::memory_order_relaxed)) {
      block = from_back ? std::pair{back - n, back} : std::pair{front, front + n};
      return true;
    }
  }
}

std::pair<std::size_t, std::size_t> BalancedRanges::next(int home) {
  std::pair<std::size_t, std::size_t> block{0, 0};
  if (claim(home, /*from_back=*/false, block)) return block;
  for (int k = 1; k < threads_; ++k)
    if (claim((home + k) % threads_, /*from_back=*/true, block)) return block;
  return {0, 0};
}

}  // namespace trustrl
