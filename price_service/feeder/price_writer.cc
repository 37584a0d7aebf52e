#include "feeder/price_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "sources/postgres_connection.h"
#include "sources/postgres_migrations.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::feeder {
namespace {

constexpr char kApplicationName[] = "stockfeed feeder";
// COPY, not INSERT ... VALUES: PostgreSQL spent about a third of its time per
// row parsing the VALUES list (docs/benchmarks.md, "Issue #16").
const std::vector<std::string> kColumns{"symbol", "price", "source", "timestamp"};

double Uniform01() {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

PriceWriter::PriceWriter(std::string database_url, std::string commit_log, const std::atomic<bool>* stop)
    : database_url_(std::move(database_url)),
      commit_log_path_(std::move(commit_log)),
      target_(price_service::DescribeDatabase(database_url_)),
      stop_(stop),
      backoff_({absl::Milliseconds(100), absl::Seconds(5)}, Uniform01) {}

PriceWriter::~PriceWriter() {
  if (commit_log_fd_ >= 0) close(commit_log_fd_);
}

absl::Status PriceWriter::Open(bool migrate) {
  if (!commit_log_path_.empty()) {
    commit_log_fd_ = open(commit_log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (commit_log_fd_ < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot open --commit_log ", commit_log_path_, ": ", std::strerror(errno)));
    }
  }
  try {
    conn_ = price_service::Connect(database_url_, kApplicationName);
    if (migrate) {
      absl::StatusOr<int> applied = price_service::ApplyMigrations(*conn_);
      if (!applied.ok()) return applied.status();
    }
    pqxx::nontransaction check(*conn_, "check");
    if (check.exec1("SELECT to_regclass('stock_prices') IS NULL")[0].as<bool>()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", target_, " has no table stock_prices: run price_service --migrate_only "
          "or the feeder without --migrate=false"));
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    conn_.reset();
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL ", target_, ": ", e.what()));
  }
}

absl::Status PriceWriter::Insert(const std::vector<PriceRow>& rows) {
  if (rows.empty()) return absl::OkStatus();
  while (!*stop_) {
    std::string error;
    try {
      if (conn_ == nullptr) {
        conn_ = price_service::Connect(database_url_, kApplicationName);
        spdlog::info("reconnected to PostgreSQL {}", target_);
      }
      pqxx::work tx(*conn_, "insert_prices");
      pqxx::stream_to copy(tx, "stock_prices", kColumns);
      for (const PriceRow& row : rows) {
        // %.17g round-trips a double exactly.
        copy << std::make_tuple(row.symbol, absl::StrFormat("%.17g", row.price), row.source, row.timestamp);
      }
      copy.complete();
      LogCommitSent();
      tx.commit();
      backoff_.Reset();
      return absl::OkStatus();
    } catch (const pqxx::broken_connection& e) {
      error = e.what();
    } catch (const pqxx::in_doubt_error& e) {
      error = e.what();
    } catch (const pqxx::sql_error& e) {
      // Not a connectivity problem (constraint, permission): retrying won't help.
      return absl::InvalidArgumentError(absl::StrCat("INSERT into stock_prices failed: ", e.what()));
    }
    conn_.reset();
    const absl::Duration delay = backoff_.NextDelay();
    spdlog::error("PostgreSQL {} connection lost: {}; retrying the batch of {} rows in {}", target_,
                  error, rows.size(), absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(1))));
    absl::SleepFor(delay);
  }
  return absl::CancelledError("stopped");
}

void PriceWriter::LogCommitSent() {
  if (commit_log_fd_ < 0) return;
  const int64_t now_us = absl::ToUnixMicros(absl::Now());
  if (write(commit_log_fd_, &now_us, sizeof now_us) != sizeof now_us) {
    spdlog::warn("cannot append to --commit_log {}: {}; no longer writing it", commit_log_path_,
                 std::strerror(errno));
    close(commit_log_fd_);
    commit_log_fd_ = -1;
  }
}

}  // namespace stockfeed::feeder
