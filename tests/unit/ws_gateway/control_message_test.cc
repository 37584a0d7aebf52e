#include "core/control_message.h"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "absl/strings/str_cat.h"

namespace stockfeed::ws_gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Type = ControlRequest::Type;

constexpr size_t kMaxSymbols = 3;
constexpr size_t kMaxHistory = 100;

ControlRequest ParseOk(absl::string_view text) {
  auto result = ParseControlMessage(text, kMaxSymbols, kMaxHistory);
  if (const ControlError* error = std::get_if<ControlError>(&result)) {
    ADD_FAILURE() << text << " -> " << error->code << ": " << error->message;
    return {};
  }
  return std::get<ControlRequest>(result);
}

TEST(ParseControlMessageTest, WorkshopStatsText) {
  EXPECT_EQ(ParseOk("/stats").type, Type::kStatsText);
}

TEST(ParseControlMessageTest, PingWithoutAndWithId) {
  const ControlRequest plain = ParseOk(R"({"type":"ping"})");
  EXPECT_EQ(plain.type, Type::kPing);
  EXPECT_EQ(plain.id, std::nullopt);

  const ControlRequest with_id = ParseOk(R"({"id":"r-1","type":"ping"})");
  EXPECT_EQ(with_id.type, Type::kPing);
  EXPECT_EQ(with_id.id, "r-1");

  EXPECT_EQ(ParseOk(R"({"type":"ping","id":""})").id, "");
  EXPECT_EQ(ParseOk(R"({"type":"ping","id":"caf\u00e9"})").id, "caf\xC3\xA9");
}

TEST(ParseControlMessageTest, StatsIgnoresExtraFields) {
  EXPECT_EQ(ParseOk(R"({"type":"stats","extra":[1,2,{}]})").type, Type::kStats);
}

TEST(ParseControlMessageTest, WhitespaceAroundJsonIsFine) {
  EXPECT_EQ(ParseOk(" \n{ \"type\" : \"stats\" }\t").type, Type::kStats);
}

TEST(ParseControlMessageTest, SubscribeWithSymbolsAndSources) {
  const ControlRequest request =
      ParseOk(R"({"type":"subscribe","symbols":["AAPL","BTC/USD","^GSPC"],"sources":["finnhub"]})");
  EXPECT_EQ(request.type, Type::kSubscribe);
  EXPECT_THAT(request.symbols, ElementsAre("AAPL", "BTC/USD", "^GSPC"));
  EXPECT_THAT(request.sources, ElementsAre("finnhub"));
}

TEST(ParseControlMessageTest, UnsubscribeAndEmptyLists) {
  const ControlRequest request = ParseOk(R"({"type":"unsubscribe","symbols":["MSFT"]})");
  EXPECT_EQ(request.type, Type::kUnsubscribe);
  EXPECT_THAT(request.symbols, ElementsAre("MSFT"));
  EXPECT_THAT(request.sources, IsEmpty());

  const ControlRequest bare = ParseOk(R"({"type":"subscribe","symbols":[],"sources":[]})");
  EXPECT_EQ(bare.type, Type::kSubscribe);
  EXPECT_THAT(bare.symbols, IsEmpty());
}

TEST(ParseControlMessageTest, SubscribeHistoryAndMaxRate) {
  const ControlRequest plain = ParseOk(R"({"type":"subscribe","symbols":["AAPL"]})");
  EXPECT_EQ(plain.history, std::nullopt);
  EXPECT_EQ(plain.max_rate, std::nullopt);

  const ControlRequest request =
      ParseOk(R"({"type":"subscribe","symbols":["AAPL"],"history":100,"max_rate":2.5})");
  EXPECT_EQ(request.history, 100u);
  EXPECT_EQ(request.max_rate, 2.5);

  const ControlRequest zeros = ParseOk(R"({"type":"subscribe","history":0,"max_rate":0})");
  EXPECT_EQ(zeros.history, 0u);
  EXPECT_EQ(zeros.max_rate, 0.0);
  EXPECT_EQ(ParseOk(R"({"type":"subscribe","max_rate":1000})").max_rate, 1000.0);
}

