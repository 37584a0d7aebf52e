#include "tail/stream_position.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace stockfeed::tail {

PositionTracker::PositionTracker(StreamPosition start, bool consecutive)
    : position_(std::move(start)), consecutive_(consecutive) {}

void PositionTracker::StartStream() {
  stream_start_ = position_;
  stream_started_with_resume_ = !position_.empty();
  first_in_stream_ = true;
}

UpdateVerdict PositionTracker::Accept(const v1::PriceUpdate& update) {
  UpdateVerdict verdict;
  const bool first = std::exchange(first_in_stream_, false);
  if (position_.epoch.empty()) {
    position_.epoch = update.epoch();  // --from_seq without --epoch: the current one
    stream_start_.epoch = update.epoch();
  } else if (!position_.empty() && update.epoch() != position_.epoch) {
    verdict.epoch_changed = true;
    position_ = StreamPosition{update.epoch(), 0};
    stream_start_ = position_;
  }
  const bool snapshot = update.kind() == v1::UPDATE_KIND_SNAPSHOT;
  const uint64_t floor = snapshot ? stream_start_.sequence : position_.sequence;
  if (update.sequence() <= floor) return verdict;  // handled before
  verdict.deliver = true;
  if (!verdict.epoch_changed) {
    if (first && snapshot && stream_started_with_resume_) {
      // The service answers a resume it cannot serve with a snapshot.
      verdict.missed = update.sequence() > stream_start_.sequence + 1
                           ? update.sequence() - stream_start_.sequence - 1
                           : 0;
    } else if (!snapshot && consecutive_ && !position_.empty() &&
               update.sequence() > position_.sequence + 1) {
      verdict.missed = update.sequence() - position_.sequence - 1;
    }
  }
  // A slow subscriber's own drops, counted by the service before filtering.
  if (verdict.missed == 0 && update.dropped_before() > 0) verdict.missed = update.dropped_before();
  position_.epoch = update.epoch();
  position_.sequence = std::max(position_.sequence, update.sequence());
  return verdict;
}

absl::StatusOr<StreamPosition> ParseStateFile(absl::string_view text) {
  StreamPosition position;
  bool have_epoch = false;
  bool have_sequence = false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "epoch" && !have_epoch) {
      position.epoch = std::string(kv.second);
      have_epoch = true;
    } else if (kv.first == "sequence" && !have_sequence &&
               absl::SimpleAtoi(kv.second, &position.sequence)) {
      have_sequence = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unexpected line '", line, "'"));
    }
  }
  if (!have_epoch || !have_sequence) {
    return absl::InvalidArgumentError("needs an 'epoch=' and a 'sequence=' line");
  }
  return position;
}

std::string FormatStateFile(const StreamPosition& position) {
  return absl::StrCat("epoch=", position.epoch, "\nsequence=", position.sequence, "\n");
}

absl::StatusOr<StreamPosition> LoadStateFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return StreamPosition{};
    return absl::FailedPreconditionError(absl::StrCat("cannot read state file ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<StreamPosition> position = ParseStateFile(text.str());
  if (!position.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("state file ", path, " is not a position (",
                                                   position.status().message(),
                                                   "); remove it to start live"));
  }
  return position;
}

absl::Status SaveStateFile(const std::string& path, const StreamPosition& position) {
  const std::string temporary = path + ".tmp";
  const std::string text = FormatStateFile(position);
  std::FILE* file = std::fopen(temporary.c_str(), "w");
  bool ok = file != nullptr && std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (file != nullptr) ok = std::fclose(file) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write state file ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace stockfeed::tail
