#include "core/thread_pool.h"

#include <algorithm>

#include "core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace trustrl {

namespace {

constexpr std::uint64_t generation(std::uint64_t ticket) { return ticket >> 32; }
constexpr std::size_t task_count(std::uint64_t ticket) { return (ticket >> 16) & 0xffff; }
constexpr std::size_t next_task(std::uint64_t ticket) { return ticket & 0xffff; }

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until ready() or ThreadPool::kSpin has passed; reads the clock every 64 pauses only.
template <class Ready>
bool spin_until(const Ready& ready) {
  const auto deadline = std::chrono::steady_clock::now() + ThreadPool::kSpin;
  for (unsigned i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

// The pool whose worker this thread is, and its index there (see run_on_threads).
thread_local const ThreadPool* worker_of = nullptr;
thread_local int worker_index = 0;

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads < 1)
    throw Error("thread pool needs at least 1 thread, got " + std::to_string(num_threads));
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  { std::lock_guard lock(mutex_); }  // a worker between its last check and its wait is waiting now
  start_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_tasks() {
  while (true) {
    const std::uint64_t t = ticket_.fetch_add(1, std::memory_order_acq_rel);
    const std::size_t count = task_count(t), task = next_task(t);
    if (task >= count) return;
    try {
      (*body_)(first_ + task);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    if (done_.fetch_add(1) + 1 == count && caller_parked_.load()) {
      { std::lock_guard lock(mutex_); }
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::worker_loop(int index) {
  worker_of = this;
  worker_index = index;
  std::uint64_t seen = 0;
  // Seq-cst throughout the parking protocol: a worker raises parked_ then reads the ticket, the
  // caller publishes the ticket then reads parked_, so one of them sees the other.
  auto ready = [&] { return stopping_.load() || generation(ticket_.load()) != seen; };
  while (true) {
    if (!spin_until(ready)) {
      std::unique_lock lock(mutex_);
      parked_.fetch_add(1);
      start_cv_.wait(lock, ready);
      parked_.fetch_sub(1);
    }
    if (stopping_.load()) return;
    seen = generation(ticket_.load());
    run_tasks();
  }
}

void ThreadPool::run_round(std::size_t first, std::size_t count,
                           const std::function<void(std::size_t)>& body) {
  // Every task of the last round is done, so no thread reads body_ or first_ now.
  body_ = &body;
  first_ = first;
  done_.store(0);
  const std::uint64_t next_generation = generation(ticket_.load()) + 1;
  ticket_.store((next_generation << 32) | (std::uint64_t(count) << 16));
  if (parked_.load() > 0) {
    { std::lock_guard lock(mutex_); }
    start_cv_.notify_all();
  }
  run_tasks();
  // Wait for the tasks workers claimed; a worker that has not woken claims none.
  auto finished = [&] { return done_.load() == count; };
  if (!spin_until(finished)) {
    std::unique_lock lock(mutex_);
    caller_parked_.store(true);
    done_cv_.wait(lock, finished);
    caller_parked_.store(false);
  }
}

void ThreadPool::parallel_for(std::size_t count, const std::function<void(std::size_t)>& body) {
  if (workers_.empty() || count <= 1) {
    for (std::size_t i = 0; i < count; ++i) body(i);
    return;
  }
  for (std::size_t first = 0; first < count; first += kMaxTasks)
    run_round(first, std::min(kMaxTasks, count - first), body);
  std::exception_ptr error;
  {
    std::lock_guard lock(mutex_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::run_on_threads(const std::function<void(int)>& body) {
  // One task per thread; each runs body with the index of whichever thread claimed it.
  parallel_for(static_cast<std::size_t>(num_threads()),
               [&](std::size_t) { body(worker_of == this ? worker_index : 0); });
}

}  // namespace trustrl
