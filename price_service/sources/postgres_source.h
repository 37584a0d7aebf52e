#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "core/price_hub.h"
#include "core/stored_price.h"
#include "price_source.h"
#include "stockfeed/common/backoff.h"
#include "stockfeed/common/metrics.h"

namespace pqxx {
class connection_base;
}

namespace stockfeed::price_service {

struct PostgresSourceOptions {
  std::string database_url;
  // Safety poll: read even without a notification this often.
  absl::Duration poll_interval = absl::Seconds(1);
  // Rows loaded into the hub on start (resumes across a service restart).
  size_t replay_capacity = 65536;
  // Rows sequenced and read per statement.
  size_t batch = 1000;
  bool apply_migrations = true;
  Backoff::Options reconnect{absl::Milliseconds(100), absl::Seconds(5)};
};

// Streams new rows of stock_prices into the hub, in `seq` order, exactly once.
//
// Ordering (see docs/postgres.md): `id` is assigned at INSERT, but rows commit
// in any order, so an id cursor can skip a row that commits late. Instead
// every committed row gets a dense `seq` from the sequencer step
// (stock_prices_sequence(), migration 003), run by whichever replica holds its
// advisory lock: it numbers the committed ids queued by the INSERT trigger and
// writes them as one row of stock_prices_batches per batch. Sequencer
// transactions are serialised by that lock and only ever see committed rows,
// so seq values become visible in increasing order with no holes, and the
// reader's cursor (the batches' rows after $last) never misses a row. Every
// replica reads the same seq for the same row: PriceUpdate.sequence = seq, and
// the epoch is feed_state.epoch, created once per database by the migration.
//
// One thread owns the connection: LISTEN stock_prices, then sequence + read
// whenever a notification (only a wake-up), the safety poll or a full batch
// says there may be more. A lost connection or an unreachable database is
// logged, reported through `on_health(false)` and retried with capped
// exponential backoff; the cursor then catches up with everything inserted
// meanwhile, and the hub ignores anything read twice.
class PostgresSource final : public PriceSource {
 public:
  // `on_health(serving)` is called from the source's thread on every change
  // (true once connected and loaded, false while the database is away).
  // Its metrics (connection state, notifications, polls, rows, reconnects,
  // lag) are registered in `registry`.
  PostgresSource(PriceHub& hub, PostgresSourceOptions options, std::function<void(bool)> on_health,
                 metrics::Registry& registry);
  ~PostgresSource() override;

  void Start() override;
  void Stop() override;

 private:
  void Run();
  // Connects, migrates, LISTENs, loads and streams until Stop or an error.
  void RunSession(pqxx::connection_base& conn);
  void Resume(pqxx::connection_base& conn);
  void LoadHistory(pqxx::connection_base& conn, const std::string& epoch);
  // The rows that may be published; counts, and logs the first of, the rest.
  std::vector<v1::PriceUpdate> KeepValid(std::vector<StoredPrice> rows);
  size_t Sequence(pqxx::connection_base& conn);
  size_t ReadNew(pqxx::connection_base& conn);
  // Waits for another session's notification, the poll interval or Stop.
  void Wait(pqxx::connection_base* conn, absl::Duration timeout);
  // Dispatches the notifications libpq holds; whether another session's came.
  bool TakeWakeUps(pqxx::connection_base& conn);
  void SetHealth(bool serving);

  PriceHub& hub_;
  const PostgresSourceOptions options_;
  const std::function<void(bool)> on_health_;
  const std::string target_;  // for log lines, without password

  metrics::Gauge& connected_;
  metrics::Counter& notifications_;
  metrics::Counter& safety_polls_;
  metrics::Counter& rows_read_;
  metrics::Counter& rows_rejected_;
  bool logged_rejection_ = false;  // source thread only
  metrics::Counter& reconnects_;
  // now − inserted_at of the newest row of each read.
  metrics::Histogram& lag_;

  std::atomic<bool> stopping_{false};
  int stop_fd_ = -1;  // eventfd: wakes Wait on Stop
  std::thread thread_;

  // Owned by the thread.
  std::string epoch_;
  uint64_t cursor_ = 0;  // last seq published
  uint64_t wake_ups_ = 0;  // other sessions' notifications, counted by the LISTEN receiver
  bool serving_ = false;
  bool health_reported_ = false;
};

}  // namespace stockfeed::price_service
