#pragma once
// Notices a critic that explains none of the returns' variance for many updates in a row: one that
// predicts about the same value for every state. A tanh critic regressing large unnormalized
// returns does this after saturating in its first updates, and stays so until Adam pulls its units
// back (docs/TRUST_REGIONS.md, "The critic"); the trainer tells the user in train.log.

#include <cstdint>

namespace trustrl::agents {

class FlatCriticWatch {
 public:
  /// What one update's explained variance means for the warning.
  enum class Event { kNone, kFlat, kRecovered };

  /// Flat: |explained variance| <= band for `updates` updates in a row.
  explicit FlatCriticWatch(std::int64_t updates = 10, double band = 1e-3);

  /// kFlat at the update that completes a flat stretch (once per stretch), kRecovered at the first
  /// update after such a stretch whose explained variance leaves the band. An undefined value (NaN:
  /// returns without variance) neither extends nor ends a stretch.
  Event observe(double explained_variance);

  /// Updates in the current flat stretch (0 when the last defined value left the band).
  std::int64_t flat_updates() const { return flat_; }
  /// The length of the flat stretch the last kRecovered ended.
  std::int64_t ended_stretch() const { return ended_; }
  std::int64_t threshold() const { return updates_; }
  double band() const { return band_; }

 private:
  std::int64_t updates_;
  double band_;
  std::int64_t flat_ = 0;
  std::int64_t ended_ = 0;
  bool warned_ = false;
};

}  // namespace trustrl::agents
