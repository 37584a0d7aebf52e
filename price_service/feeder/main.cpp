// stockfeed_feeder: writes prices into PostgreSQL's stock_prices table, from
// the simulator or a CSV file (the workshop's "aggregator").
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "stockfeed/common/cli.h"
#include "feeder/feeder.h"
#include "stockfeed/common/logging.h"
#include "stockfeed/common/symbols.h"

namespace fd = stockfeed::feeder;

ABSL_FLAG(std::string, mode, "simulate", "simulate (generate prices) or replay (from --csv)");
ABSL_FLAG(std::string, database_url, "",
          "connection string (default: $DATABASE_URL, else "
          "postgresql://user:password@localhost/stockdb)");
ABSL_FLAG(bool, migrate, true, "apply price_service's database migrations first");
ABSL_FLAG(double, rate, 100, "simulate: rows per second");
ABSL_FLAG(std::string, symbols, "AAPL,GOOGL,MSFT,AMZN,NVDA,TSLA", "simulate: symbols, comma separated");
ABSL_FLAG(std::string, sources, "alpha_vantage,finnhub", "simulate: source names, comma separated");
ABSL_FLAG(uint64_t, seed, 1, "simulate: random seed");
ABSL_FLAG(double, volatility, 0.4, "simulate: annualised volatility");
ABSL_FLAG(uint64_t, count, 0, "simulate: stop after this many rows (0 = never)");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(), "simulate: stop after this long (0 = never)");
ABSL_FLAG(std::string, csv, "", "replay: CSV file with header symbol,price,source,timestamp");
ABSL_FLAG(double, speed, 0, "replay: 1 = the file's own pace, 10 = ten times faster, 0 = at once");
ABSL_FLAG(std::string, commit_log, "",
          "append the wall time (us, native int64) before each COMMIT to this file, for measuring "
          "commit -> client latency (ws_loadgen --commit_log)");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error or off");
ABSL_FLAG(std::string, log_format, "text", "text or json (one JSON object per line)");

namespace {
std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  constexpr absl::string_view kUsage =
      "Writes stock prices into PostgreSQL (table stock_prices).";
  absl::SetProgramUsageMessage(kUsage);
  if (absl::Status s = stockfeed::PrepareCommandLine(argc, argv, "stockfeed_feeder", kUsage); !s.ok()) {
    std::cerr << "stockfeed_feeder: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::cerr << "stockfeed_feeder: unexpected argument '" << positional[1] << "' (see --help)\n";
    return EXIT_FAILURE;
  }
  if (absl::Status s = stockfeed::InitLogging("stockfeed_feeder", absl::GetFlag(FLAGS_log_level),
                                               absl::GetFlag(FLAGS_log_format)); !s.ok()) {
    std::cerr << "stockfeed_feeder: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  absl::StatusOr<fd::FeedMode> mode = fd::ParseFeedMode(absl::GetFlag(FLAGS_mode));
  if (!mode.ok()) {
    std::cerr << "stockfeed_feeder: " << mode.status().message() << "\n";
    return EXIT_FAILURE;
  }
  fd::FeederConfig config;
  config.mode = *mode;
  config.database_url = absl::GetFlag(FLAGS_database_url);
  if (config.database_url.empty()) {
    const char* env = std::getenv("DATABASE_URL");
    config.database_url = env != nullptr ? env : "postgresql://user:password@localhost/stockdb";
  }
  config.migrate = absl::GetFlag(FLAGS_migrate);
  config.rate = absl::GetFlag(FLAGS_rate);
  config.simulator.symbols = stockfeed::SplitNameList(absl::GetFlag(FLAGS_symbols));
  config.simulator.sources = stockfeed::SplitNameList(absl::GetFlag(FLAGS_sources));
  config.simulator.seed = absl::GetFlag(FLAGS_seed);
  config.simulator.volatility = absl::GetFlag(FLAGS_volatility);
  config.count = absl::GetFlag(FLAGS_count);
  config.duration = absl::GetFlag(FLAGS_duration);
  config.csv_path = absl::GetFlag(FLAGS_csv);
  config.speed = absl::GetFlag(FLAGS_speed);
  config.commit_log = absl::GetFlag(FLAGS_commit_log);

  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  if (absl::Status s = fd::RunFeeder(config, g_stop); !s.ok()) {
    std::cerr << "stockfeed_feeder: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
