#include "sources/postgres_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <utility>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/stored_price.h"
#include "sources/postgres_connection.h"
#include "sources/postgres_migrations.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::price_service {
namespace {

constexpr char kChannel[] = "stock_prices";
constexpr char kApplicationName[] = "stockfeed price_service";

// Advisory lock serialising sequencer transactions across replicas ("sfseq").
constexpr int64_t kSequencerLockKey = 0x73'6673'6571;

// The sequencer step. Must run right after taking kSequencerLockKey in the
// same transaction. Numbers up to $1 committed, unnumbered rows (in id order,
// as a tie-break) with the next dense values of feed_state.last_seq. It never
// consumes numbers it does not commit: if the transaction rolls back, so does
// the counter.
constexpr char kAssignSeq[] = R"sql(
WITH pending AS MATERIALIZED (
  SELECT id FROM stock_prices WHERE seq IS NULL ORDER BY id LIMIT $1 FOR UPDATE
), counter AS (
  UPDATE feed_state SET last_seq = last_seq + (SELECT count(*) FROM pending)
   WHERE (SELECT count(*) FROM pending) > 0
  RETURNING last_seq - (SELECT count(*) FROM pending) AS base
)
UPDATE stock_prices p SET seq = counter.base + n.rn
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM pending) n, counter
 WHERE p.id = n.id)sql";

// coalesce: legacy workshop rows may hold NULLs (new rows cannot).
constexpr char kRowColumns[] =
    "seq, coalesce(symbol, ''), coalesce(price, 0), coalesce(source, ''), "
    "(extract(epoch FROM inserted_at) * 1000000)::bigint";

const std::string kReadNew = absl::StrCat("SELECT ", kRowColumns,
                                          " FROM stock_prices WHERE seq > $1 ORDER BY seq LIMIT $2");
const std::string kReadWindow = absl::StrCat(
    "SELECT * FROM (SELECT ", kRowColumns,
    " FROM stock_prices WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT $1) w ORDER BY 1");
// Latest row of every symbol/source pair whose latest row is older than the
// replay window, so `snapshot` knows every pair after a restart.
const std::string kReadOlderLatest = absl::StrCat(
    "SELECT * FROM (SELECT DISTINCT ON (symbol, source) ", kRowColumns,
    " FROM stock_prices WHERE seq < $1 ORDER BY symbol, source, seq DESC) l ORDER BY 1");

constexpr char kReadState[] = "SELECT epoch, last_seq FROM feed_state";
constexpr char kNewEpoch[] =
    "UPDATE feed_state SET epoch = 'pg-' || gen_random_uuid() WHERE epoch = $1";

// Throws (the session reconnects) only if seq itself is unreadable, which
// the query rules out; a bad row is decoded with the reason it is skipped.
StoredPrice Decode(const pqxx::row& row) {
  const auto text = [&row](int column) -> std::optional<absl::string_view> {
    if (row[column].is_null()) return std::nullopt;
    return absl::string_view(row[column].c_str(), row[column].size());
  };
  absl::StatusOr<StoredPrice> decoded = DecodeStoredPrice({text(0), text(1), text(2), text(3), text(4)});
  if (!decoded.ok()) throw std::runtime_error(std::string(decoded.status().message()));
  return *std::move(decoded);
}

double Uniform01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// LISTEN for as long as it lives. The payload is ignored: any notification
// only means "look at the table".
class WakeUp final : public pqxx::notification_receiver {
 public:
  explicit WakeUp(pqxx::connection_base& conn) : pqxx::notification_receiver(conn, kChannel) {}
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override {}
};

}  // namespace

PostgresSource::PostgresSource(PriceHub& hub, PostgresSourceOptions options,
                               std::function<void(bool)> on_health, metrics::Registry& registry)
    : hub_(hub),
      options_(std::move(options)),
      on_health_(std::move(on_health)),
      target_(DescribeDatabase(options_.database_url)),
      connected_(registry.AddGauge("price_service_postgres_connected",
                                   "1 while connected to PostgreSQL and streaming, else 0.")),
      notifications_(registry.AddCounter("price_service_postgres_notifications_total",
                                         "LISTEN/NOTIFY wake-ups received.")),
      safety_polls_(registry.AddCounter("price_service_postgres_safety_polls_total",
                                        "Reads started by the --poll_interval timer, not by a notification.")),
      rows_read_(registry.AddCounter("price_service_postgres_rows_read_total", "New stock_prices rows read.")),
      rows_rejected_(registry.AddCounter("price_service_postgres_rows_rejected_total",
                                         "stock_prices rows skipped: invalid symbol, source or price.")),
      reconnects_(registry.AddCounter("price_service_postgres_reconnects_total",
                                      "Connection attempts that failed or sessions that broke, each followed by a retry.")),
      lag_(registry.AddHistogram("price_service_postgres_lag_seconds",
                                 "now - inserted_at of the newest row, at each read that found rows.",
                                 {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
                                  300})),
      stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

