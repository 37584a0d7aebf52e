#include "sources/postgres_migrations.h"

#include <algorithm>
#include <string>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::price_service {
namespace {

// Arbitrary, but fixed: the advisory lock key every price_service replica and
// feeder uses for migrations ("sfmigr" in ASCII).
constexpr int64_t kMigrationLockKey = 0x7366'6d69'6772;

constexpr char kCreateTracking[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version    integer PRIMARY KEY,"
    "  name       text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now())";
constexpr char kAppliedVersions[] = "SELECT version FROM schema_migrations";
constexpr char kRecord[] = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";

}  // namespace

absl::StatusOr<int> ApplyMigrations(pqxx::connection_base& conn,
                                    const std::vector<Migration>& migrations) {
  const auto run = [&conn](const std::string& sql) {
    pqxx::nontransaction session(conn, "migrations");
    return session.exec(sql);
  };
  // Session-level lock: held across the per-migration transactions below and
  // released at the end, or by the server when the connection dies.
  run(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")"));
  struct Unlock {
    decltype(run)& unlock_run;
    ~Unlock() {
      try {
        unlock_run(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
      } catch (const std::exception&) {
        // The connection is gone, and with it the lock.
      }
    }
  } unlock{run};

  run(kCreateTracking);
  std::vector<int> applied;
  for (const pqxx::row& row : run(kAppliedVersions)) applied.push_back(row[0].as<int>());

  int count = 0;
  for (const Migration& migration : migrations) {
    if (std::find(applied.begin(), applied.end(), migration.version) != applied.end()) continue;
    const std::string label(migration.name);
    pqxx::work tx(conn, "migration");
    try {
      tx.exec(std::string(migration.sql));
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const pqxx::sql_error& e) {
      return absl::FailedPreconditionError(
          absl::StrCat("migration ", label, " failed: ", e.what()));
    }
    tx.exec_params(kRecord, migration.version, std::string(migration.name));
    tx.commit();
    spdlog::info("applied database migration {}", label);
    ++count;
  }
  return count;
}

}  // namespace stockfeed::price_service
