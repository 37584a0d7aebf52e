#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::tail {

// Where a consumer stands in the feed: the last sequence it handled, and the
// epoch that sequence belongs to. sequence 0 means "nothing yet".
struct StreamPosition {
  std::string epoch;
  uint64_t sequence = 0;

  bool empty() const { return sequence == 0; }
  friend bool operator==(const StreamPosition&, const StreamPosition&) = default;
};

// What a consumer should know about one received update.
struct UpdateVerdict {
  // False: already handled (same epoch, sequence not newer) — skip it.
  bool deliver = false;
  // The epoch changed: sequences restarted, the old position is void.
  bool epoch_changed = false;
  // Updates known to be missing just before this one (0 if none or unknown).
  uint64_t missed = 0;
};

// Follows one consumer's position across streams and reconnects, so that a
// resumed stream prints nothing twice and a missing range is reported.
class PositionTracker {
 public:
  // `consecutive`: the subscription has no filter, so sequences arrive
  // without holes and a hole is a gap. A filtered stream sees holes normally.
  PositionTracker(StreamPosition start, bool consecutive);

  // Call when a (re)subscription starts, before its first update.
  void StartStream();
  UpdateVerdict Accept(const v1::PriceUpdate& update);

  const StreamPosition& position() const { return position_; }

 private:
  StreamPosition position_;
  bool consecutive_;
  // Position when the current stream began: snapshot entries come ordered by
  // symbol, not sequence, so each is compared with this, not with the last one.
  StreamPosition stream_start_;
  bool stream_started_with_resume_ = false;
  bool first_in_stream_ = true;
};

// The state file: "epoch=<epoch>\nsequence=<n>\n". A missing file is no
// position (first run); a file that does not parse is an error, never a
// silent restart from live.
absl::StatusOr<StreamPosition> ParseStateFile(absl::string_view text);
std::string FormatStateFile(const StreamPosition& position);

absl::StatusOr<StreamPosition> LoadStateFile(const std::string& path);
// Writes `path`.tmp then renames it over `path`: a reader (or a crash) sees
// the old position or the new one, never half of each.
absl::Status SaveStateFile(const std::string& path, const StreamPosition& position);

}  // namespace stockfeed::tail