PostgresSource::~PostgresSource() {
  Stop();
  if (stop_fd_ >= 0) close(stop_fd_);
}

void PostgresSource::Start() {
  thread_ = std::thread([this] { Run(); });
}

void PostgresSource::Stop() {
  stopping_ = true;
  const uint64_t one = 1;
  if (stop_fd_ >= 0) (void)!write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void PostgresSource::SetHealth(bool serving) {
  connected_.Set(serving ? 1 : 0);
  if (health_reported_ && serving == serving_) return;
  serving_ = serving;
  health_reported_ = true;
  if (on_health_) on_health_(serving);
}

void PostgresSource::Run() {
  Backoff backoff(options_.reconnect, Uniform01);
  SetHealth(false);
  while (!stopping_) {
    std::string error;
    try {
      std::unique_ptr<pqxx::connection> conn = Connect(options_.database_url, kApplicationName);
      RunSession(*conn);
    } catch (const pqxx::broken_connection& e) {
      error = e.what();
    } catch (const pqxx::in_doubt_error& e) {
      error = absl::StrCat("connection lost while committing: ", e.what());
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (stopping_) break;
    while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
    const bool was_serving = serving_;
    // A session that got going starts the backoff afresh; one that fails
    // before serving (say a permission error) keeps backing off.
    if (was_serving) backoff.Reset();
    SetHealth(false);
    reconnects_.Add();
    const absl::Duration delay = backoff.NextDelay();
    spdlog::error("PostgreSQL {} {}: {} | health NOT_SERVING; retrying in {} (attempt {})", target_,
                  was_serving ? "connection lost" : "unavailable", error,
                  absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(1))), backoff.attempt());
    Wait(nullptr, delay);
  }
  SetHealth(false);
}

void PostgresSource::RunSession(pqxx::connection_base& conn) {
  if (options_.apply_migrations) {
    absl::StatusOr<int> applied = ApplyMigrations(conn);
    if (!applied.ok()) throw std::runtime_error(std::string(applied.status().message()));
  }
  // LISTEN before the first read: a row committed in between still wakes us.
  WakeUp wake_up(conn);
  Resume(conn);
  spdlog::info("PostgreSQL {} connected: epoch={} streaming after seq {}", target_, epoch_, cursor_);
  SetHealth(true);

  while (!stopping_) {
    const size_t sequenced = Sequence(conn);
    const size_t read = ReadNew(conn);
    // A full batch means there is probably more: go again without waiting.
    if (sequenced < options_.batch && read < options_.batch) Wait(&conn, options_.poll_interval);
  }
}

void PostgresSource::Resume(pqxx::connection_base& conn) {
  pqxx::nontransaction tx(conn, "resume");
  const pqxx::row state = tx.exec1(kReadState);
  const std::string epoch = state[0].as<std::string>();
  const uint64_t last_seq = state[1].as<uint64_t>();
  tx.commit();
  if (epoch == epoch_ && last_seq < cursor_) {
    // Same database identity but fewer rows than we already streamed: it was
    // restored from a backup or failed over to a standby that lacked our last
    // commits. Those seq values will be reused by other rows, so the old
    // numbering is void: start a new epoch (first replica to notice wins).
    spdlog::warn("PostgreSQL {}: last seq {} is behind our cursor {} (restored or failed over "
                 "with lost commits); starting a new epoch", target_, last_seq, cursor_);
    pqxx::work rotate(conn, "new_epoch");
    rotate.exec_params(kNewEpoch, epoch);
    rotate.commit();
    epoch_.clear();
    Resume(conn);
    return;
  }
  if (epoch != epoch_) LoadHistory(conn, epoch);
}

void PostgresSource::LoadHistory(pqxx::connection_base& conn, const std::string& epoch) {
  // One snapshot, so the window and the older rows agree.
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn, "load_history");
  std::vector<StoredPrice> decoded;
  const pqxx::result window = tx.exec_params(kReadWindow, static_cast<int64_t>(options_.replay_capacity));
  if (!window.empty()) {
    // Published first and then pushed out of the replay buffer by the window,
    // these still leave their pair's latest price for snapshots.
    for (const pqxx::row& row : tx.exec_params(kReadOlderLatest, window[0][0].as<int64_t>())) {
      decoded.push_back(Decode(row));
    }
  }
  for (const pqxx::row& row : window) decoded.push_back(Decode(row));
  tx.commit();
  const uint64_t last_seq = decoded.empty() ? 0 : decoded.back().sequence;
  std::vector<v1::PriceUpdate> updates = KeepValid(std::move(decoded));

  if (!epoch_.empty()) spdlog::warn("PostgreSQL {}: epoch changed from {} to {}", target_, epoch_, epoch);
  hub_.StartEpoch(epoch);
  epoch_ = epoch;
  cursor_ = last_seq;
  spdlog::info("loaded {} rows of history (replay window {}) up to seq {}", updates.size(),
               window.size(), cursor_);
  hub_.PublishHistory(std::move(updates));
}

