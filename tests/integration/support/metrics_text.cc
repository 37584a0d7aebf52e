#include "metrics_text.h"

#include <cmath>
#include <regex>
#include <sstream>
#include <vector>

namespace stockfeed::testing {

std::optional<double> MetricsText::Get(const std::string& series) const {
  const auto it = samples.find(series);
  if (it == samples.end()) return std::nullopt;
  return it->second;
}

std::optional<double> MetricsText::Quantile(const std::string& family, double q) const {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
  const std::string prefix = family + "_bucket{le=\"";
  for (const auto& [series, value] : samples) {
    if (series.rfind(prefix, 0) != 0) continue;
    const std::string le = series.substr(prefix.size(), series.size() - prefix.size() - 2);
    buckets.emplace_back(le == "+Inf" ? INFINITY : std::stod(le), value);
  }
  std::sort(buckets.begin(), buckets.end());
  if (buckets.empty() || buckets.back().second == 0) return std::nullopt;
  const double rank = q * buckets.back().second;
  double lower = 0, below = 0;
  for (const auto& [le, count] : buckets) {
    if (count >= rank) {
      if (std::isinf(le)) return lower;
      return lower + (le - lower) * (rank - below) / std::max(count - below, 1e-9);
    }
    lower = le;
    below = count;
  }
  return std::nullopt;
}

MetricsText ParseMetricsText(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})?) (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kHelp(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  MetricsText result;
  std::istringstream lines(text);
  std::string line;
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, match, kType)) {
      result.types[match[1]] = match[2];
    } else if (std::regex_match(line, kHelp)) {
    } else if (std::regex_match(line, match, kSample)) {
      const std::string value = match[match.size() - 1];
      result.samples[match[1]] = value == "+Inf" ? INFINITY : value == "-Inf" ? -INFINITY : std::stod(value);
    } else if (result.error.empty()) {
      result.error = line;
    }
  }
  if (!text.empty() && text.back() != '\n' && result.error.empty()) result.error = "no final newline";
  return result;
}

}  // namespace stockfeed::testing