TEST(ParseControlMessageTest, ExactlyTheLimitIsAccepted) {
  EXPECT_THAT(ParseOk(R"({"type":"subscribe","symbols":["A","B","C"]})").symbols, ElementsAre("A", "B", "C"));
}

// BUG (control_message.cc ReadNames / ParseConnectParams): every name goes
// through ValidateSymbol, which rejects '*', so a client can never send the
// "*" that Subscription gives meaning to ("*" = all in a subscribe, none in an
// unsubscribe) and that Subscription::Remove's own error message tells the
// client to send ('unsubscribe from "*"'). Got invalid_symbol instead.
TEST(ParseControlMessageTest, StarMeansAllOrNone) {
  EXPECT_THAT(ParseOk(R"({"type":"subscribe","symbols":["*"]})").symbols, ElementsAre("*"));
  EXPECT_THAT(ParseOk(R"({"type":"unsubscribe","symbols":["*"],"sources":["*"]})").sources,
              ElementsAre("*"));
}

struct BadCase {
  std::string name;
  std::string text;
  std::string code;
  std::string message_part;  // empty: not checked
};

class ParseControlMessageBadTest : public testing::TestWithParam<BadCase> {};

TEST_P(ParseControlMessageBadTest, IsAnError) {
  auto result = ParseControlMessage(GetParam().text, kMaxSymbols, kMaxHistory);
  const ControlError* error = std::get_if<ControlError>(&result);
  ASSERT_NE(error, nullptr) << "accepted: " << GetParam().text;
  EXPECT_EQ(error->code, GetParam().code) << error->message;
  EXPECT_FALSE(error->message.empty());
  if (!GetParam().message_part.empty()) {
    EXPECT_THAT(error->message, HasSubstr(GetParam().message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseControlMessageBadTest,
    testing::Values(
        BadCase{"Empty", "", "invalid_json", ""},
        BadCase{"NotJson", "hello", "invalid_json", "not valid JSON"},
        BadCase{"StatsWithSpace", " /stats", "invalid_json", ""},
        BadCase{"Truncated", R"({"type":"ping")", "invalid_json", ""},
        BadCase{"TrailingGarbage", R"({"type":"ping"} x)", "invalid_json", ""},
        BadCase{"TwoObjects", R"({"type":"ping"}{"type":"ping"})", "invalid_json", ""},
        BadCase{"SingleQuotes", "{'type':'ping'}", "invalid_json", ""},
        BadCase{"InvalidUtf8", "{\"type\":\"ping\",\"id\":\"\xff\"}", "invalid_json", ""},
        BadCase{"TooDeep", std::string(10'000, '[') + std::string(10'000, ']'), "invalid_json", ""},
        BadCase{"Array", R"(["ping"])", "invalid_message", "JSON object"},
        BadCase{"String", R"("ping")", "invalid_message", "JSON object"},
        BadCase{"Number", "42", "invalid_message", "JSON object"},
        BadCase{"Null", "null", "invalid_message", "JSON object"},
        BadCase{"NoType", "{}", "invalid_message", "'type'"},
        BadCase{"NumericType", R"({"type":1})", "invalid_message", "'type'"},
        BadCase{"NullType", R"({"type":null})", "invalid_message", "'type'"},
        BadCase{"ArrayType", R"({"type":["ping"]})", "invalid_message", "'type'"},
        BadCase{"UnknownType", R"({"type":"pong"})", "unknown_type", "'pong'"},
        BadCase{"TypeIsCaseSensitive", R"({"type":"PING"})", "unknown_type", "'PING'"},
        BadCase{"NumericId", R"({"type":"ping","id":5})", "invalid_message", "'id'"},
        BadCase{"NullId", R"({"type":"ping","id":null})", "invalid_message", "'id'"},
        BadCase{"SymbolsString", R"({"type":"subscribe","symbols":"AAPL"})", "invalid_message", "'symbols'"},
        BadCase{"SymbolsObject", R"({"type":"subscribe","symbols":{}})", "invalid_message", "'symbols'"},
        BadCase{"SymbolNumber", R"({"type":"subscribe","symbols":["AAPL",1]})", "invalid_message",
                "'symbols'"},
        BadCase{"SourcesString", R"({"type":"unsubscribe","sources":"finnhub"})", "invalid_message",
                "'sources'"},
        BadCase{"SymbolWithSpace", R"({"type":"subscribe","symbols":["AA PL"]})", "invalid_symbol", "AA PL"},
        BadCase{"EmptySymbol", R"({"type":"subscribe","symbols":[""]})", "invalid_symbol", ""},
        BadCase{"MarkupSymbol", R"({"type":"subscribe","symbols":["<img>"]})", "invalid_symbol", ""},
        BadCase{"LongSymbol",
                R"({"type":"subscribe","symbols":[")" + std::string(33, 'A') + R"("]})",
                "invalid_symbol", ""},
        BadCase{"NulInSymbol", R"({"type":"subscribe","symbols":["A\u0000B"]})", "invalid_symbol", ""},
        BadCase{"UppercaseSource", R"({"type":"subscribe","sources":["Finnhub"]})", "invalid_source",
                "Finnhub"},
        BadCase{"TooManySymbols", R"({"type":"subscribe","symbols":["A","B","C","D"]})",
                "too_many_symbols", "limit is 3"},
        BadCase{"TooManySources", R"({"type":"unsubscribe","sources":["a","b","c","d"]})",
                "too_many_symbols", "'sources'"},
        BadCase{"HistoryAboveLimit", R"({"type":"subscribe","history":101})", "invalid_message", "'history'"},
        BadCase{"NegativeHistory", R"({"type":"subscribe","history":-1})", "invalid_message", "'history'"},
        BadCase{"FractionalHistory", R"({"type":"subscribe","history":1.5})", "invalid_message", "'history'"},
        BadCase{"StringHistory", R"({"type":"subscribe","history":"5"})", "invalid_message", "'history'"},
        BadCase{"HugeHistory", R"({"type":"subscribe","history":18446744073709551615})", "invalid_message",
                "'history'"},
        BadCase{"NegativeRate", R"({"type":"subscribe","max_rate":-1})", "invalid_message", "'max_rate'"},
        BadCase{"RateAboveLimit", R"({"type":"subscribe","max_rate":1000.5})", "invalid_message",
                "'max_rate'"},
        BadCase{"StringRate", R"({"type":"subscribe","max_rate":"1"})", "invalid_message", "'max_rate'"},
        // 1/max_rate as a clock duration would overflow (undefined behaviour).
        BadCase{"RateBelowLowest", R"({"type":"subscribe","max_rate":1e-11})", "invalid_message", "'max_rate'"},
        BadCase{"SubnormalRate", R"({"type":"subscribe","max_rate":4.9e-324})", "invalid_message", "'max_rate'"},
        BadCase{"NullRate", R"({"type":"subscribe","max_rate":null})", "invalid_message", "'max_rate'"}),
    [](const testing::TestParamInfo<BadCase>& test) { return test.param.name; });

ConnectParams ConnectOk(absl::string_view target) {
  auto result = ParseConnectParams(target, kMaxSymbols, kMaxHistory);
  if (const ControlError* error = std::get_if<ControlError>(&result)) {
    ADD_FAILURE() << target << " -> " << error->code << ": " << error->message;
    return {};
  }
  return std::get<ConnectParams>(result);
}

// Found by the connect_url fuzzer: a 1 KB protocol name came back whole in the 400's body.
TEST(ParseConnectParamsTest, ErrorsQuoteLongClientTextShortened) {
  const std::string name(5000, 'x');
  for (const std::string& target : {"/ws?protocol=" + name, "/ws?" + name + "=%zz"}) {
    auto result = ParseConnectParams(target, kMaxSymbols, kMaxHistory);
    const ControlError* error = std::get_if<ControlError>(&result);
    ASSERT_NE(error, nullptr) << target.substr(0, 20);
    EXPECT_LT(error->message.size(), 200u) << error->message;
    EXPECT_NE(error->message.find(std::string(64, 'x') + "…"), std::string::npos) << error->message;
  }
  auto message = ParseControlMessage(absl::StrCat(R"({"type":")", name, R"("})"), kMaxSymbols, kMaxHistory);
  const ControlError* error = std::get_if<ControlError>(&message);
  ASSERT_NE(error, nullptr);
  EXPECT_LT(error->message.size(), 200u) << error->message;
}

TEST(ParseConnectParamsTest, NoQueryMeansWorkshopDefaults) {
  for (const char* target : {"/ws", "/", "/ws?", "/ws?&&"}) {
    const ConnectParams params = ConnectOk(target);
    EXPECT_FALSE(params.rich) << target;
    EXPECT_FALSE(params.batch) << target;
    EXPECT_EQ(params.symbols, std::nullopt) << target;
    EXPECT_EQ(params.sources, std::nullopt) << target;
    EXPECT_EQ(params.after_seq, std::nullopt) << target;
    EXPECT_EQ(params.epoch, "") << target;
  }
}

TEST(ParseConnectParamsTest, EverythingAtOnce) {
  const ConnectParams params = ConnectOk(
      "/ws?protocol=v1&batch=1&symbols=AAPL,MSFT&sources=finnhub&after_seq=12&epoch=sim-7f3a");
  EXPECT_TRUE(params.rich);
  EXPECT_TRUE(params.batch);
  EXPECT_EQ(params.symbols, (std::vector<std::string>{"AAPL", "MSFT"}));
  EXPECT_EQ(params.sources, (std::vector<std::string>{"finnhub"}));
  EXPECT_EQ(params.after_seq, 12u);
  EXPECT_EQ(params.epoch, "sim-7f3a");
}

TEST(ParseConnectParamsTest, BatchSpellings) {
  EXPECT_TRUE(ConnectOk("/ws?batch=true").batch);
  EXPECT_TRUE(ConnectOk("/ws?batch=1").batch);
  EXPECT_FALSE(ConnectOk("/ws?batch=0").batch);
  EXPECT_FALSE(ConnectOk("/ws?batch=false").batch);
  EXPECT_FALSE(ConnectOk("/ws?batch").batch);
  EXPECT_FALSE(ConnectOk("/ws?batch=1&batch=0").batch);  // last one wins
}

TEST(ParseConnectParamsTest, PercentEncodingAndPlus) {
  EXPECT_EQ(ConnectOk("/ws?symbols=AAPL%2CMSFT").symbols, (std::vector<std::string>{"AAPL", "MSFT"}));
  EXPECT_EQ(ConnectOk("/ws?symbols=BTC%2fUSD,%5EGSPC").symbols,
            (std::vector<std::string>{"BTC/USD", "^GSPC"}));
  EXPECT_EQ(ConnectOk("/ws?symbols=AAPL,+MSFT").symbols, (std::vector<std::string>{"AAPL", "MSFT"}));
  EXPECT_EQ(ConnectOk("/ws?epoch=a+b%20c%3D").epoch, "a b c=");
  EXPECT_EQ(ConnectOk("/ws?epoch=x=y").epoch, "x=y");  // only the first '=' splits
}

TEST(ParseConnectParamsTest, AfterSeqRange) {
  EXPECT_EQ(ConnectOk("/ws?after_seq=0").after_seq, 0u);
  EXPECT_EQ(ConnectOk("/ws?after_seq=18446744073709551615").after_seq, UINT64_MAX);
}

TEST(ParseConnectParamsTest, HistoryAndMaxRate) {
  const ConnectParams defaults = ConnectOk("/ws");
  EXPECT_EQ(defaults.history, 0u);
  EXPECT_EQ(defaults.max_rate, 0.0);
  const ConnectParams params = ConnectOk("/ws?history=100&max_rate=0.5");
  EXPECT_EQ(params.history, 100u);
  EXPECT_EQ(params.max_rate, 0.5);
  EXPECT_EQ(ConnectOk("/ws?max_rate=1000").max_rate, 1000.0);
  EXPECT_EQ(ConnectOk("/ws?max_rate=0.001").max_rate, 0.001);
}

TEST(ParseConnectParamsTest, UnknownParametersAreIgnored) {
  const ConnectParams params = ConnectOk("/ws?foo=bar&symbols=AAPL&v2_option=x%20y&flag");
  EXPECT_EQ(params.symbols, (std::vector<std::string>{"AAPL"}));
}

class ParseConnectParamsBadTest : public testing::TestWithParam<BadCase> {};

TEST_P(ParseConnectParamsBadTest, IsAnError) {
  auto result = ParseConnectParams(GetParam().text, kMaxSymbols, kMaxHistory);
  const ControlError* error = std::get_if<ControlError>(&result);
  ASSERT_NE(error, nullptr) << "accepted: " << GetParam().text;
  EXPECT_EQ(error->code, GetParam().code) << error->message;
  if (!GetParam().message_part.empty()) {
    EXPECT_THAT(error->message, HasSubstr(GetParam().message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseConnectParamsBadTest,
    testing::Values(BadCase{"ProtocolV2", "/ws?protocol=v2", "invalid_query", "'v2'"},
                    BadCase{"EmptyProtocol", "/ws?protocol=", "invalid_query", ""},
                    BadCase{"NegativeSeq", "/ws?after_seq=-1", "invalid_query", "after_seq"},
                    BadCase{"WordSeq", "/ws?after_seq=ten", "invalid_query", "after_seq"},
                    BadCase{"EmptySeq", "/ws?after_seq=", "invalid_query", "after_seq"},
                    BadCase{"OverflowSeq", "/ws?after_seq=18446744073709551616", "invalid_query",
                            "after_seq"},
                    BadCase{"BadHex", "/ws?symbols=%ZZ", "invalid_query", "'symbols'"},
                    BadCase{"TruncatedEscape", "/ws?epoch=abc%4", "invalid_query", "'epoch'"},
                    BadCase{"LonePercent", "/ws?epoch=%", "invalid_query", ""},
                    BadCase{"BadSymbol", "/ws?symbols=AAPL,AA+PL", "invalid_symbol", ""},
                    BadCase{"EncodedNul", "/ws?symbols=A%00B", "invalid_symbol", ""},
                    BadCase{"BadSource", "/ws?sources=Finnhub", "invalid_source", "Finnhub"},
                    BadCase{"TooManySymbols", "/ws?symbols=A,B,C,D", "too_many_symbols", "limit is 3"},
                    BadCase{"TooManySources", "/ws?sources=a,b,c,d", "too_many_symbols", "'sources'"},
                    BadCase{"HistoryAboveLimit", "/ws?history=101", "invalid_query", "'history'"},
                    BadCase{"NegativeHistory", "/ws?history=-1", "invalid_query", "'history'"},
                    BadCase{"WordHistory", "/ws?history=all", "invalid_query", "'history'"},
                    BadCase{"NegativeRate", "/ws?max_rate=-0.1", "invalid_query", "'max_rate'"},
                    BadCase{"RateAboveLimit", "/ws?max_rate=1001", "invalid_query", "'max_rate'"},
                    BadCase{"NaNRate", "/ws?max_rate=nan", "invalid_query", "'max_rate'"},
                    BadCase{"RateBelowLowest", "/ws?max_rate=0.0009", "invalid_query", "'max_rate'"},
                    BadCase{"TinyRate", "/ws?max_rate=1e-300", "invalid_query", "'max_rate'"},
                    BadCase{"InfiniteRate", "/ws?max_rate=inf", "invalid_query", "'max_rate'"},
                    BadCase{"EmptyRate", "/ws?max_rate=", "invalid_query", "'max_rate'"}),
    [](const testing::TestParamInfo<BadCase>& test) { return test.param.name; });

TEST(ParseConnectParamsTest, StarMeansAllSymbols) {
  EXPECT_EQ(ConnectOk("/ws?symbols=*").symbols, (std::vector<std::string>{"*"}));
}

TEST(IsWebSocketPathTest, RootAndWsWithAnyQuery) {
  EXPECT_TRUE(IsWebSocketPath("/"));
  EXPECT_TRUE(IsWebSocketPath("/ws"));
  EXPECT_TRUE(IsWebSocketPath("/ws?protocol=v1"));
  EXPECT_TRUE(IsWebSocketPath("/?symbols=AAPL"));
  EXPECT_FALSE(IsWebSocketPath(""));
  EXPECT_FALSE(IsWebSocketPath("/ws/"));
  EXPECT_FALSE(IsWebSocketPath("/wss"));
  EXPECT_FALSE(IsWebSocketPath("/WS"));
  EXPECT_FALSE(IsWebSocketPath("/index.html"));
  EXPECT_FALSE(IsWebSocketPath("ws"));
}

}  // namespace
}  // namespace stockfeed::ws_gateway
