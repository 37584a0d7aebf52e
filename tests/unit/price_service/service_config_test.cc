#include "core/service_config.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace stockfeed::price_service {
namespace {

TEST(ServiceConfigTest, DefaultsAreValid) {
  EXPECT_TRUE(Validate(ServiceConfig{}).ok()) << Validate(ServiceConfig{});
}

struct Case {
  std::string name;
  std::function<void(ServiceConfig&)> change;
  // Empty: valid. Otherwise a fragment the error message must contain.
  std::string error;
};

class ServiceConfigValidateTest : public testing::TestWithParam<Case> {};

TEST_P(ServiceConfigValidateTest, Validates) {
  ServiceConfig config;
  GetParam().change(config);
  const absl::Status status = Validate(config);
  if (GetParam().error.empty()) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_NE(status.message().find(GetParam().error), absl::string_view::npos) << status;
  }
}

ServiceConfig& Postgres(ServiceConfig& c) {
  c.source = SourceKind::kPostgres;
  c.database_url = "postgresql://stock:secret@localhost/stockdb";
  return c;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

INSTANTIATE_TEST_SUITE_P(
    Table, ServiceConfigValidateTest,
    testing::Values(
        Case{"NoSymbols", [](ServiceConfig& c) { c.simulator.symbols.clear(); }, "--symbols is empty"},
        Case{"BadSymbol", [](ServiceConfig& c) { c.simulator.symbols = {"AAPL", "A PL"}; }, "--symbols"},
        Case{"DuplicateSymbol", [](ServiceConfig& c) { c.simulator.symbols = {"AAPL", "MSFT", "AAPL"}; },
             "'AAPL' given twice"},
        Case{"OddButValidSymbols", [](ServiceConfig& c) { c.simulator.symbols = {"^GSPC", "ES=F", "BTC/USD"}; },
             ""},
        Case{"NoSources", [](ServiceConfig& c) { c.simulator.sources.clear(); }, "--sources is empty"},
        Case{"UppercaseSource", [](ServiceConfig& c) { c.simulator.sources = {"Finnhub"}; }, "--sources"},
        Case{"DuplicateSource", [](ServiceConfig& c) { c.simulator.sources = {"a", "a"}; }, "given twice"},
        Case{"ZeroRate", [](ServiceConfig& c) { c.rate = 0; }, "--rate"},
        Case{"NoFilterNames", [](ServiceConfig& c) { c.max_filter_names = 0; }, "--max_filter_names"},
        Case{"OneFilterName", [](ServiceConfig& c) { c.max_filter_names = 1; }, ""},
        Case{"TinyMessages", [](ServiceConfig& c) { c.max_receive_message_bytes = 1023; },
             "--max_receive_message_bytes"},
        Case{"HugeMessages", [](ServiceConfig& c) { c.max_receive_message_bytes = (64u << 20) + 1; },
             "--max_receive_message_bytes"},
        Case{"NoStreams", [](ServiceConfig& c) { c.max_concurrent_streams = 0; }, "--max_concurrent_streams"},
        Case{"OneStream", [](ServiceConfig& c) { c.max_concurrent_streams = 1; }, ""},
        Case{"NegativeRate", [](ServiceConfig& c) { c.rate = -1; }, "--rate"},
        Case{"NaNRate", [](ServiceConfig& c) { c.rate = kNaN; }, "--rate"},
        Case{"InfiniteRate", [](ServiceConfig& c) { c.rate = kInf; }, "--rate"},
        Case{"TinyRate", [](ServiceConfig& c) { c.rate = 0.001; }, ""},
        Case{"MaxRate", [](ServiceConfig& c) { c.rate = 10'000'000; }, ""},
        Case{"AboveMaxRate", [](ServiceConfig& c) { c.rate = 10'000'001; }, "--rate"},
        Case{"NegativeBackfill", [](ServiceConfig& c) { c.backfill = absl::Seconds(-1); }, "--backfill"},
        Case{"DayOfBackfill", [](ServiceConfig& c) { c.backfill = absl::Hours(24); }, ""},
        Case{"TooMuchBackfill", [](ServiceConfig& c) { c.backfill = absl::Hours(25); }, "--backfill"},
        Case{"ZeroVolatility", [](ServiceConfig& c) { c.simulator.volatility = 0; }, "--volatility"},
        Case{"NaNVolatility", [](ServiceConfig& c) { c.simulator.volatility = kNaN; }, "--volatility"},
        Case{"MaxVolatility", [](ServiceConfig& c) { c.simulator.volatility = 5; }, ""},
        Case{"AboveMaxVolatility", [](ServiceConfig& c) { c.simulator.volatility = 5.01; }, "--volatility"},
        Case{"ReplayCapacityTooSmall", [](ServiceConfig& c) { c.replay_capacity = 15; }, "--replay_capacity"},
        Case{"ReplayCapacityMin", [](ServiceConfig& c) { c.replay_capacity = 16; }, ""},
        Case{"ReplayCapacityMax", [](ServiceConfig& c) { c.replay_capacity = 10'000'000; }, ""},
        Case{"ReplayCapacityTooLarge", [](ServiceConfig& c) { c.replay_capacity = 10'000'001; },
             "--replay_capacity"},
        Case{"ZeroStreamBatch", [](ServiceConfig& c) { c.stream_batch = 0; }, "--stream_batch"},
        Case{"MaxStreamBatch", [](ServiceConfig& c) { c.stream_batch = 65536; }, ""},
        Case{"StreamBatchTooLarge", [](ServiceConfig& c) { c.stream_batch = 65537; }, "--stream_batch"},
        Case{"StreamPacingOff", [](ServiceConfig& c) { c.stream_pacing = absl::ZeroDuration(); }, ""},
        Case{"MaxStreamPacing", [](ServiceConfig& c) { c.stream_pacing = absl::Seconds(1); }, ""},
        Case{"NegativeStreamPacing", [](ServiceConfig& c) { c.stream_pacing = -absl::Milliseconds(1); },
             "--stream_pacing"},
        Case{"StreamPacingTooLong",
             [](ServiceConfig& c) { c.stream_pacing = absl::Seconds(1) + absl::Nanoseconds(1); },
             "--stream_pacing"},
        Case{"ZeroPollInterval", [](ServiceConfig& c) { c.poll_interval = absl::ZeroDuration(); },
             "--poll_interval"},
        Case{"MaxPollInterval", [](ServiceConfig& c) { c.poll_interval = absl::Minutes(1); }, ""},
        Case{"PollIntervalTooLong",
             [](ServiceConfig& c) { c.poll_interval = absl::Minutes(1) + absl::Nanoseconds(1); },
             "--poll_interval"},
        Case{"Postgres", [](ServiceConfig& c) { Postgres(c); }, ""},
        Case{"PostgresIgnoresSimulatorSettings",
             [](ServiceConfig& c) {
               Postgres(c).simulator.symbols.clear();
               c.rate = 0;
               c.simulator.volatility = 0;
             },
             ""},
        Case{"PostgresWithoutUrl", [](ServiceConfig& c) { Postgres(c).database_url.clear(); },
             "--database_url"},
        Case{"PostgresWithBlankUrl", [](ServiceConfig& c) { Postgres(c).database_url = " \t\n"; },
             "--database_url"},
        Case{"PostgresZeroBatch", [](ServiceConfig& c) { Postgres(c).postgres_batch = 0; }, "--postgres_batch"},
        Case{"PostgresMaxBatch", [](ServiceConfig& c) { Postgres(c).postgres_batch = 100'000; }, ""},
        Case{"PostgresBatchTooLarge", [](ServiceConfig& c) { Postgres(c).postgres_batch = 100'001; },
             "--postgres_batch"},
        Case{"PostgresStillChecksCommonLimits", [](ServiceConfig& c) { Postgres(c).stream_batch = 0; },
             "--stream_batch"},
        Case{"MigrateOnlyNeedsAUrl", [](ServiceConfig& c) { c.migrate_only = true; }, "--database_url"},
        Case{"SimulatorNeedsNoUrl", [](ServiceConfig& c) { c.database_url.clear(); }, ""}),
    [](const testing::TestParamInfo<Case>& test) { return test.param.name; });

TEST(SourceKindTest, ParsesTheTwoNames) {
  EXPECT_EQ(ParseSourceKind("simulator").value(), SourceKind::kSimulator);
  EXPECT_EQ(ParseSourceKind("postgres").value(), SourceKind::kPostgres);
}

TEST(SourceKindTest, RejectsOtherNamesSayingWhatIsExpected) {
  for (const char* text : {"", "Postgres", "postgresql", "sim", "simulator "}) {
    const absl::StatusOr<SourceKind> kind = ParseSourceKind(text);
    ASSERT_FALSE(kind.ok()) << text;
    EXPECT_EQ(kind.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(kind.status().message().find("simulator or postgres"), absl::string_view::npos);
  }
}

TEST(SourceKindTest, NameRoundTrips) {
  for (SourceKind kind : {SourceKind::kSimulator, SourceKind::kPostgres}) {
    EXPECT_EQ(ParseSourceKind(SourceKindName(kind)).value(), kind);
  }
  EXPECT_EQ(SourceKindName(SourceKind::kPostgres), "postgres");
}

TEST(RpcNeedsTokenTest, EveryFeedMethodDoesHealthAndReflectionDoNot) {
  for (const char* path : {"/stockfeed.v1.PriceFeed/Subscribe", "/stockfeed.v1.PriceFeed/GetLatest",
                           "/stockfeed.v1.PriceFeed/GetBars", "/anything.Else/Method", "", "/grpc.health.v1.HealthX/Check"}) {
    EXPECT_TRUE(RpcNeedsToken(path)) << path;
  }
  for (const char* path : {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                           "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                           "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
    EXPECT_FALSE(RpcNeedsToken(path)) << path;
  }
}

TEST(ScopeSymbolsTest, AClaimNarrowsAllAndRefusesOthers) {
  using List = std::vector<std::string>;
  EXPECT_EQ(ScopeSymbols(std::nullopt, {"MSFT"}).value(), List{"MSFT"});
  EXPECT_EQ(ScopeSymbols(List{"*"}, {}).value(), List{});
  EXPECT_EQ(ScopeSymbols(List{"AAPL", "NVDA"}, {}).value(), (List{"AAPL", "NVDA"}));
  EXPECT_EQ(ScopeSymbols(List{"AAPL", "NVDA"}, {"NVDA"}).value(), List{"NVDA"});
  const absl::StatusOr<List> refused = ScopeSymbols(List{"AAPL"}, {"AAPL", "MSFT"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "the token does not allow symbol MSFT");
  EXPECT_EQ(ScopeSymbols(List{}, {}).value(), List{});  // an empty claim allows nothing
}

TEST(ServiceConfigTest, TokenAuthNeedsTls) {
  ServiceConfig config;
  config.token_auth.hs256_secret_files = {"secret.key"};
  const absl::Status status = Validate(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("needs --tls_cert_file"), absl::string_view::npos) << status.message();
  config.transport = {.cert_file = "server.pem", .key_file = "server.key"};
  EXPECT_TRUE(Validate(config).ok());
}

}  // namespace
}  // namespace stockfeed::price_service
