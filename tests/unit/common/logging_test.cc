#include "stockfeed/common/logging.h"

#include <chrono>
#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockfeed {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

const auto kTime = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764091234567));

TEST(LoggingTest, TextLineHasAnRfc3339TimestampWithZoneAndFoldsLineBreaks) {
  const std::string line = FormatLogLine(LogFormat::kText, kTime, "price_service", "error",
                                         "connection failed: refused\n\tIs the server running?\n");
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.567[+-]\d\d:\d\d price_service error .*\n)")))
      << line;
  EXPECT_THAT(line, EndsWith(" connection failed: refused Is the server running?\n"));
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(LoggingTest, JsonLineEscapesQuotesBackslashesAndControlCharacters) {
  const std::string line = FormatLogLine(LogFormat::kJson, kTime, "ws_gateway", "info",
                                         "say \"hi\" to C:\\path\tnow\x01 and\r\nthen");
  EXPECT_THAT(line, HasSubstr(R"("level":"info","logger":"ws_gateway","msg":"say \"hi\" to C:\\path\tnow\u0001 and then"})"));
  EXPECT_TRUE(std::regex_search(line, std::regex(R"(^\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.567[+-]\d\d:\d\d",)")))
      << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_THAT(line, EndsWith("}\n"));
}

TEST(LoggingTest, InitLoggingRejectsUnknownLevelsAndFormats) {
  EXPECT_FALSE(InitLogging("test", "loud").ok());
  EXPECT_FALSE(InitLogging("test", "info", "xml").ok());
  EXPECT_TRUE(InitLogging("test", "info", "json", false).ok());
}

}  // namespace
}  // namespace stockfeed
