// stockfeed_tail: prints the price feed of price_service (stream, latest, symbols).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "stockfeed/common/cli.h"
#include "stockfeed/common/symbols.h"
#include "tail/tail_client.h"
#include "tail/tail_config.h"

namespace tail = stockfeed::tail;

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "price_service gRPC address HOST:PORT");
ABSL_FLAG(std::string, symbols, "", "only these symbols, comma separated (empty = all)");
ABSL_FLAG(std::string, sources, "", "only these sources, comma separated (empty = all)");
ABSL_FLAG(std::string, format, "json", "json (one object per line), csv, or table (latest per symbol, redrawn)");
ABSL_FLAG(bool, snapshot, false, "stream: start with the latest price of every symbol/source");
ABSL_FLAG(uint64_t, from_seq, 0, "stream: resume after this sequence (0 = start live)");
ABSL_FLAG(std::string, epoch, "", "stream: the epoch --from_seq belongs to (empty = the current one)");
ABSL_FLAG(std::string, state_file, "",
          "stream: keep the position in this file and resume from it on the next run");
ABSL_FLAG(absl::Duration, state_interval, absl::ZeroDuration(),
          "stream: write --state_file at most this often (0 = after every price)");
ABSL_FLAG(uint64_t, count, 0, "stream: stop after this many prices (0 = never)");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(), "stream: stop after this long (0 = never)");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10),
          "give up if the service cannot be reached at start within this long");
ABSL_FLAG(std::string, tls_ca_file, "", "TLS: the CA price_service's certificate is checked against (PEM); empty = plain");
ABSL_FLAG(std::string, tls_cert_file, "", "mutual TLS: this client's certificate (PEM)");
ABSL_FLAG(std::string, tls_key_file, "", "mutual TLS: the certificate's private key (PEM)");
ABSL_FLAG(std::string, tls_server_name, "", "the name price_service's certificate must carry (default: the host in --target)");
ABSL_FLAG(std::string, token_file, "", "a token sent on every call as 'authorization: Bearer' (needs TLS)");
ABSL_FLAG(absl::Duration, backoff_initial, absl::Milliseconds(100), "stream: first reconnect delay");
ABSL_FLAG(absl::Duration, backoff_max, absl::Seconds(5), "stream: longest reconnect delay");

int main(int argc, char** argv) {
  constexpr absl::string_view kUsage =
      "Prints stock prices from price_service.\n"
      "  stockfeed_tail [stream] [flags]   follow the feed (JSON lines by default)\n"
      "  stockfeed_tail latest [flags]     latest price per symbol/source\n"
      "  stockfeed_tail symbols [flags]    symbols and sources the service knows";
  absl::SetProgramUsageMessage(kUsage);
  if (absl::Status s = stockfeed::PrepareCommandLine(argc, argv, "stockfeed_tail", kUsage); !s.ok()) {
    std::cerr << "stockfeed_tail: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  auto fail = [](absl::string_view message) {
    std::cerr << "stockfeed_tail: " << message << " (see --help)\n";
    return 2;
  };
  if (positional.size() > 2) return fail(std::string("unexpected argument '") + positional[2] + "'");

  tail::TailConfig config;
  if (positional.size() == 2) {
    absl::StatusOr<tail::Command> command = tail::ParseCommand(positional[1]);
    if (!command.ok()) return fail(command.status().message());
    config.command = *command;
  }
  absl::StatusOr<stockfeed::HostPort> target = stockfeed::ParseHostPort(absl::GetFlag(FLAGS_target));
  if (!target.ok()) return fail(std::string("--target: ") + std::string(target.status().message()));
  absl::StatusOr<tail::OutputFormat> format = tail::ParseOutputFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return fail(format.status().message());
  config.target = *target;
  config.format = *format;
  config.symbols = stockfeed::SplitNameList(absl::GetFlag(FLAGS_symbols));
  config.sources = stockfeed::SplitNameList(absl::GetFlag(FLAGS_sources));
  config.snapshot = absl::GetFlag(FLAGS_snapshot);
  config.from_seq = absl::GetFlag(FLAGS_from_seq);
  config.epoch = absl::GetFlag(FLAGS_epoch);
  config.state_file = absl::GetFlag(FLAGS_state_file);
  config.state_interval = absl::GetFlag(FLAGS_state_interval);
  config.count = absl::GetFlag(FLAGS_count);
  config.duration = absl::GetFlag(FLAGS_duration);
  config.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  config.backoff_initial = absl::GetFlag(FLAGS_backoff_initial);
  config.backoff_max = absl::GetFlag(FLAGS_backoff_max);
  config.transport = {.ca_file = absl::GetFlag(FLAGS_tls_ca_file),
                      .cert_file = absl::GetFlag(FLAGS_tls_cert_file),
                      .key_file = absl::GetFlag(FLAGS_tls_key_file),
                      .token_file = absl::GetFlag(FLAGS_token_file),
                      .server_name = absl::GetFlag(FLAGS_tls_server_name)};
  if (absl::Status s = tail::Validate(config); !s.ok()) return fail(s.message());

  if (absl::Status s = tail::RunTail(config); !s.ok()) {
    std::cerr << "stockfeed_tail: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
