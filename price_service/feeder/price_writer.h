#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "feeder/csv_prices.h"
#include "sources/postgres_connection.h"
#include "stockfeed/common/backoff.h"

namespace stockfeed::feeder {

// Writes rows into stock_prices with COPY (one statement and one transaction
// per call, so the table's statement trigger queues and notifies once).
// Connects lazily; when the connection is lost it reconnects with backoff and
// retries the batch, so a database restart only pauses the feeder. (A batch
// whose COMMIT was in flight when the connection died may then be written
// twice; the feed itself never duplicates a row.)
class PriceWriter {
 public:
  // `commit_log`: see FeederConfig::commit_log; empty for none.
  PriceWriter(std::string database_url, std::string commit_log, const std::atomic<bool>* stop);
  ~PriceWriter();

  // Opens the commit log, connects (once, no retry) and, when `migrate`,
  // applies the migrations. The error names the file or the database and
  // libpq's reason.
  absl::Status Open(bool migrate);

  // Inserts all rows; retries through connection loss until *stop.
  absl::Status Insert(const std::vector<PriceRow>& rows);

 private:
  // Appends the time to the commit log, if any.
  void LogCommitSent();

  std::string database_url_;
  std::string commit_log_path_;
  int commit_log_fd_ = -1;
  std::string target_;
  const std::atomic<bool>* stop_;
  std::unique_ptr<pqxx::connection> conn_;
  Backoff backoff_;
};

}  // namespace stockfeed::feeder
