#pragma once

#include <map>
#include <optional>
#include <string>

namespace stockfeed::testing {

// A Prometheus text exposition, checked line by line and indexed by series
// (`name` or `name{label="value"}` exactly as exposed).
struct MetricsText {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram
  std::string error;                          // first malformed line, empty if none

  std::optional<double> Get(const std::string& series) const;
  // Histogram quantile as Prometheus computes it (linear within a bucket).
  std::optional<double> Quantile(const std::string& family, double q) const;
};

MetricsText ParseMetricsText(const std::string& text);

}  // namespace stockfeed::testing
