#include "sources/postgres_connection.h"

#include <libpq-fe.h>

#include <stdexcept>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"

namespace stockfeed::price_service {
namespace {

// Applied unless the connection string says otherwise.
const std::vector<std::pair<std::string, std::string>> kDefaults = {
    {"connect_timeout", "5"},
    {"keepalives", "1"},
    {"keepalives_idle", "10"},
    {"keepalives_interval", "5"},
    {"keepalives_count", "3"},
    // Server NOTICEs (e.g. "already exists, skipping" from migrations) are
    // not news for an operator; warnings and errors still come through.
    {"options", "-c client_min_messages=warning"},
};

std::string Quote(absl::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

struct ParsedOptions {
  PQconninfoOption* options = nullptr;
  ~ParsedOptions() {
    if (options != nullptr) PQconninfoFree(options);
  }
};

absl::Status Parse(absl::string_view database_url, ParsedOptions& parsed) {
  char* error = nullptr;
  parsed.options = PQconninfoParse(std::string(database_url).c_str(), &error);
  if (parsed.options != nullptr) return absl::OkStatus();
  std::string reason = error != nullptr ? error : "out of memory";
  if (error != nullptr) PQfreemem(error);
  while (!reason.empty() && reason.back() == '\n') reason.pop_back();
  return absl::InvalidArgumentError(
      absl::StrCat("database_url is not a valid PostgreSQL connection string: ", reason));
}

}  // namespace

absl::StatusOr<std::string> ConnectionString(absl::string_view database_url,
                                             absl::string_view application_name) {
  ParsedOptions parsed;
  if (absl::Status s = Parse(database_url, parsed); !s.ok()) return s;
  std::string out;
  const auto add = [&out](absl::string_view key, absl::string_view value) {
    absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", Quote(value));
  };
  std::vector<std::pair<std::string, std::string>> defaults = kDefaults;
  defaults.emplace_back("application_name", std::string(application_name));
  for (const PQconninfoOption* o = parsed.options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    add(o->keyword, o->val);
    std::erase_if(defaults, [o](const auto& d) { return d.first == o->keyword; });
  }
  for (const auto& [key, value] : defaults) add(key, value);
  return out;
}

std::string DescribeDatabase(absl::string_view database_url) {
  ParsedOptions parsed;
  if (!Parse(database_url, parsed).ok()) return "<invalid connection string>";
  std::string user, host, port, dbname;
  for (const PQconninfoOption* o = parsed.options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const absl::string_view key = o->keyword;
    if (key == "user") user = o->val;
    if (key == "host" || (key == "hostaddr" && host.empty())) host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
  }
  return absl::StrCat(user.empty() ? "" : user + "@", host.empty() ? "<local socket>" : host,
                      port.empty() ? "" : ":" + port, "/", dbname.empty() ? "<default db>" : dbname);
}

std::unique_ptr<pqxx::connection> Connect(absl::string_view database_url,
                                          absl::string_view application_name) {
  absl::StatusOr<std::string> conninfo = ConnectionString(database_url, application_name);
  if (!conninfo.ok()) throw std::invalid_argument(std::string(conninfo.status().message()));
  auto conn = std::make_unique<pqxx::connection>(*conninfo);
  // pqxx 6 silently reconnects a broken connection on its next use; we want
  // to see every loss (health, logging, re-LISTEN), so turn that off.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  return conn;
}

}  // namespace stockfeed::price_service
