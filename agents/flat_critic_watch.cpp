#include "agents/flat_critic_watch.h"

#include <cmath>

#include "core/error.h"

namespace trustrl::agents {

FlatCriticWatch::FlatCriticWatch(std::int64_t updates, double band)
    : updates_(updates), band_(band) {
  if (updates < 1 || !(band >= 0)) throw Error("FlatCriticWatch needs updates >= 1 and band >= 0");
}

FlatCriticWatch::Event FlatCriticWatch::observe(double explained_variance) {
  if (std::isnan(explained_variance)) return Event::kNone;
  if (std::abs(explained_variance) <= band_) {
    ++flat_;
    if (flat_ == updates_ && !warned_) {
      warned_ = true;
      return Event::kFlat;
    }
    return Event::kNone;
  }
  ended_ = flat_;
  flat_ = 0;
  if (!warned_) return Event::kNone;
  warned_ = false;
  return Event::kRecovered;
}

}  // namespace trustrl::agents
