#pragma once
// A parallel loop's items split so that each thread keeps its own items from loop to loop and
// still no thread idles while work is left (work stealing over contiguous ranges).
//
// Items [0, n) are cut into one home range per thread. A thread claims blocks from the front of
// its home range, each a quarter of what is left there (at least one item), and when that range is
// empty takes blocks from the back of the others'. An env copy stepped by the same thread every
// batch keeps its state in that core's cache, and the batch still ends as soon as the work does:
// copies differ in cost (an auto-reset, a step full of contacts), so fixed ranges make every
// thread wait for the slowest, and ranges handed out in arrival order move copies between cores.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace trustrl {

class BalancedRanges {
 public:
  /// `items` up to 2^32 - 1; `threads` >= 1.
  BalancedRanges(std::size_t items, int threads);

  std::size_t items() const { return items_; }
  int threads() const { return threads_; }

  /// Makes every item claimable again, each in its home range; call between loops, never during.
  void reset();

  /// The next block of items for thread `home` ([begin, end)): from its own range while any is
  /// left, then from the back of the others'. An empty block (begin == end) means every item has
  /// been claimed. Safe to call from several threads at once.
  std::pair<std::size_t, std::size_t> next(int home);

  /// Item i's home thread; throws Error for an item past the last.
  int home_of(std::size_t item) const;

 private:
  // front (low 32 bits) | back (high 32 bits) of the unclaimed part of one home range, alone on
  // its cache line so that the owner's claims do not contend with the other threads'.
  struct alignas(64) Range {
    std::atomic<std::uint64_t> bounds{0};
  };

  std::size_t begin_of(int home) const;
  // Claims a block of range `range`'s unclaimed part, from its front (its owner) or its back
  // (another thread); false when that part is empty.
  bool claim(int range, bool from_back, std::pair<std::size_t, std::size_t>& block);

  std::size_t items_;
  int threads_;
  std::unique_ptr<Range[]> ranges_;
};

}  // namespace trustrl
