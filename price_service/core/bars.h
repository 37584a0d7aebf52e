#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::price_service {

// One OHLC bar: every update whose time falls in [start_us, start_us + interval).
struct Bar {
  int64_t start_us = 0;
  double open = 0;
  double high = 0;
  double low = 0;
  double close = 0;
  uint64_t updates = 0;

  friend bool operator==(const Bar&, const Bar&) = default;
};

// A validated GetBars request with absolute bounds. Updates with time in
// [first_bin_us, end_us) make up the answer; first_bin_us and end_us are
// multiples of interval_us and span at most `limit` intervals.
struct BarQuery {
  std::string symbol;
  std::string source;
  int64_t interval_us = 0;
  int64_t first_bin_us = 0;
  int64_t end_us = 0;
};

inline constexpr uint32_t kDefaultBarLimit = 500;
inline constexpr uint32_t kMaxBarLimit = 5000;

// Checks a request (symbol and source given, a supported interval, from <
// to, limit <= kMaxBarLimit) and turns it into bounds; `now` stands in for
// to_us = 0. InvalidArgument names the offending field.
absl::StatusOr<BarQuery> MakeBarQuery(const v1::GetBarsRequest& request, absl::Time now);

// The start of the interval that contains `time_us` (floor, also before 1970).
int64_t BinStart(int64_t time_us, int64_t interval_us);

// Folds `bars` (ascending, each inside one bin of `interval_us`) into bars of
// `interval_us`, keeping those starting in [first_bin_us, end_us).
std::vector<Bar> Aggregate(const std::deque<Bar>& bars, int64_t interval_us, int64_t first_bin_us,
                           int64_t end_us);

// When the trading day begins, e.g. "09:30 America/New_York": the day change
// is measured against the first price at or after the latest such moment.
struct SessionStart {
  int minute_of_day = 0;  // 0 … 1439, local time
  absl::TimeZone zone;
  std::string zone_name;
};

// Parses "HH:MM ZONE" (ZONE an IANA name such as America/New_York, or UTC).
absl::StatusOr<SessionStart> ParseSessionStart(absl::string_view text);
// The latest session start at or before `now`.
absl::Time CurrentSessionStart(const SessionStart& session, absl::Time now);

// The bars one symbol/source pair held in memory: one bar per second for
// `second_span` and one per minute for `minute_span` behind the newest
// update; 5 min and 1 h bars are derived from the minutes. Intervals without
// an update take no space.
class BarSeries {
 public:
  BarSeries(absl::Duration second_span, absl::Duration minute_span);

  // An update at `time_us`. A late one (behind the newest) still lands in
  // its bar while that bar is held.
  void Add(int64_t time_us, double price);
  std::vector<Bar> Query(const BarQuery& query) const;
  // The first price at or after `time_us`, if a held minute bar has it.
  std::optional<double> FirstPriceSince(int64_t time_us) const;

 private:
  const int64_t second_span_us_;
  const int64_t minute_span_us_;
  std::deque<Bar> seconds_;
  std::deque<Bar> minutes_;
};

// Bars of every symbol/source the simulator publishes, safe to use from the
// publishing thread and any number of readers.
class BarBook {
 public:
  BarBook(absl::Duration second_span = absl::Hours(1), absl::Duration minute_span = absl::Hours(24));

  void Record(const std::vector<v1::PriceUpdate>& updates);
  // Empty when the pair is unknown.
  std::vector<Bar> Query(const BarQuery& query) const;
  std::optional<double> FirstPriceSince(const std::string& symbol, const std::string& source,
                                        absl::Time since) const;

 private:
  using Key = std::pair<std::string, std::string>;  // symbol, source
  const absl::Duration second_span_;
  const absl::Duration minute_span_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, BarSeries> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stockfeed::price_service
