#include "bars_api.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "json_writer.h"
#include "stockfeed/common/symbols.h"

namespace stockfeed::ws_gateway {
namespace {

constexpr uint32_t kMaxLimit = 5000;     // the service's own bound
constexpr uint32_t kDefaultLimit = 500;  // the service's default

struct IntervalName {
  absl::string_view name;
  uint32_t seconds;
};
constexpr IntervalName kIntervals[] = {{"1s", 1}, {"1m", 60}, {"5m", 300}, {"1h", 3600}};

ControlError Invalid(std::string message) { return ControlError{"invalid_query", std::move(message)}; }

std::optional<ControlError> CheckPair(absl::string_view symbol, absl::string_view source) {
  if (absl::Status s = ValidateSymbol(symbol); !s.ok()) return ControlError{"invalid_symbol", std::string(s.message())};
  if (absl::Status s = ValidateSource(source); !s.ok()) return ControlError{"invalid_source", std::string(s.message())};
  return std::nullopt;
}

// "AAPL:finnhub,MSFT:iex": neither ':' nor ',' can occur in a name.
std::variant<std::vector<BarsPair>, ControlError> ParsePairs(absl::string_view text) {
  std::vector<BarsPair> pairs;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (pairs.size() == kMaxBarsPairs) {
      return Invalid(absl::StrCat("'pairs' names more than ", kMaxBarsPairs, " symbol:source pairs"));
    }
    const size_t colon = item.find(':');
    if (colon == absl::string_view::npos) {
      return Invalid("'pairs' is a comma-separated list of symbol:source, e.g. pairs=AAPL:finnhub,MSFT:iex");
    }
    const absl::string_view symbol = item.substr(0, colon);
    const absl::string_view source = item.substr(colon + 1);
    if (std::optional<ControlError> error = CheckPair(symbol, source)) return std::move(*error);
    pairs.push_back(BarsPair{std::string(symbol), std::string(source)});
  }
  return pairs;
}

}  // namespace

std::variant<BarsParams, ControlError> ParseBarsQuery(absl::string_view target) {
  BarsParams params;
  const size_t question = target.find('?');
  const absl::string_view query = question == absl::string_view::npos ? "" : target.substr(question + 1);
  std::optional<std::string> symbol;
  std::optional<std::string> source;
  std::optional<std::string> pairs;
  bool have_from = false;
  bool have_to = false;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    const std::optional<std::string> value = UrlDecode(kv.second);
    if (!value) return Invalid(absl::StrCat("bad percent-encoding in '", kv.first, "'"));
    if (kv.first == "symbol") {
      symbol = *value;
    } else if (kv.first == "source") {
      source = *value;
    } else if (kv.first == "pairs") {
      pairs = *value;
    } else if (kv.first == "interval") {
      params.interval_seconds = 0;
      for (const IntervalName& interval : kIntervals) {
        if (*value == interval.name) params.interval_seconds = interval.seconds;
      }
      if (params.interval_seconds == 0) {
        return Invalid(absl::StrCat("'interval' must be 1s, 1m, 5m or 1h (got '", *value, "')"));
      }
      params.interval = *value;
    } else if (kv.first == "from" || kv.first == "to") {
      int64_t seconds = 0;
      // Up to the year 9999: keeps the service's microseconds in range.
      if (!absl::SimpleAtoi(*value, &seconds) || seconds < 0 || seconds > 253'402'300'799) {
        return Invalid(absl::StrCat("'", kv.first, "' must be a time in Unix seconds"));
      }
      (kv.first == "from" ? params.from : params.to) = seconds;
      (kv.first == "from" ? have_from : have_to) = true;
    } else if (kv.first == "limit") {
      if (!absl::SimpleAtoi(*value, &params.limit) || params.limit < 1 || params.limit > kMaxLimit) {
        return Invalid(absl::StrCat("'limit' must be an integer from 1 to ", kMaxLimit));
      }
    }
  }
  if (pairs) {
    if (symbol || source) return Invalid("give either 'symbol' and 'source', or 'pairs', not both");
    std::variant<std::vector<BarsPair>, ControlError> parsed = ParsePairs(*pairs);
    if (auto* error = std::get_if<ControlError>(&parsed)) return std::move(*error);
    params.pairs = std::get<std::vector<BarsPair>>(std::move(parsed));
    params.batch = true;
  } else {
    if (!symbol) return Invalid("'symbol' is required, e.g. symbol=AAPL (or 'pairs' for several)");
    if (!source) return Invalid("'source' is required, e.g. source=finnhub");
    if (std::optional<ControlError> error = CheckPair(*symbol, *source)) return std::move(*error);
    params.pairs.push_back(BarsPair{std::move(*symbol), std::move(*source)});
  }
  if (params.interval.empty()) return Invalid("'interval' is required: 1s, 1m, 5m or 1h");
  if (have_from && have_to && params.from >= params.to) return Invalid("'from' must be before 'to'");
  const uint32_t limit = params.limit != 0 ? params.limit : kDefaultLimit;
  if (params.batch && params.pairs.size() * limit > kMaxBatchBars) {
    return Invalid(absl::StrCat("'pairs' × 'limit' must be at most ", kMaxBatchBars, " bars (got ",
                                params.pairs.size(), " pairs × ", limit, "); split the pairs into several requests"));
  }
  return params;
}

