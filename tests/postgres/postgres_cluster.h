#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace stockfeed::testing {

// A throwaway PostgreSQL 15 cluster in a fresh temporary directory on a free
// port, started by deploy/postgres/local_postgres.sh (so tests and humans use
// the same script). Works as root (the server then runs as user postgres).
// Reusable by any test: the gateway end-to-end test included.
class PostgresCluster {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresCluster>> Start();
  ~PostgresCluster();  // stops the server and deletes the directory

  // URL of database `dbname` on this server.
  std::string UrlFor(absl::string_view dbname) const;
  int port() const { return port_; }

  // Creates an empty database named `dbname` and returns its URL.
  std::string CreateDatabase(absl::string_view dbname);
  // Crash and restart the server (pg_ctl restart -m immediate).
  absl::Status RestartImmediate();

 private:
  PostgresCluster(std::string dir, int port);
  std::string dir_;
  int port_;
};

// Runs SQL on a new connection to `url` (autocommit; several statements
// allowed) and returns the rows of the last one as text ("" for NULL).
// Fails the current test on error.
std::vector<std::vector<std::string>> RunSql(const std::string& url, const std::string& sql);
// The first column of the first row, for scalar queries.
std::string SqlValue(const std::string& url, const std::string& sql);

// One cluster per test binary: register with
//   ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);
// in main(), or link postgres_test_main (which does that).
class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
  static PostgresCluster& cluster();
};

}  // namespace stockfeed::testing