size_t PostgresSource::Sequence(pqxx::connection_base& conn) {
  pqxx::work tx(conn, "sequencer");
  // Not waiting for the lock: when another replica holds it, that replica's
  // commit notifies us, and the safety poll covers a replica dying mid-way.
  // No bitmap scans in this transaction: with stale statistics (a backlog
  // grows faster than autovacuum analyzes) the planner fetched *every*
  // unsequenced row through a bitmap scan and sorted them all to take the
  // first batch, so each batch got slower as the backlog grew and the source
  // fell further behind (EXPLAIN ANALYZE, 282k rows behind: 300 ms for the
  // pending rows of one 5,000-row batch, 10 ms by the partial index in id
  // order). docs/benchmarks.md, scenario 7.
  if (!tx.exec1(absl::StrCat("SELECT pg_try_advisory_xact_lock(", kSequencerLockKey,
                             "), set_config('enable_bitmapscan', 'off', true)"))[0]
           .as<bool>()) {
    return 0;
  }
  const size_t assigned =
      tx.exec_params(kAssignSeq, static_cast<int64_t>(options_.batch)).affected_rows();
  if (assigned > 0) tx.exec(absl::StrCat("SELECT pg_notify('", kChannel, "', '')"));
  tx.commit();
  return assigned;
}

size_t PostgresSource::ReadNew(pqxx::connection_base& conn) {
  pqxx::nontransaction tx(conn, "read_new");
  const pqxx::result rows =
      tx.exec_params(kReadNew, static_cast<int64_t>(cursor_), static_cast<int64_t>(options_.batch));
  tx.commit();
  if (rows.empty()) return 0;
  std::vector<StoredPrice> decoded;
  decoded.reserve(rows.size());
  for (const pqxx::row& row : rows) decoded.push_back(Decode(row));
  if (decoded.front().sequence != cursor_ + 1) {
    // Only possible when rows were deleted; subscribers will see the gap.
    spdlog::warn("stock_prices: seq {}..{} missing (rows deleted?)", cursor_ + 1, decoded.front().sequence - 1);
  }
  cursor_ = decoded.back().sequence;
  rows_read_.Add(rows.size());
  std::vector<v1::PriceUpdate> updates = KeepValid(std::move(decoded));
  if (updates.empty()) return rows.size();
  lag_.Observe(static_cast<double>(absl::ToUnixMicros(absl::Now()) - updates.back().event_time_us()) / 1e6);
  hub_.Publish(std::move(updates));
  return rows.size();
}

std::vector<v1::PriceUpdate> PostgresSource::KeepValid(std::vector<StoredPrice> rows) {
  std::vector<v1::PriceUpdate> updates;
  updates.reserve(rows.size());
  for (StoredPrice& row : rows) {
    if (row.status.ok()) {
      updates.push_back(std::move(row.update));
      continue;
    }
    rows_rejected_.Add(1);
    // Once: a bad writer would otherwise fill the log with one line per row.
    if (!logged_rejection_) {
      logged_rejection_ = true;
      spdlog::warn("stock_prices: skipping seq {}: {}; further invalid rows are skipped silently and counted in "
                   "price_service_postgres_rows_rejected_total",
                   row.sequence, row.status.message());
    }
  }
  return updates;
}

void PostgresSource::Wait(pqxx::connection_base* conn, absl::Duration timeout) {
  // A notification that arrived during our last query is already buffered by
  // libpq, so the socket would not wake us for it.
  if (conn != nullptr) {
    if (const int buffered = conn->get_notifs(); buffered > 0) {
      notifications_.Add(static_cast<uint64_t>(buffered));
      return;
    }
  }
  pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {conn != nullptr ? conn->sock() : -1, POLLIN, 0}};
  const int timeout_ms = static_cast<int>(std::max<int64_t>(absl::ToInt64Milliseconds(timeout), 1));
  const int ready = poll(fds, conn != nullptr ? 2 : 1, timeout_ms);
  if (conn == nullptr) return;
  if (ready == 0) {
    safety_polls_.Add();
  } else if (ready > 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
    // Reads the socket; throws broken_connection if it closed.
    notifications_.Add(static_cast<uint64_t>(conn->get_notifs()));
  }
}

}  // namespace stockfeed::price_service
