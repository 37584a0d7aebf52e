#pragma once

#include <memory>
#include <string>

#include <pqxx/connection>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockfeed::price_service {

// `database_url` (a postgresql:// URI or "key=value ..." string) rewritten as
// key=value with our defaults added where the user gave none: a connect
// timeout, TCP keepalives (so a dead server is noticed mid-stream) and
// `application_name`. InvalidArgument with libpq's reason if it does not parse.
absl::StatusOr<std::string> ConnectionString(absl::string_view database_url,
                                             absl::string_view application_name);

// "postgres@127.0.0.1:5432/stockdb" for log lines: never the password.
std::string DescribeDatabase(absl::string_view database_url);

// Opens a connection; throws pqxx::broken_connection (with libpq's reason,
// e.g. `database "x" does not exist`) or std::invalid_argument for a
// connection string that does not parse. The connection never reconnects
// behind our back: a lost connection surfaces as an exception.
std::unique_ptr<pqxx::connection> Connect(absl::string_view database_url,
                                          absl::string_view application_name);

}  // namespace stockfeed::price_service
