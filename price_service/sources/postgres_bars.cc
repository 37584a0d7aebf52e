#include "postgres_bars.h"

#include <utility>

#include <pqxx/pqxx>

#include "postgres_connection.h"
#include "spdlog/spdlog.h"

namespace stockfeed::price_service {

// One row per non-empty interval. The range condition on (symbol, source,
// inserted_at) is what stock_prices_bars_idx serves; the range is at most
// `limit` intervals long (BarQuery), so the scan is bounded too. Ties in
// inserted_at are broken by id, the insertion order.
const char kPostgresBarsSql[] = R"sql(
SELECT (extract(epoch FROM bin) * 1000000)::bigint, open, high, low, close, updates
  FROM (SELECT date_bin($3 * interval '1 microsecond', inserted_at, timestamptz 'epoch') AS bin,
               (array_agg(price ORDER BY inserted_at, id))[1] AS open,
               max(price) AS high,
               min(price) AS low,
               (array_agg(price ORDER BY inserted_at DESC, id DESC))[1] AS close,
               count(*) AS updates
          FROM stock_prices
         WHERE symbol = $1 AND source = $2
           AND inserted_at >= timestamptz 'epoch' + $4 * interval '1 microsecond'
           AND inserted_at <  timestamptz 'epoch' + $5 * interval '1 microsecond'
         GROUP BY bin) bars
 ORDER BY bin)sql";

namespace {

// The day change reference: the first price at or after the session start.
constexpr char kFirstPriceSince[] = R"sql(
SELECT price FROM stock_prices
 WHERE symbol = $1 AND source = $2 AND inserted_at >= timestamptz 'epoch' + $3 * interval '1 microsecond'
 ORDER BY inserted_at, id
 LIMIT 1)sql";

}  // namespace

PostgresBarSource::PostgresBarSource(std::string database_url, size_t max_pending)
    : database_url_(std::move(database_url)), max_pending_(max_pending) {
  thread_ = std::thread([this] { Run(); });
}

PostgresBarSource::~PostgresBarSource() { Stop(); }

void PostgresBarSource::GetBars(const BarQuery& query, absl::Time session_start, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && jobs_.size() < max_pending_) {
      jobs_.push_back(Job{query, session_start, std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(absl::ResourceExhaustedError("too many bar requests waiting for the database; retry shortly"));
}

void PostgresBarSource::Stop() {
  std::deque<Job> abandoned;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    abandoned.swap(jobs_);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (Job& job : abandoned) job.done(absl::UnavailableError("price_service is shutting down"));
}

void PostgresBarSource::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job.done(Query(job));
    lock.lock();
  }
}

absl::StatusOr<BarSource::Answer> PostgresBarSource::Query(const Job& job) {
  try {
    if (conn_ == nullptr || !conn_->is_open()) {
      conn_ = Connect(database_url_, "stockfeed bars");
      // A runaway query must not keep every later request waiting.
      pqxx::nontransaction(*conn_).exec("SET statement_timeout = '10s'");
    }
    const BarQuery& q = job.query;
    Answer answer;
    pqxx::read_transaction tx(*conn_);
    for (const pqxx::row& row : tx.exec_params(kPostgresBarsSql, q.symbol, q.source, q.interval_us, q.first_bin_us, q.end_us)) {
      answer.bars.push_back(Bar{.start_us = row[0].as<int64_t>(),
                                .open = row[1].as<double>(),
                                .high = row[2].as<double>(),
                                .low = row[3].as<double>(),
                                .close = row[4].as<double>(),
                                .updates = row[5].as<uint64_t>()});
    }
    const pqxx::result first =
        tx.exec_params(kFirstPriceSince, q.symbol, q.source, absl::ToUnixMicros(job.session_start));
    if (!first.empty()) answer.session_open = first[0][0].as<double>();
    return answer;
  } catch (const pqxx::broken_connection& e) {
    spdlog::warn("bars: database connection lost: {}", e.what());
    conn_.reset();
  } catch (const std::exception& e) {
    spdlog::warn("bars: query failed: {}", e.what());
    conn_.reset();
  }
  return absl::UnavailableError("bars are unavailable: the database cannot be reached");
}

}  // namespace stockfeed::price_service
