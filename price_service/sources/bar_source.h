#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/bars.h"

namespace stockfeed::price_service {

// Where GetBars gets its answer: the simulator's in-memory BarBook or the
// PostgreSQL table.
class BarSource {
 public:
  struct Answer {
    std::vector<Bar> bars;
    // First price at or after the session start, if known.
    std::optional<double> session_open;
  };
  // Called exactly once, on any thread.
  using Done = std::function<void(absl::StatusOr<Answer>)>;

  virtual ~BarSource() = default;
  virtual void GetBars(const BarQuery& query, absl::Time session_start, Done done) = 0;
  // Fails what is still waiting with UNAVAILABLE, so a shutdown need not wait
  // for it. Idempotent.
  virtual void Stop() {}
};

// Answers from the bars the simulator source records as it publishes.
class MemoryBarSource final : public BarSource {
 public:
  explicit MemoryBarSource(const BarBook& book) : book_(book) {}
  void GetBars(const BarQuery& query, absl::Time session_start, Done done) override {
    done(Answer{.bars = book_.Query(query),
                .session_open = book_.FirstPriceSince(query.symbol, query.source, session_start)});
  }

 private:
  const BarBook& book_;
};

}  // namespace stockfeed::price_service
