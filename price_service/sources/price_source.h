#pragma once

namespace stockfeed::price_service {

// Something that produces sequenced prices into a PriceHub on its own thread:
// the simulator or the PostgreSQL reader.
class PriceSource {
 public:
  virtual ~PriceSource() = default;
  // Starts producing. Returns at once.
  virtual void Start() = 0;
  // Stops producing and joins its threads. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace stockfeed::price_service
