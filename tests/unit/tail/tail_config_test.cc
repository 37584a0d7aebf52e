#include "tail/tail_config.h"

#include <functional>
#include <string>

#include "gtest/gtest.h"

namespace stockfeed::tail {
namespace {

TEST(TailConfigTest, DefaultsAreValid) { EXPECT_TRUE(Validate(TailConfig{}).ok()); }

TEST(TailConfigTest, ParsesCommandsAndFormats) {
  EXPECT_EQ(*ParseCommand("stream"), Command::kStream);
  EXPECT_EQ(*ParseCommand("latest"), Command::kLatest);
  EXPECT_EQ(*ParseCommand("symbols"), Command::kSymbols);
  EXPECT_FALSE(ParseCommand("lates").ok());
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_FALSE(ParseOutputFormat("xml").ok());
}

struct Case {
  std::string name;
  std::function<void(TailConfig&)> change;
  std::string error;  // empty: valid; else a fragment of the message
};

class TailConfigValidateTest : public testing::TestWithParam<Case> {};

TEST_P(TailConfigValidateTest, Validates) {
  TailConfig config;
  GetParam().change(config);
  const absl::Status status = Validate(config);
  if (GetParam().error.empty()) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_NE(status.message().find(GetParam().error), absl::string_view::npos) << status;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, TailConfigValidateTest,
    testing::Values(
        Case{"BadSymbol", [](TailConfig& c) { c.symbols = {"A PL"}; }, "--symbols"},
        Case{"BadSource", [](TailConfig& c) { c.sources = {"Finnhub"}; }, "--sources"},
        Case{"Resume", [](TailConfig& c) { c.from_seq = 5; c.epoch = "sim-1"; }, ""},
        Case{"EpochWithoutSeq", [](TailConfig& c) { c.epoch = "sim-1"; }, "--epoch needs --from_seq"},
        Case{"SeqAndStateFile", [](TailConfig& c) { c.from_seq = 5; c.state_file = "/tmp/x"; }, "use one of them"},
        Case{"NegativeDuration", [](TailConfig& c) { c.duration = absl::Seconds(-1); }, "--duration"},
        Case{"ZeroConnectTimeout", [](TailConfig& c) { c.connect_timeout = absl::ZeroDuration(); },
             "--connect_timeout"},
        Case{"BackoffInverted", [](TailConfig& c) { c.backoff_initial = absl::Seconds(9); }, "--backoff_initial"},
        Case{"LatestWithFilter", [](TailConfig& c) { c.command = Command::kLatest; c.symbols = {"AAPL"}; }, ""},
        Case{"LatestWithCount", [](TailConfig& c) { c.command = Command::kLatest; c.count = 3; },
             "streaming only"},
        Case{"SymbolsWithStateFile", [](TailConfig& c) { c.command = Command::kSymbols; c.state_file = "x"; },
             "streaming only"}),
    [](const testing::TestParamInfo<Case>& param) { return param.param.name; });

}  // namespace
}  // namespace stockfeed::tail
