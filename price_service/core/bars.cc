#include "bars.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"

namespace stockfeed::price_service {
namespace {

constexpr int64_t kSecondUs = 1'000'000;
constexpr int64_t kMinuteUs = 60 * kSecondUs;
constexpr uint32_t kIntervalsSeconds[] = {1, 60, 300, 3600};

// Puts one update into `bars` (ascending bins of one size), in place when
// its bin is held; a bin older than all held ones is inserted at the front
// and trimmed away by the caller if it is out of span.
void AddToBins(std::deque<Bar>& bars, int64_t bin, double price) {
  if (bars.empty() || bin > bars.back().start_us) {
    bars.push_back(Bar{bin, price, price, price, price, 1});
    return;
  }
  auto it = std::lower_bound(bars.begin(), bars.end(), bin,
                             [](const Bar& bar, int64_t start) { return bar.start_us < start; });
  if (it == bars.end() || it->start_us != bin) {
    bars.insert(it, Bar{bin, price, price, price, price, 1});
    return;
  }
  it->high = std::max(it->high, price);
  it->low = std::min(it->low, price);
  it->close = price;
  ++it->updates;
}

void TrimBefore(std::deque<Bar>& bars, int64_t oldest_kept_us) {
  while (!bars.empty() && bars.front().start_us < oldest_kept_us) bars.pop_front();
}

std::deque<Bar>::const_iterator FirstAtOrAfter(const std::deque<Bar>& bars, int64_t time_us) {
  return std::lower_bound(bars.begin(), bars.end(), time_us,
                          [](const Bar& bar, int64_t start) { return bar.start_us < start; });
}

}  // namespace

int64_t BinStart(int64_t time_us, int64_t interval_us) {
  int64_t bin = time_us / interval_us * interval_us;
  if (bin > time_us) bin -= interval_us;  // division truncates toward zero
  return bin;
}

absl::StatusOr<BarQuery> MakeBarQuery(const v1::GetBarsRequest& request, absl::Time now) {
  if (request.symbol().empty()) return absl::InvalidArgumentError("symbol is required");
  if (request.source().empty()) return absl::InvalidArgumentError("source is required");
  if (std::find(std::begin(kIntervalsSeconds), std::end(kIntervalsSeconds), request.interval_seconds()) ==
      std::end(kIntervalsSeconds)) {
    return absl::InvalidArgumentError(absl::StrCat("interval_seconds=", request.interval_seconds(),
                                                   " is not supported (1, 60, 300 or 3600)"));
  }
  if (request.limit() > kMaxBarLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit=", request.limit(), " is more than ", kMaxBarLimit));
  }
  if (request.from_us() < 0 || request.to_us() < 0) {
    return absl::InvalidArgumentError("from_us and to_us must not be negative");
  }
  const int64_t to_us = request.to_us() != 0 ? request.to_us() : absl::ToUnixMicros(now);
  if (request.from_us() >= to_us) {
    return absl::InvalidArgumentError("from_us must be before to_us");
  }
  const int64_t interval_us = int64_t{request.interval_seconds()} * kSecondUs;
  const int64_t limit = request.limit() != 0 ? request.limit() : kDefaultBarLimit;
  BarQuery query{.symbol = request.symbol(), .source = request.source(), .interval_us = interval_us};
  query.end_us = BinStart(to_us - 1, interval_us) + interval_us;
  query.first_bin_us = std::max(BinStart(request.from_us(), interval_us), query.end_us - limit * interval_us);
  return query;
}

std::vector<Bar> Aggregate(const std::deque<Bar>& bars, int64_t interval_us, int64_t first_bin_us,
                           int64_t end_us) {
  std::vector<Bar> out;
  for (auto it = FirstAtOrAfter(bars, first_bin_us); it != bars.end() && it->start_us < end_us; ++it) {
    const int64_t bin = BinStart(it->start_us, interval_us);
    if (out.empty() || out.back().start_us != bin) {
      out.push_back(*it);
      out.back().start_us = bin;
      continue;
    }
    Bar& bar = out.back();
    bar.high = std::max(bar.high, it->high);
    bar.low = std::min(bar.low, it->low);
    bar.close = it->close;
    bar.updates += it->updates;
  }
  return out;
}

absl::StatusOr<SessionStart> ParseSessionStart(absl::string_view text) {
  const auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--session_start='", text, "': ", why, " (expected e.g. '09:30 America/New_York')"));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(text, ' ', absl::SkipWhitespace());
  if (parts.size() != 2) return invalid("want a time and a time zone");
  std::vector<absl::string_view> clock = absl::StrSplit(parts[0], ':');
  int hour = -1;
  int minute = -1;
  if (clock.size() != 2 || clock[1].size() != 2 || !absl::SimpleAtoi(clock[0], &hour) ||
      !absl::SimpleAtoi(clock[1], &minute) || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return invalid("the time is not HH:MM");
  }
  SessionStart session{.minute_of_day = hour * 60 + minute, .zone_name = std::string(parts[1])};
  if (!absl::LoadTimeZone(session.zone_name, &session.zone)) {
    return invalid("unknown time zone (is tzdata installed?)");
  }
  return session;
}

absl::Time CurrentSessionStart(const SessionStart& session, absl::Time now) {
  const absl::CivilDay today = absl::ToCivilDay(now, session.zone);
  const absl::Time start = absl::FromCivil(absl::CivilMinute(today) + session.minute_of_day, session.zone);
  if (start <= now) return start;
  return absl::FromCivil(absl::CivilMinute(today - 1) + session.minute_of_day, session.zone);
}

BarSeries::BarSeries(absl::Duration second_span, absl::Duration minute_span)
    : second_span_us_(absl::ToInt64Microseconds(second_span)),
      minute_span_us_(absl::ToInt64Microseconds(minute_span)) {}

void BarSeries::Add(int64_t time_us, double price) {
  AddToBins(seconds_, BinStart(time_us, kSecondUs), price);
  AddToBins(minutes_, BinStart(time_us, kMinuteUs), price);
  TrimBefore(seconds_, seconds_.back().start_us - second_span_us_ + kSecondUs);
  TrimBefore(minutes_, minutes_.back().start_us - minute_span_us_ + kMinuteUs);
}

std::vector<Bar> BarSeries::Query(const BarQuery& query) const {
  const std::deque<Bar>& source = query.interval_us < kMinuteUs ? seconds_ : minutes_;
  return Aggregate(source, query.interval_us, query.first_bin_us, query.end_us);
}

std::optional<double> BarSeries::FirstPriceSince(int64_t time_us) const {
  auto it = FirstAtOrAfter(minutes_, time_us);
  if (it == minutes_.end()) return std::nullopt;
  return it->open;
}

BarBook::BarBook(absl::Duration second_span, absl::Duration minute_span)
    : second_span_(second_span), minute_span_(minute_span) {}

void BarBook::Record(const std::vector<v1::PriceUpdate>& updates) {
  absl::MutexLock lock(&mu_);
  for (const v1::PriceUpdate& update : updates) {
    auto it = series_.find(Key(update.symbol(), update.source()));
    if (it == series_.end()) {
      it = series_.try_emplace(Key(update.symbol(), update.source()), second_span_, minute_span_).first;
    }
    it->second.Add(update.event_time_us(), update.price());
  }
}

std::vector<Bar> BarBook::Query(const BarQuery& query) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = series_.find(Key(query.symbol, query.source));
  if (it == series_.end()) return {};
  return it->second.Query(query);
}

std::optional<double> BarBook::FirstPriceSince(const std::string& symbol, const std::string& source,
                                               absl::Time since) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = series_.find(Key(symbol, source));
  if (it == series_.end()) return std::nullopt;
  return it->second.FirstPriceSince(absl::ToUnixMicros(since));
}

}  // namespace stockfeed::price_service
