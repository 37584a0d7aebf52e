#include "core/gateway_config.h"

#include <cmath>
#include <functional>
#include <string>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

GatewayConfig Valid() {
  GatewayConfig config;
  config.web_root = "/srv/web";
  return config;
}

TEST(GatewayConfigTest, DefaultsWithAWebRootAreValid) {
  EXPECT_TRUE(Validate(Valid()).ok()) << Validate(Valid());
}

struct Case {
  std::string name;
  std::function<void(GatewayConfig&)> change;
  std::string error;  // empty: valid; otherwise a fragment of the message
};

class GatewayConfigValidateTest : public testing::TestWithParam<Case> {};

TEST_P(GatewayConfigValidateTest, Validates) {
  GatewayConfig config = Valid();
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
    Table, GatewayConfigValidateTest,
    testing::Values(
        Case{"NoWebRoot", [](GatewayConfig& c) { c.web_root.clear(); }, "--web_root"},
        Case{"ZeroThreads", [](GatewayConfig& c) { c.threads = 0; }, "--threads=0"},
        Case{"NegativeThreads", [](GatewayConfig& c) { c.threads = -1; }, "--threads"},
        Case{"OneThread", [](GatewayConfig& c) { c.threads = 1; }, ""},
        Case{"MaxThreads", [](GatewayConfig& c) { c.threads = 64; }, ""},
        Case{"TooManyThreads", [](GatewayConfig& c) { c.threads = 65; }, "--threads=65"},
        Case{"LogCapacityTooSmall",
             [](GatewayConfig& c) {
               c.log_capacity = 15;
               c.max_backlog = 1;
             },
             "--log_capacity=15"},
        Case{"SmallestLog",
             [](GatewayConfig& c) {
               c.log_capacity = 16;
               c.max_backlog = 15;
             },
             ""},
        Case{"LargestLog", [](GatewayConfig& c) { c.log_capacity = 10'000'000; }, ""},
        Case{"LogTooLarge", [](GatewayConfig& c) { c.log_capacity = 10'000'001; }, "--log_capacity"},
        Case{"ZeroBacklog", [](GatewayConfig& c) { c.max_backlog = 0; }, "--max_backlog=0"},
        Case{"BacklogEqualToLog", [](GatewayConfig& c) { c.max_backlog = c.log_capacity; },
             "below --log_capacity"},
        Case{"BacklogJustBelowLog", [](GatewayConfig& c) { c.max_backlog = c.log_capacity - 1; }, ""},
        Case{"ZeroConnections", [](GatewayConfig& c) { c.max_connections = 0; }, "--max_connections"},
        Case{"MaxConnections", [](GatewayConfig& c) { c.max_connections = 1'000'000; }, ""},
        Case{"TooManyConnections", [](GatewayConfig& c) { c.max_connections = 1'000'001; },
             "--max_connections"},
        Case{"HeadBytesTooSmall", [](GatewayConfig& c) { c.max_header_bytes = 1023; }, "--max_header_bytes"},
        Case{"RequestLineLongerThanHead",
             [](GatewayConfig& c) { c.max_request_line_bytes = c.max_header_bytes + 1; },
             "--max_request_line_bytes"},
        Case{"TooFewHeaders", [](GatewayConfig& c) { c.max_header_count = 7; }, "--max_header_count"},
        Case{"NegativeConnectionRate", [](GatewayConfig& c) { c.max_new_connections_per_second = -1; },
             "--max_new_connections_per_second"},
        Case{"TinyMessages", [](GatewayConfig& c) { c.max_message_bytes = 63; }, "--max_message_bytes"},
        Case{"SmallestMessages", [](GatewayConfig& c) { c.max_message_bytes = 64; }, ""},
        Case{"LargestMessages", [](GatewayConfig& c) { c.max_message_bytes = 1 << 20; }, ""},
        Case{"HugeMessages", [](GatewayConfig& c) { c.max_message_bytes = (1 << 20) + 1; },
             "--max_message_bytes"},
        Case{"ZeroSymbols", [](GatewayConfig& c) { c.max_symbols_per_connection = 0; }, "--max_symbols"},
        Case{"MaxSymbols", [](GatewayConfig& c) { c.max_symbols_per_connection = 100'000; }, ""},
        Case{"TooManySymbols", [](GatewayConfig& c) { c.max_symbols_per_connection = 100'001; },
             "--max_symbols"},
        Case{"UnpacedFanout", [](GatewayConfig& c) { c.fanout_interval = absl::ZeroDuration(); }, ""},
        Case{"NegativeFanoutInterval", [](GatewayConfig& c) { c.fanout_interval = -absl::Milliseconds(1); },
             "--fanout_interval"},
        Case{"FanoutIntervalAboveASecond",
             [](GatewayConfig& c) { c.fanout_interval = absl::Seconds(1) + absl::Milliseconds(1); },
             "--fanout_interval"},
        Case{"KernelDefaultSendBuffer", [](GatewayConfig& c) { c.send_buffer_bytes = 0; }, ""},
        Case{"LargestSendBuffer", [](GatewayConfig& c) { c.send_buffer_bytes = 64u << 20; }, ""},
        Case{"SendBufferTooLarge", [](GatewayConfig& c) { c.send_buffer_bytes = (64u << 20) + 1; },
             "--send_buffer_bytes"},
        Case{"NoHistory", [](GatewayConfig& c) { c.history_depth = 0; }, ""},
        Case{"DeepestHistory", [](GatewayConfig& c) { c.history_depth = 10'000; }, ""},
        Case{"HistoryTooDeep", [](GatewayConfig& c) { c.history_depth = 10'001; }, "--history_depth"},
        Case{"SmallestClientQueue", [](GatewayConfig& c) {
               c.max_client_queue_bytes = 64 << 10;
               c.reply_bytes_per_second = c.max_history_bytes = 32 << 10;
             }, ""},
        Case{"ClientQueueTooSmall", [](GatewayConfig& c) { c.max_client_queue_bytes = (64 << 10) - 1; },
             "--max_client_queue_bytes"},
        Case{"ClientQueueTooLarge", [](GatewayConfig& c) { c.max_client_queue_bytes = (1u << 30) + 1; },
             "--max_client_queue_bytes"},
        Case{"ReplyRateTooSmall", [](GatewayConfig& c) { c.reply_bytes_per_second = 1023; },
             "--reply_bytes_per_second"},
        Case{"ReplyRateAboveTheBurst",
             [](GatewayConfig& c) { c.reply_bytes_per_second = c.max_client_queue_bytes + 1; },
             "--reply_bytes_per_second"},
        Case{"HistoryReplyOverHalfTheQueue",
             [](GatewayConfig& c) { c.max_history_bytes = c.max_client_queue_bytes / 2 + 1; },
             "--max_history_bytes"},
        Case{"ZeroControlRate", [](GatewayConfig& c) { c.control_rate = 0; }, "--control_rate"},
        Case{"NaNControlRate", [](GatewayConfig& c) { c.control_rate = std::nan(""); }, "--control_rate"},
        Case{"SlowControlRate", [](GatewayConfig& c) { c.control_rate = 0.1; }, ""},
        Case{"BurstBelowOne", [](GatewayConfig& c) { c.control_burst = 0.5; }, "--control_burst"},
        Case{"BurstOfOne", [](GatewayConfig& c) { c.control_burst = 1; }, ""},
        Case{"ZeroHandshakeTimeout", [](GatewayConfig& c) { c.handshake_timeout = absl::ZeroDuration(); },
             "--handshake_timeout"},
        Case{"NegativeIdleTimeout", [](GatewayConfig& c) { c.idle_timeout = -absl::Seconds(1); },
             "--idle_timeout"},
        Case{"HourLongWriteStall", [](GatewayConfig& c) { c.write_stall_timeout = absl::Hours(1); }, ""},
        Case{"LongerWriteStall",
             [](GatewayConfig& c) { c.write_stall_timeout = absl::Hours(1) + absl::Seconds(1); },
             "--write_stall_timeout"},
        Case{"InfiniteDrain", [](GatewayConfig& c) { c.drain_timeout = absl::InfiniteDuration(); },
             "--drain_timeout"},
        Case{"ZeroBackoff", [](GatewayConfig& c) { c.upstream_backoff.initial = absl::ZeroDuration(); },
             "--upstream_backoff_initial"},
        Case{"BackoffCapBelowInitial",
             [](GatewayConfig& c) {
               c.upstream_backoff.initial = absl::Seconds(2);
               c.upstream_backoff.max = absl::Seconds(1);
             },
             "--upstream_backoff_max"},
        Case{"FlatBackoff",
             [](GatewayConfig& c) { c.upstream_backoff.max = c.upstream_backoff.initial; }, ""},
        Case{"NoUpstream", [](GatewayConfig& c) { c.upstreams.clear(); }, "--upstream"},
        Case{"TwoUpstreams", [](GatewayConfig& c) { c.upstreams.push_back({"127.0.1.2", 50051}); }, ""},
        Case{"SubSecondStallTimeout",
             [](GatewayConfig& c) { c.upstream_stall_timeout = absl::Milliseconds(999); },
             "--upstream_stall_timeout"}),
    [](const testing::TestParamInfo<Case>& test) { return test.param.name; });

TEST(DefaultMaxConnectionsTest, LeavesReservedDescriptorsOutOfTheOpenFileLimit) {
  EXPECT_EQ(DefaultMaxConnections(1024), 1024 - kReservedDescriptors);
  EXPECT_EQ(DefaultMaxConnections(65536), 65536 - kReservedDescriptors);
  EXPECT_EQ(DefaultMaxConnections(UINT64_MAX), 1'000'000u);
  // A tiny limit still admits a few clients rather than none.
  EXPECT_EQ(DefaultMaxConnections(100), kReservedDescriptors);
}

TEST(OpenFileLimitWarningTest, NamesTheFlagAndTheLimitOnlyWhenTheConnectionsDoNotFit) {
  EXPECT_EQ(OpenFileLimitWarning(1024 - kReservedDescriptors, 1024), "");
  EXPECT_EQ(OpenFileLimitWarning(10, 128), "");
  const std::string warning = OpenFileLimitWarning(1024 - kReservedDescriptors + 1, 1024);
  EXPECT_NE(warning.find("--max_connections=961"), std::string::npos) << warning;
  EXPECT_NE(warning.find("open-file limit of 1024"), std::string::npos) << warning;
  EXPECT_NE(OpenFileLimitWarning(1000, 128), "");
}

}  // namespace
}  // namespace stockfeed::ws_gateway