v1::GetBarsRequest ToGetBarsRequest(const BarsParams& params, const BarsPair& pair) {
  v1::GetBarsRequest request;
  request.set_symbol(pair.symbol);
  request.set_source(pair.source);
  request.set_interval_seconds(params.interval_seconds);
  request.set_from_us(params.from * 1'000'000);
  request.set_to_us(params.to * 1'000'000);
  request.set_limit(params.limit);
  return request;
}

namespace {

// "session" and "bars" of one pair's answer.
void EncodeSessionAndBars(JsonWriter& json, const v1::GetBarsResponse& response) {
  json.Key("session").BeginObject();
  json.Int("start", response.session_start_us() / 1'000'000).String("time_zone", response.session_time_zone());
  if (response.session_open() > 0) json.Number("open", response.session_open());
  json.EndObject();
  json.BeginArray("bars");
  for (const v1::Bar& bar : response.bars()) {
    json.BeginObject()
        .Int("time", bar.start_time_us() / 1'000'000)
        .Number("open", bar.open())
        .Number("high", bar.high())
        .Number("low", bar.low())
        .Number("close", bar.close())
        .Uint("count", bar.update_count())
        .EndObject();
  }
  json.EndArray();
}

constexpr size_t kBytesPerBar = 96;

}  // namespace

std::string EncodeBars(const BarsParams& params, const v1::GetBarsResponse& response) {
  std::string out;
  out.reserve(128 + kBytesPerBar * static_cast<size_t>(response.bars_size()));
  JsonWriter json(out);
  json.BeginObject()
      .String("symbol", params.pairs.front().symbol)
      .String("source", params.pairs.front().source)
      .String("interval", params.interval)
      .Uint("interval_seconds", params.interval_seconds);
  EncodeSessionAndBars(json, response);
  json.EndObject();
  return out;
}

std::string EncodeBarsBatch(const BarsParams& params, const std::vector<v1::GetBarsResponse>& responses) {
  size_t bars = 0;
  for (const v1::GetBarsResponse& response : responses) bars += static_cast<size_t>(response.bars_size());
  std::string out;
  out.reserve(64 + 128 * responses.size() + kBytesPerBar * bars);
  JsonWriter json(out);
  json.BeginObject().String("interval", params.interval).Uint("interval_seconds", params.interval_seconds);
  json.BeginArray("results");
  for (size_t i = 0; i < responses.size() && i < params.pairs.size(); ++i) {
    json.BeginObject().String("symbol", params.pairs[i].symbol).String("source", params.pairs[i].source);
    EncodeSessionAndBars(json, responses[i]);
    json.EndObject();
  }
  json.EndArray().EndObject();
  return out;
}

std::string BarsCacheControl(const BarsParams& params, absl::Time now, bool with_token) {
  if (params.to == 0) return "no-cache";
  // The last bar starts before `to` and lasts one interval.
  const int64_t last_bar_end =
      (params.to - 1) / params.interval_seconds * params.interval_seconds + params.interval_seconds;
  if (last_bar_end > absl::ToUnixSeconds(now)) return "no-cache";
  return with_token ? "private, max-age=300" : "public, max-age=300";
}

std::string EntityTag(absl::string_view body) {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : body) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return absl::StrFormat("\"%016x\"", hash);
}

bool EntityTagMatches(absl::string_view if_none_match, absl::string_view etag) {
  for (absl::string_view tag : absl::StrSplit(if_none_match, ',')) {
    tag = absl::StripAsciiWhitespace(tag);
    if (absl::StartsWith(tag, "W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

}  // namespace stockfeed::ws_gateway
