// What one load-generator run does, as plain data (flags are parsed in main).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stockfeed::bench {

struct WsUrl {
  std::string host;
  std::string port;
  std::string target;  // path and query, e.g. "/ws?protocol=v1"
};

// Accepts ws://host[:port][/path][?query]; the port defaults to 80.
std::optional<WsUrl> ParseWsUrl(std::string_view url);

struct LoadConfig {
  WsUrl url;
  int connections = 100;
  double connect_rate = 1000;  // new connections per second; <= 0: all at once
  int warmup_s = 2;            // whole seconds, not measured
  int duration_s = 10;         // whole seconds, measured
  int threads = 1;             // io threads, each with its own epoll loop
  int stall_clients = 0;       // the first K connections stop reading...
  double stall_after_s = 0;    // ...this long after measuring starts...
  double stall_for_s = 0;      // ...for this long, then read again.
  double settle_timeout_s = 30;  // wait for all connects before warming up
  std::vector<int> server_pids;  // processes whose CPU and RSS to sample
  bool print_intervals = true;
  bool offer_deflate = false;  // offer permessage-deflate on every connection
  std::string commit_log;      // the feeder's --commit_log: also measure commit → client
};

}  // namespace stockfeed::bench
