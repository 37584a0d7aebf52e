#include "sources/postgres_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
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

// The statements every read round runs are prepared once per session
// (PrepareRoundStatements): parsing and planning them each time was a tenth of
// the backend's CPU at 100,000 rows/s (docs/benchmarks.md, "Issue #16").
struct Statement {
  const char* name;
  const char* sql;
};

// The sequencer step (migration 003): numbers committed rows in batches of at
// most $1, returns how many; 0 when another replica holds its lock. One
// statement is its own transaction, so it needs no BEGIN and COMMIT.
constexpr Statement kSequence{"sequence", "SELECT stock_prices_sequence($1)"};

// The ids of rows [$1 + 1, $1 + $2] of the feed, in seq order. The rows
// themselves come from a second query: joining here made PostgreSQL descend
// the primary key once per row, twice the CPU of one range scan for a batch
// (docs/benchmarks.md, "Issue #16").
constexpr Statement kReadRangeIds{"read_range_ids", R"sql(
SELECT b.first_seq + u.ord - 1 AS seq, u.id
  FROM stock_prices_batches b
 CROSS JOIN LATERAL unnest(b.ids) WITH ORDINALITY AS u(id, ord)
 WHERE b.last_seq > $1 AND b.first_seq <= $1 + $2
   AND b.first_seq + u.ord - 1 BETWEEN $1 + 1 AND $1 + $2
 ORDER BY 1)sql"};

// Those rows, with the columns Decode reads after seq: by one range of ids
// when the batch's ids are dense (rows of one sequencer step are numbered in
// id order), else by the list (a late commit's old id among new ones).
constexpr Statement kRowsInIdRange{
    "rows_in_id_range",
    "SELECT id, symbol, price, source, (extract(epoch FROM inserted_at) * 1000000)::bigint "
    "FROM stock_prices WHERE id BETWEEN $1 AND $2"};
constexpr Statement kRowsWithIds{
    "rows_with_ids",
    "SELECT id, symbol, price, source, (extract(epoch FROM inserted_at) * 1000000)::bigint "
    "FROM stock_prices WHERE id = ANY($1::bigint[])"};
// The range is read when it holds at most this many ids per wanted row.
constexpr int64_t kMaxIdSpanPerRow = 4;

// Latest row of every symbol/source pair in seq ($1, $2]: LoadHistory walks
// back from the replay window with it until it has seen every pair.
constexpr char kReadLatestInRange[] = R"sql(
SELECT * FROM (
  SELECT DISTINCT ON (p.symbol, p.source)
         b.first_seq + u.ord - 1 AS seq, p.symbol, p.price, p.source,
         (extract(epoch FROM p.inserted_at) * 1000000)::bigint
    FROM stock_prices_batches b
   CROSS JOIN LATERAL unnest(b.ids) WITH ORDINALITY AS u(id, ord)
    JOIN stock_prices p ON p.id = u.id
   WHERE b.last_seq > $1 AND b.first_seq <= $2
     AND b.first_seq + u.ord - 1 BETWEEN $1 + 1 AND $2
     AND p.symbol IS NOT NULL AND p.source IS NOT NULL AND p.price IS NOT NULL
   ORDER BY p.symbol, p.source, seq DESC) latest
 ORDER BY 1)sql";

// How many symbol/source pairs stock_prices holds: one probe of
// stock_prices_bars_idx per pair, not a scan of the table.
constexpr char kCountPairs[] = R"sql(
WITH RECURSIVE pairs(symbol, source) AS (
  (SELECT symbol, source FROM stock_prices
    WHERE symbol IS NOT NULL AND source IS NOT NULL ORDER BY symbol, source LIMIT 1)
  UNION ALL
  SELECT next.symbol, next.source
    FROM pairs, LATERAL (SELECT s.symbol, s.source FROM stock_prices s
                          WHERE (s.symbol, s.source) > (pairs.symbol, pairs.source) AND s.source IS NOT NULL
                          ORDER BY s.symbol, s.source LIMIT 1) next)
SELECT count(*) FROM pairs)sql";

// Rows the backward walk reads first; each further step reads twice as many.
constexpr uint64_t kFirstLatestStep = 65536;

constexpr char kReadState[] = "SELECT epoch, last_seq FROM feed_state";
constexpr char kNewEpoch[] =
    "UPDATE feed_state SET epoch = 'pg-' || gen_random_uuid() WHERE epoch = $1";

