#include "postgres_cluster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

#ifndef STOCKFEED_LOCAL_POSTGRES_SH
#error "define STOCKFEED_LOCAL_POSTGRES_SH (path of deploy/postgres/local_postgres.sh)"
#endif

namespace stockfeed::testing {
namespace {

// A port the kernel just considered free (tiny race, fine for tests).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

absl::StatusOr<std::string> RunScript(const std::string& args) {
  const std::string command = absl::StrCat(STOCKFEED_LOCAL_POSTGRES_SH, " ", args, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  if (status != 0) return absl::InternalError(absl::StrCat(command, " failed: ", output));
  return std::string(absl::StripAsciiWhitespace(output));
}

std::unique_ptr<PostgresCluster>& Shared() {
  static std::unique_ptr<PostgresCluster> cluster;
  return cluster;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresCluster>> PostgresCluster::Start() {
  std::string pattern = (std::filesystem::temp_directory_path() / "stockfeed-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  // The server may run as user postgres (when we are root): let it in.
  std::filesystem::permissions(pattern, std::filesystem::perms::owner_all |
                                            std::filesystem::perms::group_read |
                                            std::filesystem::perms::group_exec |
                                            std::filesystem::perms::others_read |
                                            std::filesystem::perms::others_exec);
  const int port = FreePort();
  std::unique_ptr<PostgresCluster> cluster(new PostgresCluster(pattern, port));
  // Its output is the URL of `stockdb`, but also any warning the server's
  // tools print (such as not being allowed into the current directory):
  // URLs come from UrlFor().
  absl::StatusOr<std::string> started = RunScript(absl::StrCat("start ", pattern, "/cluster ", port));
  if (!started.ok()) return started.status();
  return cluster;
}

PostgresCluster::PostgresCluster(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}

PostgresCluster::~PostgresCluster() {
  (void)RunScript(absl::StrCat("stop ", dir_, "/cluster"));
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PostgresCluster::UrlFor(absl::string_view dbname) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", dbname);
}

std::string PostgresCluster::CreateDatabase(absl::string_view dbname) {
  RunSql(UrlFor("postgres"), absl::StrCat("CREATE DATABASE \"", dbname, "\""));
  return UrlFor(dbname);
}

absl::Status PostgresCluster::RestartImmediate() {
  return RunScript(absl::StrCat("restart ", dir_, "/cluster")).status();
}

std::vector<std::vector<std::string>> RunSql(const std::string& url, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    for (const pqxx::row& row : tx.exec(sql)) {
      std::vector<std::string>& out = rows.emplace_back();
      for (const pqxx::field& field : row) out.push_back(field.is_null() ? "" : field.c_str());
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "SQL failed: " << sql << "\n" << e.what();
  }
  return rows;
}

std::string SqlValue(const std::string& url, const std::string& sql) {
  const auto rows = RunSql(url, sql);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

void PostgresEnvironment::SetUp() {
  absl::StatusOr<std::unique_ptr<PostgresCluster>> cluster = PostgresCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  Shared() = *std::move(cluster);
}

void PostgresEnvironment::TearDown() { Shared().reset(); }

PostgresCluster& PostgresEnvironment::cluster() { return *Shared(); }

}  // namespace stockfeed::testing
