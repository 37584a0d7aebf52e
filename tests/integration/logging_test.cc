// The real binaries' logs: --log_format=json gives one JSON object per line,
// every HTTP request leaves one access line, --access_log=false silences them.
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

// Every line of `log` as a JSON object; fails the test on any other line.
std::vector<json::object> JsonLines(const std::string& log) {
  std::vector<json::object> lines;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line;
    if (ec || !value.is_object()) continue;
    const json::object& object = value.as_object();
    EXPECT_TRUE(object.contains("ts") && object.contains("level") && object.contains("logger") &&
                object.contains("msg"))
        << line;
    lines.push_back(object);
  }
  return lines;
}

std::vector<std::string> AccessMessages(const std::vector<json::object>& lines) {
  std::vector<std::string> messages;
  for (const json::object& line : lines) {
    if (line.at("logger") == "access") messages.emplace_back(line.at("msg").as_string());
  }
  return messages;
}

TEST(LoggingTest, JsonLogsParseLineByLineAndEveryRequestHasAnAccessLine) {
  System system(System::Options{.service_args = {"--log_format=json"}, .gateway_args = {"--log_format=json"}});
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(15)));
  ASSERT_EQ(HttpGet(system.gateway_port(), "/healthz?probe=1").status, 200);
  ASSERT_EQ(HttpGet(system.gateway_port(), "/no-such-file.js").status, 404);
  ASSERT_EQ(HttpGet(system.service_admin_port(), "/metrics").status, 200);
  {
    WsClient client(system.gateway_port(), "/ws");
    ASSERT_TRUE(client.ReadUntilType("connected"));
  }
  const std::string healthz_line = "method=GET path=/healthz status=200 bytes=";
  ASSERT_TRUE(Eventually([&] {
    return system.gateway().Log().find(healthz_line) != std::string::npos &&
           system.service().Log().find("path=/metrics status=200") != std::string::npos;
  }, seconds(5)));

  const std::vector<json::object> gateway = JsonLines(system.gateway().Log());
  const std::vector<std::string> access = AccessMessages(gateway);
  const auto has = [&access](const std::string& part) {
    return std::any_of(access.begin(), access.end(),
                       [&part](const std::string& line) { return line.find(part) != std::string::npos; });
  };
  EXPECT_TRUE(has(healthz_line)) << "the query string is not logged as part of the path";
  EXPECT_TRUE(has("method=GET path=/no-such-file.js status=404"));
  EXPECT_TRUE(has("method=GET path=/ws status=101"));
  for (const std::string& line : access) {
    EXPECT_NE(line.find(" conn="), std::string::npos) << line;
    EXPECT_NE(line.find(" duration_ms="), std::string::npos) << line;
  }
  // The connection id ties the access line to the session's own lines.
  bool session_line_with_id = false;
  for (const json::object& line : gateway) {
    const std::string msg(line.at("msg").as_string());
    if (msg.rfind("client connected:", 0) == 0 && msg.find(" conn=") != std::string::npos) session_line_with_id = true;
  }
  EXPECT_TRUE(session_line_with_id);

  const std::vector<json::object> service = JsonLines(system.service().Log());
  EXPECT_FALSE(service.empty());
  EXPECT_TRUE(std::any_of(service.begin(), service.end(),
                          [](const json::object& line) { return line.at("logger") == "access"; }));
}

TEST(LoggingTest, AccessLogCanBeTurnedOffAndTextLinesCarryTheZone) {
  System system(System::Options{.gateway_args = {"--access_log=false"}});
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(15)));
  ASSERT_EQ(HttpGet(system.gateway_port(), "/healthz").status, 200);
  ASSERT_EQ(HttpGet(system.service_admin_port(), "/healthz").status, 200);
  ASSERT_TRUE(Eventually([&] { return system.service().Log().find("path=/healthz") != std::string::npos; },
                         seconds(5)));
  EXPECT_EQ(system.gateway().Log().find("method="), std::string::npos) << system.gateway().Log();
  // Text format: "2026-12-01T21:21:06.123+00:00 ws_gateway info ...".
  const std::string log = system.gateway().Log();
  EXPECT_EQ(log.substr(23, 1) == "+" || log.substr(23, 1) == "-", true) << log.substr(0, 40);
  EXPECT_EQ(log.substr(26, 1), ":") << log.substr(0, 40);
}

TEST(LoggingTest, DefaultLevelShowsNoLibraryNoiseAtStartup) {
  System system;
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(15)));
  for (const std::string& log : {system.gateway().Log(), system.service().Log()}) {
    EXPECT_EQ(log.find("grpc:"), std::string::npos) << log;
    EXPECT_EQ(log.find("EXPERIMENT"), std::string::npos) << log;
    EXPECT_EQ(log.find("NOTICE"), std::string::npos) << log;
  }
}

}  // namespace
}  // namespace stockfeed::testing