// Throws (the session reconnects) only if seq itself is unreadable, which
// the queries rule out; a bad row is decoded with the reason it is skipped.
// `seq` is the row's seq; columns 1-4 of `row` are symbol, price, source and
// inserted_at in microseconds.
StoredPrice Decode(const pqxx::field& seq, const pqxx::row& row) {
  const auto text = [](const pqxx::field& field) -> std::optional<absl::string_view> {
    if (field.is_null()) return std::nullopt;
    return absl::string_view(field.c_str(), field.size());
  };
  absl::StatusOr<StoredPrice> decoded =
      DecodeStoredPrice({text(seq), text(row[1]), text(row[2]), text(row[3]), text(row[4])});
  if (!decoded.ok()) throw std::runtime_error(std::string(decoded.status().message()));
  return *std::move(decoded);
}

void PrepareRoundStatements(pqxx::connection_base& conn) {
  for (const Statement& statement : {kSequence, kReadRangeIds, kRowsInIdRange, kRowsWithIds}) {
    conn.prepare(statement.name, statement.sql);
  }
}

// The rows of `ids` (kReadRangeIds) that still exist, by id.
pqxx::result ReadRows(pqxx::transaction_base& tx, const pqxx::result& ids) {
  int64_t lowest = std::numeric_limits<int64_t>::max();
  int64_t highest = std::numeric_limits<int64_t>::min();
  for (const pqxx::row& row : ids) {
    const auto id = row[1].as<int64_t>();
    lowest = std::min(lowest, id);
    highest = std::max(highest, id);
  }
  if (highest - lowest < kMaxIdSpanPerRow * static_cast<int64_t>(ids.size())) {
    return tx.exec_prepared(kRowsInIdRange.name, lowest, highest);
  }
  std::string list = "{";
  for (const pqxx::row& row : ids) absl::StrAppend(&list, list.size() > 1 ? "," : "", row[1].c_str());
  list += "}";
  return tx.exec_prepared(kRowsWithIds.name, list);
}

// Rows [after + 1, after + count] of the feed that still exist, decoded;
// `last` is the highest seq it covered, deleted rows included, so the cursor
// moves past them.
struct FeedRange {
  std::vector<StoredPrice> rows;
  uint64_t last = 0;
};

FeedRange ReadRange(pqxx::transaction_base& tx, uint64_t after, uint64_t count) {
  FeedRange range{.rows = {}, .last = after};
  if (count == 0) return range;
  const pqxx::result ids = tx.exec_prepared(kReadRangeIds.name, static_cast<int64_t>(after), static_cast<int64_t>(count));
  if (ids.empty()) return range;
  range.last = ids.back()[0].as<uint64_t>();
  const pqxx::result rows = ReadRows(tx, ids);
  absl::flat_hash_map<int64_t, pqxx::result::size_type> row_of_id;
  row_of_id.reserve(rows.size());
  for (pqxx::result::size_type i = 0; i < rows.size(); ++i) row_of_id.emplace(rows[i][0].as<int64_t>(), i);
  range.rows.reserve(ids.size());
  for (const pqxx::row& id : ids) {
    // Missing: deleted after it got its seq; skipped, the cursor moves on.
    if (const auto found = row_of_id.find(id[1].as<int64_t>()); found != row_of_id.end()) {
      range.rows.push_back(Decode(id[0], rows[found->second]));
    }
  }
  return range;
}

// The latest row, by seq, of every pair whose rows all precede seq `before`
// (pairs in `window` are left out), oldest first. Walks back in growing steps
// and stops once every pair of the table was seen, so a start reads the
// recent history, not all of it (unless some pair went quiet long ago).
std::vector<StoredPrice> ReadLatestBefore(pqxx::transaction_base& tx, uint64_t before,
                                          const std::vector<StoredPrice>& window) {
  if (before == 0) return {};
  absl::flat_hash_set<std::pair<std::string, std::string>> seen;
  for (const StoredPrice& row : window) {
    if (row.status.ok()) seen.emplace(row.update.symbol(), row.update.source());
  }
  const size_t pairs = tx.exec1(kCountPairs)[0].as<size_t>();
  std::vector<StoredPrice> latest;
  uint64_t step = kFirstLatestStep;
  for (uint64_t end = before; end > 0 && seen.size() < pairs; step *= 2) {
    const uint64_t start = end - std::min(end, step);
    for (const pqxx::row& row : tx.exec_params(kReadLatestInRange, static_cast<int64_t>(start),
                                               static_cast<int64_t>(end))) {
      if (seen.emplace(row[1].c_str(), row[3].c_str()).second) latest.push_back(Decode(row[0], row));
    }
    end = start;
  }
  std::sort(latest.begin(), latest.end(),
            [](const StoredPrice& a, const StoredPrice& b) { return a.sequence < b.sequence; });
  return latest;
}

