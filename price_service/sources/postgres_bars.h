#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <pqxx/connection>

#include "bar_source.h"

namespace stockfeed::price_service {

// The statement behind GetBars (parameters: symbol, source, interval_us,
// first_bin_us, end_us), public so a test can EXPLAIN exactly it.
extern const char kPostgresBarsSql[];

// GetBars from the stock_prices table (date_bin over the index of migration
// 002), on one worker thread with its own connection, so a slow query never
// holds a gRPC thread. The connection is opened on first use and again after
// it breaks; a request then fails with UNAVAILABLE instead of waiting.
class PostgresBarSource final : public BarSource {
 public:
  // Requests beyond `max_pending` waiting fail at once with RESOURCE_EXHAUSTED.
  PostgresBarSource(std::string database_url, size_t max_pending);
  ~PostgresBarSource() override;

  void GetBars(const BarQuery& query, absl::Time session_start, Done done) override;
  // Also joins the worker.
  void Stop() override;

 private:
  struct Job {
    BarQuery query;
    absl::Time session_start;
    Done done;
  };
  void Run();
  absl::StatusOr<Answer> Query(const Job& job);

  const std::string database_url_;
  const size_t max_pending_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::unique_ptr<pqxx::connection> conn_;  // worker thread only
  std::thread thread_;
};

}  // namespace stockfeed::price_service