double Uniform01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// LISTEN for as long as it lives; counts the notifications of other sessions
// (writers' triggers, other replicas' sequencers) in `wake_ups`. Our own
// sequencer's notification is for the other replicas: we already read what
// it numbered. The payload is ignored: any notification only means "look at
// the table".
class WakeUp final : public pqxx::notification_receiver {
 public:
  WakeUp(pqxx::connection_base& conn, uint64_t& wake_ups)
      : pqxx::notification_receiver(conn, kChannel), own_pid_(conn.backendpid()), wake_ups_(wake_ups) {}
  void operator()(const std::string& /*payload*/, int backend_pid) override {
    if (backend_pid != own_pid_) ++wake_ups_;
  }

 private:
  const int own_pid_;
  uint64_t& wake_ups_;
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
                                         "LISTEN/NOTIFY wake-ups received from other sessions.")),
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
  PrepareRoundStatements(conn);
  // LISTEN before the first read: a row committed in between still wakes us.
  WakeUp wake_up(conn, wake_ups_);
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
  const uint64_t last_seq = tx.exec1(kReadState)[1].as<uint64_t>();
  const uint64_t window_start = last_seq - std::min<uint64_t>(last_seq, options_.replay_capacity);
  FeedRange window = ReadRange(tx, window_start, last_seq - window_start);
  // Published first and then pushed out of the replay buffer by the window,
  // these leave the latest price of pairs missing from the window for snapshots.
  std::vector<StoredPrice> decoded = ReadLatestBefore(tx, window_start, window.rows);
  tx.commit();
  const size_t window_rows = window.rows.size();
  std::move(window.rows.begin(), window.rows.end(), std::back_inserter(decoded));
  std::vector<v1::PriceUpdate> updates = KeepValid(std::move(decoded));

  if (!epoch_.empty()) spdlog::warn("PostgreSQL {}: epoch changed from {} to {}", target_, epoch_, epoch);
  hub_.StartEpoch(epoch);
  epoch_ = epoch;
  cursor_ = window.last;
  spdlog::info("loaded {} rows of history (replay window {}) up to seq {}", updates.size(), window_rows,
               cursor_);
  hub_.PublishHistory(std::move(updates));
}

size_t PostgresSource::Sequence(pqxx::connection_base& conn) {
  pqxx::nontransaction tx(conn, "sequencer");
  const pqxx::result assigned = tx.exec_prepared(kSequence.name, static_cast<int>(options_.batch));
  return assigned[0][0].as<size_t>();
}

size_t PostgresSource::ReadNew(pqxx::connection_base& conn) {
  pqxx::nontransaction tx(conn, "read_new");
  FeedRange range = ReadRange(tx, cursor_, options_.batch);
  tx.commit();
  const size_t covered = range.last - cursor_;
  if (covered == 0) return 0;
  if (range.rows.size() < covered) {
    // Rows deleted after they were numbered; subscribers will see the gap.
    spdlog::warn("stock_prices: {} of seq {}..{} deleted", covered - range.rows.size(), cursor_ + 1, range.last);
  }
  cursor_ = range.last;
  rows_read_.Add(range.rows.size());
  std::vector<v1::PriceUpdate> updates = KeepValid(std::move(range.rows));
  if (updates.empty()) return covered;
  lag_.Observe(static_cast<double>(absl::ToUnixMicros(absl::Now()) - updates.back().event_time_us()) / 1e6);
  hub_.Publish(std::move(updates));
  return covered;
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

bool PostgresSource::TakeWakeUps(pqxx::connection_base& conn) {
  conn.get_notifs();  // reads the socket; throws broken_connection if it closed
  const uint64_t taken = std::exchange(wake_ups_, 0);
  notifications_.Add(taken);
  return taken > 0;
}

void PostgresSource::Wait(pqxx::connection_base* conn, absl::Duration timeout) {
  // A notification that arrived during our last query is already buffered by
  // libpq, so the socket would not wake us for it.
  if (conn != nullptr && TakeWakeUps(*conn)) return;
  const absl::Time deadline = absl::Now() + timeout;
  while (!stopping_) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {conn != nullptr ? conn->sock() : -1, POLLIN, 0}};
    const int timeout_ms = static_cast<int>(std::max<int64_t>(absl::ToInt64Milliseconds(deadline - absl::Now()), 1));
    const int ready = poll(fds, conn != nullptr ? 2 : 1, timeout_ms);
    if (conn == nullptr) return;
    if (ready == 0) {
      safety_polls_.Add();
      return;
    }
    if (ready < 0 || (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) == 0) return;
    // Only our own sequencer's notification (or other traffic): keep waiting.
    if (TakeWakeUps(*conn)) return;
  }
}

}  // namespace stockfeed::price_service
